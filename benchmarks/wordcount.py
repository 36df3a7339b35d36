"""Word count on generated Zipf text: fastrdd local[N] against the ideal.

    python -m benchmarks.wordcount --mb 256 --workers 2 --runs 3

The ideal is a single-process Python loop doing the same work, divided by
the number of workers: what perfectly parallel Python would take.  Two
ideals are reported: ``loop`` (a hand-written dict loop, no function calls
per word) and ``same-functions`` (the loop calling the job's own lambdas).
Start-up (context creation, workers ready) is timed apart from the job, and
the three contenders run in turns.
Every run's counts are checked against the loop's: a wrong answer fails.
"""
import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from operator import add

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples"))
from gen_data import write_text  # noqa: E402


def split_words(line):
    return line.split()


def one(word):
    return (word, 1)


def ideal_loop(path):
    counts = {}
    get = counts.get
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            for word in line.split():
                counts[word] = get(word, 0) + 1
    return counts


def ideal_same_functions(path):
    counts = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            for word in split_words(line):
                k, v = one(word)
                counts[k] = add(counts[k], v) if k in counts else v
    return counts


def fastrdd_job(sc, path):
    lines = sc.textFile(path)
    counts = lines.flatMap(split_words).map(one).reduceByKey(add)
    return dict(counts.collect())


def interleaved_medians(fns, runs):
    """Median time and last result of each function, run in turns.

    Runs alternate (a, b, c, a, b, c...) so that a slow spell of a shared
    machine falls on every contender alike, not on whichever ran then.
    """
    times = [[] for _ in fns]
    results = [None] * len(fns)
    for _ in range(runs):
        for i, fn in enumerate(fns):
            t = time.perf_counter()
            results[i] = fn()
            times[i].append(time.perf_counter() - t)
    return [statistics.median(ts) for ts in times], results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where to put the input (default: a temp dir)")
    args = parser.parse_args(argv)
    from fastrdd import SparkContext
    from fastrdd._impl import IMPLEMENTATION

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = os.path.join(tmp, "words.txt")
        write_text(path, int(args.mb * 1e6), random.Random(7))
        t = time.perf_counter()
        sc = SparkContext(f"local[{args.workers}]", "wordcount-bench")
        sc.parallelize([0], args.workers).count()  # workers up
        startup = time.perf_counter() - t
        try:
            (loop_t, same_t, job_t), (expected, same, got) = interleaved_medians(
                [lambda: ideal_loop(path), lambda: ideal_same_functions(path),
                 lambda: fastrdd_job(sc, path)], args.runs)
        finally:
            sc.stop()
        assert same == expected
        if got != expected:
            raise SystemExit("fastrdd's word counts differ from the reference loop")
    n = args.workers
    print(f"word count, {args.mb:g} MB, local[{n}], median of {args.runs}; {IMPLEMENTATION}")
    print(f"  start-up (context + workers ready): {startup:.3f} s")
    print(f"  fastrdd job:                        {job_t:.3f} s")
    print(f"  ideal loop / {n}:                     {loop_t / n:.3f} s  -> fastrdd = {job_t / (loop_t / n):.2f}x ideal")
    print(f"  ideal same-functions / {n}:           {same_t / n:.3f} s  -> fastrdd = {job_t / (same_t / n):.2f}x ideal")


if __name__ == "__main__":
    main()

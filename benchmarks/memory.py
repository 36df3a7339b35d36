"""Behaviour with not enough RAM (issue 5): graceful slowdown, bounded memory.

    python -m benchmarks.memory [--points 300000] [--records 10000000] [--mb 128]

1. The RDD paper's curve: the seed's logistic regression on a dataset cached
   at 0/25/50/75/100% (the block store's capacity is set to that share of
   the data's size; MEMORY_ONLY partitions that do not fit are recomputed
   from the text file every iteration).  Reported: seconds per iteration
   after the first.  Target: monotone, 100% at least 5x faster than 0%.
   No engine can beat the program's own ceiling, printed beside it: a
   cached iteration still runs the gradient, an uncached one parses too.
   The same curve for the vectorised variant (numpy blocks) follows.
2. groupByKey of ``--records`` records onto 3 keys with a 100 MB worker
   budget: completes, and the workers' peak RSS stays under 2x the budget.
   2b. The same with a MEMORY_AND_DISK input of 3 million records cached in
   the same workers: peak RSS under 1.5x the budget (cached blocks leave
   memory for their disk copy when the shuffle needs room).
3. Word count of a corpus with a large vocabulary, bigger than the total
   memory budget of the workers: completes, with the right counts.

Peak RSS is sampled from /proc every 20 ms for every worker process.
"""
import argparse
import os
import random
import statistics
import tempfile
import threading
import time
from collections import Counter, namedtuple
from functools import reduce as functools_reduce

import numpy

from fastrdd import SparkConf, SparkContext, StorageLevel

D = 10
Point = namedtuple("Point", ["x", "y"])


def readPoint(line):
    values = [float(v) for v in line.split()]
    return Point(x=numpy.array(values[1:]), y=values[0])


class PeakRSS:
    """Samples the RSS of a context's worker processes until stopped."""

    def __init__(self, sc, interval=0.02):
        self.sc = sc
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self, pid):
        try:
            with open(f"/proc/{pid}/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            return 0

    def _run(self):
        while not self._stop.is_set():
            for info in list(self.sc._backend.executors().values()):
                self.peak = max(self.peak, self._rss(info.pid))
            time.sleep(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def context(app, **conf):
    c = SparkConf().setMaster("local[2]").setAppName(app)
    for key, value in conf.items():
        c.set(key, value)
    return SparkContext(conf=c)


def write_points(path, n, seed=3):
    rng = random.Random(seed)
    with open(path, "w") as out:
        for _ in range(n):
            y = rng.choice((-1, 1))
            out.write(" ".join([str(y)] + [f"{rng.gauss(0.7 * y, 1.0):.6f}" for _ in range(D)]) + "\n")


def gradient(p, w):
    """The seed's per-point gradient."""
    return (1 / (1 + numpy.exp(-p.y * w.dot(p.x)))) * p.y * p.x


def point_blocks(lines, size=4096):
    """The vectorised variant's records: (labels, features) numpy blocks of ``size`` points."""
    rows = [list(map(float, line.split())) for line in lines]
    for i in range(0, len(rows), size):
        block = numpy.array(rows[i:i + size])
        yield block[:, 0], block[:, 1:]


def blocks_gradient(block, w):
    y, x = block
    return ((1 / (1 + numpy.exp(-y * x.dot(w)))) * y) @ x


#: the two programs of the curve: how the cached RDD is made, how an iteration uses it
PROGRAMS = {
    "seed": (lambda lines: lines.map(readPoint), gradient),
    "numpy blocks": (lambda lines: lines.mapPartitions(point_blocks), blocks_gradient),
}


def logistic_regression(sc, path, program, iterations, partitions):
    """Seconds per iteration after the first (mean) and the first iteration's."""
    load, grad = PROGRAMS[program]
    data = load(sc.textFile(path, partitions)).persist(StorageLevel.MEMORY_ONLY)
    w = numpy.zeros(D)
    times = []
    for _ in range(iterations):
        t = time.perf_counter()
        g = data.map(lambda p: grad(p, w)).reduce(lambda a, b: a + b)
        w -= 1e-6 * g
        times.append(time.perf_counter() - t)
    data.unpersist()
    return statistics.mean(times[1:]), times[0]


def program_bound(path, program):
    """The curve's ceiling for a program: a plain loop's (parse + gradient) / gradient.

    Whatever the engine does, a cached iteration still runs the gradient
    over every point, and an uncached one parses too.
    """
    with open(path) as f:
        lines = f.read().splitlines()
    t = time.perf_counter()
    data = list(point_blocks(lines)) if program == "numpy blocks" else [readPoint(s) for s in lines]
    parse = time.perf_counter() - t
    grad = PROGRAMS[program][1]
    w = numpy.zeros(D)
    t = time.perf_counter()
    functools_reduce(lambda a, b: a + b, (grad(p, w) for p in data))
    compute = time.perf_counter() - t
    return (parse + compute) / compute


def curve(path, iterations, partitions, program):
    rows = []
    with context("sizes") as sc:
        from fastrdd.worker.runtime import estimate_size

        sizes = PROGRAMS[program][0](sc.textFile(path, partitions)).mapPartitions(
            lambda it: [estimate_size(list(it))]).collect()
    per_worker = sum(sizes) / 2
    for fraction in (0.0, 0.25, 0.5, 0.75, 1.0):
        capacity = int(per_worker * fraction * 1.05) if fraction < 1 else int(per_worker * 4)
        # storage is half the worker budget by default: ask for twice the capacity
        with context(f"lr-{fraction}", **{"fastrdd.worker.memory": str(max(capacity * 2, 1)),
                                          "fastrdd.storage.fraction": "0.5"}) as sc:
            per_iter, first = logistic_regression(sc, path, program, iterations, partitions)
        rows.append((fraction, per_iter, first))
        print(f"  cached {fraction:>4.0%}: {per_iter:.3f} s per iteration (first {first:.3f} s)", flush=True)
    return rows


def group_hot_keys(records, budget="100m"):
    with context("group", **{"fastrdd.worker.memory": budget}) as sc:
        with PeakRSS(sc) as rss:
            t = time.perf_counter()
            sizes = dict(sc.range(records, numSlices=8).map(lambda i: (i % 3, i))
                         .groupByKey(2).mapValues(len).collect())
            elapsed = time.perf_counter() - t
        spilled = sum((sc.statusTracker().getStageSpillMetrics(s) or {}).get("diskBytesSpilled", 0)
                      for s in range(100))
    expected = {k: len(range(k, records, 3)) for k in range(3)}
    assert sizes == expected, (sizes, expected)
    return elapsed, rss.peak, spilled


def group_beside_cache(records, cached_records, budget="100m"):
    """groupByKey with a MEMORY_AND_DISK input cached in the same workers (issue 11).

    The cached blocks and the shuffle's state share each worker's budget:
    the budget holds only if cached blocks leave memory (for their disk copy)
    when the shuffle needs room, not only the shuffle's own state.
    """
    with context("group-cache", **{"fastrdd.worker.memory": budget}) as sc:
        cached = sc.range(cached_records, numSlices=8).map(lambda i: (i % 3, i)).persist(
            StorageLevel.MEMORY_AND_DISK)
        with PeakRSS(sc) as rss:
            t = time.perf_counter()
            assert cached.count() == cached_records
            rest = sc.range(cached_records, records, numSlices=8).map(lambda i: (i % 3, i))
            sizes = dict(cached.union(rest).groupByKey(2).mapValues(len).collect())
            elapsed = time.perf_counter() - t
    expected = {k: len(range(k, records, 3)) for k in range(3)}
    assert sizes == expected, (sizes, expected)
    return elapsed, rss.peak


def write_big_vocabulary(path, mb, seed=5):
    rng = random.Random(seed)
    with open(path, "w") as out:
        written = 0
        while written < mb * 1e6:
            line = " ".join(f"w{int(rng.paretovariate(0.5))}" for _ in range(12)) + "\n"
            out.write(line)
            written += len(line)


def big_word_count(path, budget):
    with context("wc", **{"fastrdd.worker.memory": budget}) as sc:
        with PeakRSS(sc) as rss:
            t = time.perf_counter()
            counts = dict(sc.textFile(path).flatMap(str.split).map(lambda w: (w, 1))
                          .reduceByKey(lambda a, b: a + b).collect())
            elapsed = time.perf_counter() - t
    with open(path) as f:
        expected = Counter(w for line in f for w in line.split())
    assert counts == expected, "word counts differ from the reference"
    return elapsed, rss.peak, len(counts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=300_000)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--partitions", type=int, default=20)
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--mb", type=float, default=128, help="size of the word-count corpus")
    parser.add_argument("--wc-budget", default="48m")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        points = os.path.join(tmp, "points.txt")
        write_points(points, args.points)
        for program in PROGRAMS:
            print(f"1. logistic regression ({program}), {args.points} points, "
                  f"{args.partitions} partitions, local[2]:")
            rows = curve(points, args.iterations, args.partitions, program)
            times = [r[1] for r in rows]
            monotone = all(a >= b * 0.95 for a, b in zip(times, times[1:]))
            print(f"  0% / 100% = {times[0] / times[-1]:.1f}x; monotone: {monotone}; "
                  f"the program's own ceiling (plain loop, (parse + gradient) / gradient): "
                  f"{program_bound(points, program):.1f}x")
        print(f"2. groupByKey of {args.records:,} records onto 3 keys, worker budget 100 MB:")
        elapsed, peak, spilled = group_hot_keys(args.records)
        print(f"  {elapsed:.1f} s; peak worker RSS {peak / 2**20:.0f} MB "
              f"({peak / (100 * 2**20):.2f}x budget); {spilled / 2**20:.0f} MB spilled to disk")
        cached = min(3_000_000, args.records // 3)
        print(f"2b. the same beside a MEMORY_AND_DISK input of {cached:,} records cached in "
              f"the workers, budget 100 MB:")
        elapsed, peak = group_beside_cache(args.records, cached)
        print(f"  {elapsed:.1f} s; peak worker RSS {peak / 2**20:.0f} MB "
              f"({peak / (100 * 2**20):.2f}x budget; target under 1.5x)")
        corpus = os.path.join(tmp, "corpus.txt")
        write_big_vocabulary(corpus, args.mb)
        print(f"3. word count, {args.mb:g} MB corpus, worker budget {args.wc_budget} x 2:")
        elapsed, peak, words = big_word_count(corpus, args.wc_budget)
        print(f"  {elapsed:.1f} s, {words:,} distinct words, correct; peak worker RSS {peak / 2**20:.0f} MB")


if __name__ == "__main__":
    main()

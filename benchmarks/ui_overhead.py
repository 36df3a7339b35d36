"""What the web UI costs: word count with the UI off, on, and on with a page open.

    python -m benchmarks.ui_overhead --mb 64 --workers 2 --runs 5

Three contenders run in turns (one context each, made anew per run, start-up
timed apart from the job): ``off`` (``spark.ui.enabled=false``: no store,
no server, no lineage description), ``on`` (the default), and ``on+viewer``
(a thread fetching the jobs page and the stages API every 0.5 s, as an open
browser tab does).  A second workload, ``tiny tasks``, runs many one-record
tasks, where the per-event cost of the UI's listener shows most.  Targets:
nothing measurable when off, under 5% on word count when on.
"""
import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from operator import add

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "examples"))
from gen_data import write_text  # noqa: E402

MODES = ("off", "on", "on+viewer")


def _context(mode, workers):
    from fastrdd import SparkConf, SparkContext

    conf = SparkConf().setMaster(f"local[{workers}]").setAppName(f"ui-{mode}")
    conf.set("spark.ui.enabled", "false" if mode == "off" else "true").set("spark.ui.port", "0")
    return SparkContext(conf=conf)


def _viewer(sc, stop):
    """Reads pages as an open browser tab would, until ``stop`` is set."""
    url = sc.uiWebUrl
    api = f"{url}/api/v1/applications/{sc.applicationId}/stages"
    while not stop.wait(0.5):
        for page in (f"{url}/jobs/", api):
            with urllib.request.urlopen(page, timeout=10) as r:
                r.read()


def run(mode, workers, job):
    """(start-up seconds, job seconds, result) of one run in ``mode``."""
    t = time.perf_counter()
    sc = _context(mode, workers)
    sc.parallelize([0], workers).count()  # workers up
    startup = time.perf_counter() - t
    stop = threading.Event()
    viewer = None
    if mode == "on+viewer":
        viewer = threading.Thread(target=_viewer, args=(sc, stop), daemon=True)
        viewer.start()
    try:
        t = time.perf_counter()
        result = job(sc)
        elapsed = time.perf_counter() - t
    finally:
        stop.set()
        if viewer is not None:
            viewer.join(10)
        sc.stop()
    return startup, elapsed, result


def word_count(path):
    return lambda sc: dict(sc.textFile(path).flatMap(str.split).map(lambda w: (w, 1))
                           .reduceByKey(add).collect())


def tiny_tasks(n):
    return lambda sc: sum(sc.parallelize(range(n), n).map(lambda x: x + 1).collect())


def measure(name, job, workers, runs):
    times = {m: ([], []) for m in MODES}
    results = {}
    for turn in range(runs):
        # in turns, the order rotating: a slow spell of the machine, or whatever the
        # previous run left behind, hits every mode alike
        for mode in MODES[turn % 3:] + MODES[:turn % 3]:
            startup, elapsed, results[mode] = run(mode, workers, job)
            times[mode][0].append(startup)
            times[mode][1].append(elapsed)
    if len({repr(sorted(r.items())) if isinstance(r, dict) else r
            for r in results.values()}) != 1:
        raise SystemExit(f"{name}: the modes disagree on the answer")
    base = statistics.median(times["off"][1])
    lines = [f"{name}, local[{workers}], median of {runs}:",
             "  mode        start-up   job       job vs off"]
    for mode in MODES:
        startup = statistics.median(times[mode][0])
        elapsed = statistics.median(times[mode][1])
        lines.append(f"  {mode:<10}  {startup:7.3f} s  {elapsed:7.3f} s  "
                     f"{100 * (elapsed / base - 1):+6.1f}%")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=64)
    parser.add_argument("--tasks", type=int, default=2000, help="tasks of the tiny-task job")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "words.txt")
        write_text(path, int(args.mb * 1e6), random.Random(7))
        lines = measure(f"word count {args.mb:g} MB", word_count(path), args.workers, args.runs)
    lines += measure(f"{args.tasks} tiny tasks", tiny_tasks(args.tasks), args.workers, args.runs)
    print("\n".join(lines))


if __name__ == "__main__":
    main()

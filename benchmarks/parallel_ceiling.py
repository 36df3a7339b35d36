"""How close to "loop / cores" perfectly parallel Python gets on this machine.

    python -m benchmarks.parallel_ceiling --size 32MB --workloads wordcount,reducebykey

The macro benchmark's ideal is one hand-written loop divided by the number of
cores.  This runs that same loop alone, then as N copies at once (one
process each, the whole input each), and reports the slowest copy against
the lone run: the factor by which even perfectly parallel Python misses
``loop / N`` here (shared caches, memory bandwidth, a hypervisor's idea of a
core).  An engine's ratio to the ideal cannot go below it.
"""
import argparse
import os
import tempfile
import time
from multiprocessing import get_context

from . import datagen
from .workloads import WORKLOADS


def _timed(workload, data, queue=None):
    t = time.perf_counter()
    WORKLOADS[workload].ideal(data, {})
    elapsed = time.perf_counter() - t
    if queue is not None:
        queue.put(elapsed)
    return elapsed


def ceiling(workload, data, cores, runs):
    """(lone seconds, slowest of ``cores`` copies at once), the best of ``runs`` each."""
    alone = min(_timed(workload, data) for _ in range(runs))
    ctx = get_context("fork")
    together = []
    for _ in range(runs):
        queue = ctx.Queue()
        procs = [ctx.Process(target=_timed, args=(workload, data, queue)) for _ in range(cores)]
        for p in procs:
            p.start()
        times = [queue.get() for _ in procs]
        for p in procs:
            p.join()
        together.append(max(times))
    return alone, min(together)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="32MB")
    parser.add_argument("--workloads", default="wordcount,reducebykey")
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)
    directory = args.data_dir or os.path.join(tempfile.gettempdir(), "fastrdd-bench-data",
                                              args.size.replace(" ", ""))
    data = datagen.ensure(directory, datagen.parse_size(args.size))
    print(f"{args.cores} copies of the ideal loop at once against one alone, {args.size}:")
    for name in args.workloads.split(","):
        alone, together = ceiling(name, data, args.cores, args.runs)
        print(f"  {name:<12} alone {alone:.3f} s, {args.cores} at once {together:.3f} s: "
              f"perfectly parallel Python is {together / alone:.2f}x the ideal here")


if __name__ == "__main__":
    main()

"""fastrdd's cost against the size of its input: time and ratio to the ideal, size by size.

    python -m benchmarks.scaling --sizes 64MB,256MB,512MB,1GB \\
        --workloads reducebykey,groupbykey,sortbykey,join,pagerank,pagerank_part \\
        [--runs N] [--output FILE]

Why: the ideal (a hand-written loop, see ``workloads.py``) does work in
proportion to its input, so fastrdd's ratio to it must not grow with the
input size.  A ratio that grows points at a cost that is not linear (a sort
where a hash would do, a spill read back twice, memory that swaps), which a
benchmark at one size cannot show.

For each size the inputs are generated, or reused, as ``compare.py`` does
(``<data root>/<size>``), and ``compare.run_all`` runs every workload on the
ideal and fastrdd, the runs interleaved engine by engine.  The markdown table
(one row per workload, one column per size) goes to stdout, and to
``--output`` when given; progress goes to stderr.
"""
import argparse
import datetime
import shutil
import sys
import tempfile

from . import compare, datagen
from .workloads import WORKLOADS

__all__ = ["main", "growth_sentence"]

DEFAULT_WORKLOADS = ("reducebykey", "groupbykey", "sortbykey", "join", "pagerank",
                     "pagerank_part")
ENGINES = "ideal,fastrdd"
#: A ratio counts as growing when, at the largest size, it is more than this factor
#: above the ratio at the smallest: below that, it is within the machine's noise.
GROWTH = 1.25


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.scaling", description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="64MB,256MB,512MB,1GB",
                        help="comma-separated input sizes, as compare's --size (default "
                        "64MB,256MB,512MB,1GB)")
    parser.add_argument("--workloads", default=",".join(DEFAULT_WORKLOADS),
                        help=f"comma-separated, from {','.join(WORKLOADS)}")
    parser.add_argument("--runs", type=int, default=3,
                        help="runs per engine, workload and size (the median is reported)")
    parser.add_argument("--output", default=None, help="also write the table here")
    parser.add_argument("--data-root", default=compare.DATA_ROOT,
                        help="inputs live in <data root>/<size>, generated once and reused "
                        f"(default {compare.DATA_ROOT}, as compare.py's)")
    args = parser.parse_args(argv)
    args.workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = [w for w in args.workloads if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workloads {unknown}: choose from {', '.join(WORKLOADS)}")
    try:
        sizes = {s.strip().replace(" ", ""): datagen.parse_size(s)
                 for s in args.sizes.split(",") if s.strip()}
    except ValueError as e:
        parser.error(str(e))
    args.sizes = sorted(sizes, key=sizes.get)  # columns from the smallest up
    return args


def measure(size, args, log):
    """compare's ``(args, results)`` for the ideal and fastrdd at one input size."""
    size_args = compare.parse_args(["--size", size, "--runs", str(args.runs),
                                    "--engines", ENGINES, "--workloads", ",".join(args.workloads)])
    log(f"== {size}")
    data = datagen.ensure(compare.data_dir_for(size, args.data_root), size_args.size_bytes,
                          log=log)
    workdir = tempfile.mkdtemp(prefix=f"fastrdd-scaling-{size}-")
    results, _, _ = compare.run_all(size_args, data, workdir, log)
    if all(r.get("ok") for r in results.values()):
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        log(f"logs of the failures at {size} kept in {workdir}")
    return size_args, results


def fastrdd_ratio(results, workload, cores):
    """fastrdd's median job time over the ideal's share per core, or None."""
    r = results.get((workload, "fastrdd"))
    ideal = compare.ideal_time(results, workload, cores)
    if not (r and r.get("ok") and ideal):
        return None
    return compare.median(compare.job_times(r)) / ideal


def growth_sentence(ratios, sizes):
    """Whether fastrdd's ratio to the ideal grows from the smallest size to the largest.

    ``ratios`` maps a workload to its ratio at each of ``sizes`` (None: not measured).

    >>> growth_sentence({"join": [1.0, 2.0], "sortbykey": [2.0, 2.1]}, ["1MB", "2MB"])
    'The ratio grows with the input size for join (1.0x at 1MB, 2.0x at 2MB); not for sortbykey.'
    >>> growth_sentence({"join": [1.5, 1.4]}, ["1MB", "2MB"])
    'The ratio does not grow with the input size (within 25% from 1MB to 2MB, or lower).'
    """
    if len(sizes) < 2:
        return "One size only: whether the ratio grows with the input size is not measured."
    growing, steady, unmeasured = [], [], []
    for workload, row in ratios.items():
        first, last = row[0], row[-1]
        if first is None or last is None:
            unmeasured.append(workload)
        elif last > first * GROWTH:
            growing.append(f"{workload} ({first:.1f}x at {sizes[0]}, {last:.1f}x at {sizes[-1]})")
        else:
            steady.append(workload)
    if growing:
        text = "The ratio grows with the input size for " + ", ".join(growing)
        text += f"; not for {', '.join(steady)}." if steady else "."
    else:
        text = (f"The ratio does not grow with the input size (within {GROWTH - 1:.0%} "
                f"from {sizes[0]} to {sizes[-1]}, or lower).")
    if unmeasured:
        text += (f"  Not judged (a run failed at {sizes[0]} or {sizes[-1]}): "
                 f"{', '.join(unmeasured)}.")
    return text


def report(args, measured, argv, started):
    """The markdown: the table, the records at each size, the growth sentence, failures."""
    cores = next(iter(measured.values()))[0].cores
    lines = [
        "# fastrdd against the ideal, by input size",
        "",
        f"`{' '.join(['python -m benchmarks.scaling'] + argv)}`, {started:%Y-%m-%d %H:%M}, "
        f"fastrdd at {compare.git_revision()}, {cores} cores.",
        "",
        f"Each cell: fastrdd's job time, median of up to {args.runs} run(s) interleaved engine "
        f"by engine with the ideal's, and in brackets its ratio to the ideal (the hand-written "
        f"loop divided by {cores}, as in RESULTS.md).",
        "",
    ]
    rows = [[w] + [compare.time_cell(results, w, "fastrdd", cores)
                   for _, results in measured.values()] for w in args.workloads]
    lines += compare.table(["workload"] + args.sizes, rows)
    lines += ["", "Records at each size (`datagen.plan`):", ""]
    for size, (size_args, _) in measured.items():
        p = datagen.plan(size_args.size_bytes)
        lines.append(f"- {size}: {p['pairs']:,} pairs over {p['keys']:,} keys; "
                     f"{p['edges']:,} edges over {p['pages']:,} pages")
    ratios = {w: [fastrdd_ratio(results, w, cores) for _, results in measured.values()]
              for w in args.workloads}
    lines += ["", growth_sentence(ratios, args.sizes)]
    speedups = [(size, compare.partitioning_speedup(results, "fastrdd"))
                for size, (_, results) in measured.items()]
    if any(found for _, found in speedups):
        lines += ["", "PageRank's speed-up from `partitionBy` + cache (the two forms run in the "
                  "same rounds): the ratio of the medians, then in brackets the median of each "
                  "round's own ratio: " + ", ".join(
                      f"{found[2]:.2f}x ({found[3]:.2f}x) at {size}" if found
                      else f"not measured at {size}" for size, found in speedups) + "."]
    failures = [f"- {w} at {size} on {e}: {r.get('error')}"
                for size, (_, results) in measured.items()
                for (w, e), r in results.items() if not r.get("ok")]
    if failures:
        lines += ["", "Failures:", ""] + failures
    return "\n".join(lines) + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    started = datetime.datetime.now()

    def log(line):
        print(line, file=sys.stderr, flush=True)

    measured = {size: measure(size, args, log) for size in args.sizes}
    text = report(args, measured, argv, started)
    sys.stdout.write(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)
        log(f"wrote {args.output}")
    failed = any(not r.get("ok") for _, results in measured.values() for r in results.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

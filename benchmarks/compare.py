"""The macro benchmark: every workload on every installed engine, side by side.

    python -m benchmarks.compare --size 256MB              # everything installed
    python -m benchmarks.compare --size 64MB --runs 3 --python /opt/benchenv/bin/python
    python -m benchmarks.compare --quick                   # smoke test: < 60 s
    python -m benchmarks.compare --engines ideal,fastrdd --workloads wordcount,join

What it does:

1. generates the inputs (``datagen.py``: deterministic, reused when present
   in ``--data-dir``);
2. for each workload (``workloads.py``) runs ``--runs`` rounds interleaved
   engine by engine (``interleave.py``): round k runs every engine
   (``engines.py``) once, the ideal first, so that the machine's drifting
   speed slows every engine of a round alike instead of landing in their
   ratio (two forms of one job whose ratio is reported, PageRank with and
   without a partitioner, share their rounds).  Each run is one child process: it starts the engine (timed apart:
   *start-up* is spawn to first result of a trivial job), then runs the
   workload once; a thread here polls /proc for the summed RSS of the child's
   process tree plus the bytes of its fastrdd files on tmpfs (shuffle outputs and
   spills in /dev/shm are memory that no RSS shows);
3. compares every round's answer with the ideal's (a wrong answer fails the
   whole command, it is never reported as a time);
4. writes ``--output`` (default ``benchmarks/RESULTS.md``): medians, ratios to
   the ideal, start-up, peak memory, per-phase details, machine and versions.

The *ideal* is the hand-written single-process loop divided by the number of
cores: what perfectly parallel Python would take.  A ratio of 1.0x means an
engine matches it; PySpark and Dask are typically several times slower.

Optional engines
----------------
PySpark, Dask and Hadoop are not dependencies of fastrdd or of its CI; an
engine that is not importable is skipped with a line saying why.  To run them,
make a separate environment outside the repository (not with
``--system-site-packages``, so that nothing leaks in either direction)::

    python -m venv /opt/benchenv
    /opt/benchenv/bin/pip install pyspark "dask[bag]" numpy msgpack cloudpickle pyzmq
    #   (a downloaded pyspark sdist or wheel works too: pip install ./pyspark-4.*.tar.gz)
    python -m benchmarks.compare --python /opt/benchenv/bin/python --size 64MB

Every engine child, fastrdd included, then runs under that interpreter with
``PYTHONPATH`` set to this checkout (fastrdd is imported from here, built in
place).  PySpark and Hadoop need Java 17: ``JAVA_HOME`` is taken from the
environment, else from ``java`` on ``PATH``.  Hadoop MapReduce needs no
installation: the LocalJobRunner and its dependencies are the client jars
inside the pyspark package, and ``javac`` compiles ``benchmarks/hadoop/*.java``
into a temporary directory at each run (see ``hadoop_runner.py``).
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from . import datagen, hadoop_runner
from .engines import ENGINES, child_env, probe, run_child
from .interleave import run_rounds
from .workloads import WORKLOADS

__all__ = ["main", "write_report", "run_all", "parse_args", "data_dir_for", "time_cell",
           "workload_groups", "partitioning_speedup"]

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_OUTPUT = os.path.join(HERE, "RESULTS.md")
#: Inputs are generated once per size under here and reused by every later run.
DATA_ROOT = os.path.join(tempfile.gettempdir(), "fastrdd-bench-data")
QUICK = {"size": "1MB", "runs": 1, "engines": "ideal,fastrdd"}
#: Engines in column order; the ideal runs first, as the reference answer.
ORDER = ("ideal", "fastrdd", "fastrdd_pure", "fastrdd_cluster", "pyspark", "dask", "hadoop")


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.compare", description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="256MB", help="text and log size; the other inputs "
                        "scale with it (default 256MB, the issue's reference)")
    parser.add_argument("--runs", type=int, default=3, help="runs per engine and workload, "
                        "interleaved engine by engine (the median is reported; default 3)")
    parser.add_argument("--cores", type=int, default=os.cpu_count(),
                        help="N in local[N], Dask's processes and Hadoop's task slots")
    parser.add_argument("--partitions", type=int, default=None,
                        help="input partitions asked of every engine (default 2 x cores)")
    parser.add_argument("--engines", default=",".join(ORDER),
                        help=f"comma-separated, from {','.join(ORDER)} (ideal is always run)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS),
                        help=f"comma-separated, from {','.join(WORKLOADS)}")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter for the engine processes (default: this one)")
    parser.add_argument("--data-dir", default=None,
                        help="where inputs are generated and reused "
                        f"(default: {os.path.join(DATA_ROOT, '<size>')})")
    parser.add_argument("--output", default=None,
                        help=f"the report (default {os.path.relpath(DEFAULT_OUTPUT, REPO)}; "
                        "with --quick, none unless given)")
    parser.add_argument("--json", default=None, help="also write every raw result here")
    parser.add_argument("--timeout", type=float, default=3600,
                        help="seconds before one engine's child is killed (default 3600)")
    parser.add_argument("--budget", type=float, default=600,
                        help="an engine starts no further round of a workload after this many "
                        "seconds of runs (at least one run; default 600)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: --size 1MB --runs 1 --engines ideal,fastrdd")
    args = parser.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            if getattr(args, key) == parser.get_default(key):
                setattr(args, key, value)
    elif args.output is None:
        args.output = DEFAULT_OUTPUT
    args.size_bytes = datagen.parse_size(args.size)
    args.partitions = args.partitions or 2 * args.cores
    for option, known in (("engines", ORDER), ("workloads", tuple(WORKLOADS))):
        names = [n.strip() for n in getattr(args, option).split(",") if n.strip()]
        unknown = [n for n in names if n not in known]
        if unknown:
            parser.error(f"unknown {option} {unknown}: choose from {', '.join(known)}")
        setattr(args, option, names)
    args.engines = [e for e in ORDER if e in args.engines or e == "ideal"]
    return args


def data_dir_for(size, root=DATA_ROOT):
    """Where the inputs of ``size`` (as written, e.g. ``256MB``) are kept and reused."""
    return os.path.join(root, size.replace(" ", ""))


# -- machine facts --------------------------------------------------------------
def machine_info():
    info = {"cpu": "?", "cores": os.cpu_count(), "memory_gb": None,
            "os": platform.platform(), "python": platform.python_version()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            info["memory_gb"] = round(int(f.readline().split()[1]) / 2**20, 1)
    except OSError:
        pass
    return info


def git_revision():
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no",
                                "fastrdd"], cwd=REPO, capture_output=True, text=True).stdout
        return rev + (" + uncommitted changes in fastrdd/" if dirty.strip() else "")
    except OSError:
        return "?"


# -- running ------------------------------------------------------------------------
def median(values):
    return statistics.median(values) if values else None


def job_times(result):
    return [r["job"] for r in result.get("runs", [])]


def mark(result, name):
    """Every timing of phase ``name`` over all runs of one result."""
    return [t for r in result.get("runs", []) for t in r["marks"].get(name, [])]


def child_command(engine, workload, args, data_json, out, hadoop):
    """One round's child: a single run (the rounds and the --budget are kept here)."""
    common = ["--workload", workload, "--data", data_json, "--runs", "1",
              "--cores", str(args.cores), "--out", out]
    if engine.name == "hadoop":
        return [args.python, "-m", engine.module, "--classpath", hadoop["classpath"]] + common
    return [args.python, "-m", engine.module, "--engine", engine.name] + common


def describe(result, ideal_per_core, cores):
    if not result.get("ok"):
        return f"FAILED: {result.get('error')}"
    t = median(job_times(result))
    text = f"{t:8.2f} s"
    if result["engine"] == "ideal":
        text += f"  (ideal = {t / cores:.2f} s)"
    elif ideal_per_core:
        text += f"  ({t / ideal_per_core:5.1f}x ideal)"
    text += (f"  start-up {result.get('startup', 0):5.2f} s"
             f"  peak {result['peak_memory'] / 2**20:6.0f} MB")
    if result.get("peak_shm"):
        text += f" ({result['peak_shm'] / 2**20:.0f} MB on tmpfs)"
    text += f"  runs {len(job_times(result))}"
    return text


def prepare_engines(args, workdir, log):
    """Probe every asked engine: ``(skipped, versions, hadoop)``, ``skipped`` saying why
    per engine, ``hadoop`` the compiled classpath (or None)."""
    skipped, versions, hadoop = {}, {}, None
    for name in args.engines:
        engine = ENGINES[name]
        ok, info = probe(engine, args.python)
        if ok and name == "hadoop":
            ok, info = hadoop_runner.prepare(args.python, workdir)
            if ok:
                hadoop, info = info, info["versions"]
        if not ok:
            skipped[name] = info
            log(f"skip {engine.label}: {info}")
        elif isinstance(info, dict):
            versions[name] = dict(info)
        else:
            versions[name] = {engine.needs.split(".")[0]: info}
    return skipped, versions, hadoop


#: Workloads compared with each other in the report, run in the same rounds when both
#: are asked for (``interleave.run_rounds``): their ratio is then side by side too.
PAIRED = (("pagerank", "pagerank_part"),)


def workload_groups(workloads):
    """``workloads`` in order, each paired one grouped with its partner when both are asked.

    >>> workload_groups(["join", "pagerank_part", "wordcount", "pagerank"])
    [['join'], ['pagerank_part', 'pagerank'], ['wordcount']]
    >>> workload_groups(["pagerank"])
    [['pagerank']]
    """
    groups, placed = [], set()
    for w in workloads:
        if w in placed:
            continue
        group = [w] + [partner for pair in PAIRED if w in pair for partner in pair
                       if partner != w and partner in workloads]
        placed.update(group)
        groups.append(group)
    return groups


def run_group(args, plan, data_json, hadoop, workdir, log):
    """``{(workload, engine): result}`` for the workloads of ``plan`` (each with its
    engines), their runs interleaved engine by engine in shared rounds."""

    def run_one(wname, name, k):
        engine = ENGINES[name]
        stem = os.path.join(workdir, f"{wname}.{name}.{k + 1}")
        argv = child_command(engine, wname, args, data_json, stem + ".json", hadoop)
        result = run_child(argv, child_env(engine, args.python), stem + ".log", stem + ".json",
                           args.timeout, workdir)
        result["log"] = stem + ".log"
        return result

    return run_rounds(plan, args.runs, args.budget, run_one, log)


def run_all(args, data, workdir, log):
    """Run every (workload, engine); returns ``(results, skipped, versions)``."""
    skipped, versions, hadoop = prepare_engines(args, workdir, log)
    data_json = os.path.join(workdir, "data.json")
    with open(data_json, "w") as f:
        json.dump(dict(data, partitions=args.partitions), f)
    results = {}
    for group in workload_groups(args.workloads):
        plan = {w: [n for n in args.engines
                    if n not in skipped and ENGINES[n].supports(WORKLOADS[w])] for w in group}
        log("-- " + ", ".join(f"{w}: {WORKLOADS[w].title}" for w in group)
            + (" (in the same rounds)" if len(group) > 1 else ""))
        results.update(run_group(args, plan, data_json, hadoop, workdir, log))
        for wname, names in plan.items():
            ideal_per_core = ideal_time(results, wname, args.cores)
            if len(group) > 1:
                log(f"   {wname}:")
            for name in names:
                result = results[(wname, name)]
                versions.setdefault(name, {}).update(result.get("versions") or {})
                log(f"   {ENGINES[name].label:<22} "
                    f"{describe(result, ideal_per_core, args.cores)}"
                    + ("" if result.get("verdict", "ok") == "ok"
                       else f"  [{result['verdict']}]"))
                if not result.get("ok") and result.get("log_tail"):
                    log("      " + result["log_tail"].strip().replace("\n", "\n      ")[-1500:])
    return results, skipped, versions


# -- the report -----------------------------------------------------------------------
def fmt_s(t):
    """
    >>> fmt_s(0.00042), fmt_s(0.0421), fmt_s(12.345), fmt_s(None)
    ('0.42 ms', '0.042 s', '12.35 s', '-')
    """
    if t is None:
        return "-"
    if t < 0.01:
        return f"{t * 1000:.2f} ms"
    return f"{t:.3f} s" if t < 1 else f"{t:.2f} s"


def ratio(t, ideal):
    return f" ({t / ideal:.1f}x)" if t is not None and ideal else ""


def ideal_time(results, workload, cores):
    """The ideal's median job time on ``workload`` divided by ``cores``, or None."""
    r = results.get((workload, "ideal"))
    t = median(job_times(r)) if r and r.get("ok") else None
    return t / cores if t else None


def time_cell(results, workload, engine, cores):
    """A table cell: the engine's median job time and its ratio to the ideal."""
    r = results.get((workload, engine))
    if r is None:
        return "n/a"
    if not r.get("ok"):
        return "**WRONG**" if r.get("verdict") == "WRONG" else "failed"
    t = median(job_times(r))
    return fmt_s(t) + ratio(t, ideal_time(results, workload, cores))


def table(header, rows):
    """Markdown lines of a table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def write_report(path, args, results, skipped, versions, machine, started, load_before):
    engines = [e for e in args.engines if e not in skipped]
    labels = [ENGINES[e].label for e in engines]
    cores = args.cores

    plan = datagen.plan(args.size_bytes)
    out = [
        "# fastrdd macro benchmark: results",
        "",
        f"`{' '.join(['python -m benchmarks.compare'] + args.argv)}`, "
        f"{started:%Y-%m-%d %H:%M}, fastrdd at {git_revision()}.",
        "",
        f"Job time, median of up to {args.runs} run(s) (start-up excluded), the runs "
        f"interleaved engine by engine (round k runs every engine once, the ideal first, so "
        f"the machine's drifting speed slows all engines of a round alike); in brackets the "
        f"ratio to the **ideal** = one plain Python process running a hand-written loop, "
        f"divided by {cores} (the cores): what perfectly parallel Python would take.  Every "
        f"round's answer was checked against the ideal's (exact for counts, 1e-6 relative for "
        f"floats).",
        "",
    ]
    ideal_col = f"ideal (loop / {cores})"
    rows = []
    for w in args.workloads:
        rows.append([WORKLOADS[w].title, fmt_s(ideal_time(results, w, cores))]
                    + [time_cell(results, w, e, cores) for e in engines if e != "ideal"])
    out += table(["workload", ideal_col] + [lb for e, lb in zip(engines, labels) if e != "ideal"],
                 rows)

    out += ["", "## Start-up (spawn to first result), peak memory (RSS of the process tree "
            "+ tmpfs files)", ""]
    rows = []
    for e, lb in zip(engines, labels):
        starts = [results[(w, e)]["startup"] for w in args.workloads
                  if (w, e) in results and results[(w, e)].get("startup") is not None]
        rows.append([lb, fmt_s(median(starts))])
    out += table(["engine", "start-up, median"], rows)
    out += [""]
    rows = []
    for w in args.workloads:
        row = [WORKLOADS[w].title]
        for e in engines:
            r = results.get((w, e))
            row.append(f"{r['peak_memory'] / 2**20:.0f}" if r and "peak_memory" in r else "n/a")
        rows.append(row)
    out += table(["peak MB"] + labels, rows)
    out += ["", "Peak memory is the RSS summed over the engine's process and all its "
            "descendants (JVM, workers, pools) plus the bytes of the engine's files on tmpfs "
            "(fastrdd's shuffle outputs and spills in /dev/shm, which are memory), measured at "
            "the same instant, polled every 50 ms; pages shared between processes count once "
            "per process.  The result JSON keeps the two apart (`peak_rss`, `peak_shm`).  "
            "The JVMs run with their default heap limit (a quarter of the RAM), which they "
            "grow into before collecting."]

    out += details(args, results, engines, labels, cores)

    runs_done = [(w, e, len(job_times(r))) for (w, e), r in results.items()
                 if r.get("ok") and len(job_times(r)) < args.runs]
    problems = [(w, e, r) for (w, e), r in results.items() if not r.get("ok")]
    out += ["", "## Answers, failures, skipped engines", ""]
    if problems:
        for w, e, r in problems:
            out.append(f"- **{WORKLOADS[w].title} on {ENGINES[e].label}**: {r.get('error')}")
    else:
        out.append("- Every engine gave the ideal's answer on every workload it ran.")
    for e, why in skipped.items():
        out.append(f"- {ENGINES[e].label} not run: {why}")
    for w, e, n in runs_done:
        out.append(f"- {WORKLOADS[w].title} on {ENGINES[e].label}: {n} run(s), the "
                   f"--budget of {args.budget:.0f} s was spent.")
    out.append("- n/a: the engine has no form of that workload (Dask bag has no partitioner "
               "for PageRank; Hadoop runs word count and logistic regression only).")

    info = machine
    load_after = os.getloadavg()
    out += ["", "## Machine, inputs, versions", "",
            f"- {info['cpu']}, {info['cores']} cores, {info['memory_gb']} GiB; {info['os']}",
            f"- load average (1/5/15 min) before {load_before[0]:.1f}/{load_before[1]:.1f}/"
            f"{load_before[2]:.1f}, after {load_after[0]:.1f}/{load_after[1]:.1f}/"
            f"{load_after[2]:.1f} (the machine may be shared: treat ratios as approximate)",
            f"- inputs for --size {args.size}: text and log {args.size_bytes / 1e6:.0f} MB each, "
            f"{plan['points']:,} points (10 dims), {plan['pairs']:,} int pairs over "
            f"{plan['keys']:,} keys, a {plan['keys']:,}-row key table, about {plan['edges']:,} "
            f"edges over {plan['pages']:,} pages; {args.partitions} input partitions asked",
            f"- engine interpreter: `{args.python}`; versions:"]
    for e in engines:
        found = versions.get(e) or {}
        out.append(f"  - {ENGINES[e].label}: " + ", ".join(f"{k} {v}" for k, v in found.items()))
    out += ["", "## Elsewhere in benchmarks/", "",
            "- `RESULTS-scaling.md`: fastrdd's cost against the work, the shuffle workloads at "
            "four input sizes from 64MB to 1GB (`python -m benchmarks.scaling`).",
            "- `RESULTS-shuffle.md`: the shuffle workloads at 256MB in local and cluster mode; "
            "`PROFILE-shuffle.md`: where their time goes."]
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def partitioning_speedup(results, engine):
    """PageRank's speed-up from ``partitionBy`` + cache on ``engine``, or None:
    ``(median time without, median time with, their ratio, median of the rounds' own
    ratios, those ratios)``; the two forms ran in the same rounds (``PAIRED``)."""
    a, b = results.get(("pagerank", engine)), results.get(("pagerank_part", engine))
    if not (a and b and a.get("ok") and b.get("ok")):
        return None
    ta, tb = median(job_times(a)), median(job_times(b))
    rounds = [x / y for x, y in zip(job_times(a), job_times(b))]
    return ta, tb, ta / tb, median(rounds), rounds


def details(args, results, engines, labels, cores):
    """The per-phase tables: log mining queries, iterations, PageRank partitioning."""
    out = []

    def ok(w, e):
        r = results.get((w, e))
        return r if r and r.get("ok") else None

    def vs(t, ref):
        if t is None or not ref:
            return "-"
        return f"{t / ref:.1f}x" if t / ref >= 0.1 else f"{t / ref:.2g}x"

    ideal_label = f"ideal (loop / {cores})"
    if "logmining" in args.workloads:
        out += ["", "## Log mining: cached against uncached query", "",
                "Medians over the five cached queries (and the uncached one) of every run.", "",
                "| engine | load + cache | cached query | uncached query | uncached / cached "
                "| cached query / ideal's |", "|---|---|---|---|---|---|"]
        ideal = ok("logmining", "ideal")
        ideal_cached = median(mark(ideal, "cached_query")) / cores if ideal else None
        for e, lb in zip(engines, labels):
            r = ok("logmining", e)
            if not r:
                continue
            c, u = median(mark(r, "cached_query")), median(mark(r, "uncached_query"))
            load = median(mark(r, "load"))
            if e == "ideal":
                lb, c, u, load = ideal_label, c / cores, u / cores, load / cores
            out.append(f"| {lb} | {fmt_s(load)} | {fmt_s(c)} | {fmt_s(u)} | {vs(u, c)} | "
                       f"{vs(c, ideal_cached)} |")

    def iterations(r):
        its = [run["marks"].get("iteration", []) for run in r["runs"]]
        return median([i[0] for i in its if i]), median([t for i in its for t in i[1:]])

    hadoop = ok("logreg", "hadoop")
    hadoop_later = iterations(hadoop)[1] if hadoop else None
    for w in ("logreg", "logreg_vec"):
        if w not in args.workloads:
            continue
        ideal = ok(w, "ideal")
        ideal_later = iterations(ideal)[1] / cores if ideal else None
        out += ["", f"## {WORKLOADS[w].title}: time per iteration", "",
                "The first iteration reads and parses the input (and caches it on the engines); "
                "later ones reuse the cache.  Hadoop reads the input from the file system in "
                "every iteration (one MapReduce job each; the file sits in the OS page cache, "
                "as for every engine).  The last column compares with Hadoop's seed-program "
                "iteration.", "",
                "| engine | first iteration | later iterations (median) | first / later "
                "| later / ideal's | Hadoop's iteration / this |", "|---|---|---|---|---|---|"]
        for e, lb in zip(engines, labels):
            r = ok(w, e)
            if not r:
                continue
            first, later = iterations(r)
            if e == "ideal":
                lb = ideal_label
                first, later = first / cores, later / cores
            out.append(f"| {lb} | {fmt_s(first)} | {fmt_s(later)} | {vs(first, later)} | "
                       f"{vs(later, ideal_later)} | {vs(hadoop_later, later)} |")
    if "pagerank" in args.workloads and "pagerank_part" in args.workloads:
        out += ["", "## PageRank: the links hash-partitioned and cached, or not", "",
                "Both forms cache the links; with `partitionBy` the joins of later iterations "
                "find the links already partitioned like the ranks (the RDD paper's "
                "controlled-partitioning result).  The two forms ran in the same rounds; the "
                "last column is the median of each round's own speed-up, the two forms' "
                "times divided within a round.", "",
                "| engine | no partitioner | partitionBy + cache | speed-up (medians) "
                "| speed-up, median of the rounds' |", "|---|---|---|---|---|"]
        for e, lb in zip(engines, labels):
            found = partitioning_speedup(results, e) if e != "ideal" else None
            if found:
                ta, tb, of_medians, paired, rounds = found
                spread = ", ".join(f"{r:.2f}" for r in rounds)
                out.append(f"| {lb} | {fmt_s(ta)} | {fmt_s(tb)} | {of_medians:.2f}x "
                           f"| {paired:.2f}x ({spread}) |")
    return out


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    args.argv = argv
    started = datetime.datetime.now()
    load_before = os.getloadavg()
    machine = machine_info()
    t = time.perf_counter()

    def log(line):
        print(line, flush=True)

    log(f"fastrdd macro benchmark: --size {args.size}, {args.runs} round(s) interleaved engine "
        f"by engine, {args.cores} cores, "
        f"{args.partitions} partitions; engines run by {args.python}")
    workdir = tempfile.mkdtemp(prefix="fastrdd-bench-")
    data_dir = args.data_dir or (os.path.join(workdir, "data") if args.quick
                                 else data_dir_for(args.size))
    data = datagen.ensure(data_dir, args.size_bytes, log=log)
    results, skipped, versions = run_all(args, data, workdir, log)
    failed = [k for k, r in results.items() if not r.get("ok")]
    if args.output:
        write_report(args.output, args, results, skipped, versions, machine, started,
                     load_before)
        log(f"wrote {args.output}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({f"{w}/{e}": r for (w, e), r in results.items()}, f, indent=1)
    if failed:
        log(f"{len(failed)} failure(s): {', '.join('/'.join(k) for k in failed)}; "
            f"logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    log(f"done in {time.perf_counter() - t:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

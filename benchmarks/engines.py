"""Engine runners: one subprocess per (engine, workload), and its memory sampler.

    parent (compare.py)                       child (this module's main, or hadoop_runner)
    -------------------                       --------------------------------------------
    spawn child, BENCH_T0 = now   ------->    import engine, start it, first tiny result
    TreeSampler polls /proc                   startup = now - BENCH_T0
      every 50 ms: sum of RSS                 run the workload `runs` times, timing each
      over the child's process tree,          write {startup, runs, summary, versions}
      plus its fastrdd files on tmpfs         to the --out JSON file, stop the engine
    wait (timeout: kill the group)  <-------
    result + peak memory (RSS + tmpfs)

Engines (``ENGINES``): ``ideal`` (the hand-written loop, one process),
``fastrdd`` (``local[N]``), ``fastrdd_pure`` (the same with the pure-Python
twins: ``fastrdd.purepython=1`` for the workers, ``FASTRDD_PUREPYTHON=1`` for
the driver), ``fastrdd_cluster`` (N ``fastrdd-worker`` processes on loopback:
what the ZeroMQ transport costs beside ``fastrdd``), ``pyspark`` (``local[N]``), ``dask`` (bag, processes scheduler
with one pool of N processes kept for the whole run) and ``hadoop``
(LocalJobRunner, see ``hadoop_runner.py``).  Each child runs in its own
process group, so a timeout or a crash ends every process it started.

Every child gets ``OMP_NUM_THREADS=1`` (and the OpenBLAS/MKL twins): numpy's
BLAS must not add threads of its own, or the single-process ideal would use
more than one core and N engine workers would oversubscribe the machine.
"""
import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

__all__ = ["ENGINES", "Engine", "TreeSampler", "run_child", "child_env", "probe",
           "is_on_tmpfs", "tmpfs_scratch_roots", "scratch_bytes"]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: Seconds between two samples of the process tree's memory: short enough to
#: catch a shuffle's peak, long enough that sampling costs well under 1% CPU.
SAMPLE_INTERVAL = 0.05
PAGE = os.sysconf("SC_PAGE_SIZE")
#: Seconds between two walks of the tmpfs directories once a walk has taken more than a
#: tenth of SAMPLE_INTERVAL (thousands of shuffle files): the sampler must stay cheap.
SLOW_WALK_INTERVAL = 0.2

#: fastrdd's scratch directories (shuffle outputs, spills), named after the process that
#: made them: a driver's application directory ``fastrdd-local-<start ms>-<pid>-...``
#: (``SparkContext._start``; its spill directories in further local dirs add
#: ``-worker-<n>``) and a cluster worker's ``fastrdd-worker-<pid>-...``
#: (``fastrdd.cluster.worker``).  The pid tells whose tree a directory belongs to.
FASTRDD_SCRATCH_DIR = re.compile(r"^fastrdd-(?:local-\d+|worker)-(\d+)-")


class Engine:
    """How to start one engine's child process, and what it needs installed."""

    def __init__(self, name, label, module="benchmarks.engines", needs=None, hadoop=False):
        #: key used on the command line and in results
        self.name = name
        #: column title in RESULTS.md
        self.label = label
        #: the module run as ``python -m`` in the child
        self.module = module
        #: a module that must import in the engine's interpreter, or None
        self.needs = needs
        #: runs only the workloads that have a Hadoop MapReduce form
        self.hadoop = hadoop

    def supports(self, workload):
        if self.name == "dask":
            return workload.dask is not None
        if self.hadoop:
            return workload.hadoop
        return True


ENGINES = {e.name: e for e in [
    Engine("ideal", "ideal (1 process)"),
    Engine("fastrdd", "fastrdd", needs="fastrdd"),
    Engine("fastrdd_pure", "fastrdd (pure Python)", needs="fastrdd"),
    Engine("fastrdd_cluster", "fastrdd cluster (loopback workers)", needs="fastrdd"),
    Engine("pyspark", "PySpark", needs="pyspark"),
    Engine("dask", "Dask bag", needs="dask.bag"),
    Engine("hadoop", "Hadoop MR (disk)", module="benchmarks.hadoop_runner", needs="pyspark",
           hadoop=True),
]}


# -- the parent side ------------------------------------------------------------------
def java_home():
    """JAVA_HOME, or the directory above ``bin/java`` on PATH, or None."""
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    for d in os.environ.get("PATH", "").split(os.pathsep):
        java = os.path.join(d, "java")
        if os.access(java, os.X_OK):
            return os.path.dirname(os.path.dirname(os.path.realpath(java)))
    return None


def child_env(engine, python):
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO  # benchmarks and fastrdd from this checkout, nothing else added
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    # the seed's exp(-y w.x) overflows to inf for confident points (and 1/(1+inf) == 0, as
    # intended); the warning would flood the logs from every worker
    env["PYTHONWARNINGS"] = "ignore:overflow encountered in exp:RuntimeWarning"
    env.pop("FASTRDD_PUREPYTHON", None)
    if engine.name == "fastrdd_pure":
        env["FASTRDD_PUREPYTHON"] = "1"
    if engine.name in ("pyspark", "hadoop"):
        home = java_home()
        if home:
            env["JAVA_HOME"] = home
        env["PYSPARK_PYTHON"] = python
        env["PYSPARK_DRIVER_PYTHON"] = python
        env["SPARK_LOCAL_IP"] = "127.0.0.1"  # loopback only; also silences the hostname warning
    env["BENCH_T0"] = repr(time.time())
    return env


def probe(engine, python):
    """``(True, versions)`` when ``engine`` can run with ``python``, else ``(False, why)``."""
    if engine.needs is None:
        return True, {}
    code = (f"import importlib, json; m = importlib.import_module({engine.needs!r}); "
            "import sys; print(json.dumps(getattr(sys.modules[m.__name__.split('.')[0]], "
            "'__version__', '?')))")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = REPO
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env,
                             timeout=120, cwd=REPO)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, f"could not run {python}: {e}"
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["?"])[-1]
        return False, (f"`import {engine.needs}` fails in {python} ({last}); install it into "
                       f"that environment, or pass --python with one that has it")
    if engine.name in ("pyspark", "hadoop") and java_home() is None:
        return False, "no java on PATH and JAVA_HOME unset (PySpark and Hadoop need Java 17)"
    return True, json.loads(out.stdout.strip().splitlines()[-1])


def _unescape_mount_path(field):
    """/proc/mounts writes space, tab, newline and backslash as octal escapes."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def is_on_tmpfs(path, mounts="/proc/mounts"):
    """Whether ``path`` lies on tmpfs: the type of the deepest mount point holding it."""
    path = os.path.realpath(path)
    best, best_type = "", None
    try:
        with open(mounts) as f:
            for line in f:
                fields = line.split()
                if len(fields) < 3:
                    continue
                point = _unescape_mount_path(fields[1])
                inside = path == point or path.startswith(point.rstrip("/") + "/")
                # >=: a later mount on the same point hides the earlier one
                if inside and len(point) >= len(best):
                    best, best_type = point, fields[2]
    except OSError:
        return False
    return best_type == "tmpfs"


def tmpfs_scratch_roots():
    """The directories fastrdd may put its scratch directories in (as
    ``fastrdd.context.choose_local_dirs`` picks them: ``SPARK_LOCAL_DIRS``, /dev/shm,
    the temp dir) that are on tmpfs: only there are its files memory."""
    candidates = [d.strip() for d in os.environ.get("SPARK_LOCAL_DIRS", "").split(",")]
    candidates += ["/dev/shm", tempfile.gettempdir()]
    roots = []
    for d in candidates:
        if d and os.path.isdir(d) and is_on_tmpfs(d):
            real = os.path.realpath(d)
            if real not in roots:
                roots.append(real)
    return roots


def _allocated_bytes_under(top):
    """Bytes allocated to the files under ``top``; what vanishes mid-walk counts as 0."""
    total, todo = 0, [top]
    while todo:
        try:
            with os.scandir(todo.pop()) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            todo.append(entry.path)
                        else:
                            total += entry.stat(follow_symlinks=False).st_blocks * 512
                    except OSError:
                        pass
        except OSError:
            pass
    return total


def scratch_bytes(roots, pids):
    """Bytes held by the fastrdd scratch directories directly under ``roots`` that were
    made by one of ``pids``: allocated blocks, so sparse or truncated files count as
    what they occupy."""
    total = 0
    for root in roots:
        try:
            with os.scandir(root) as entries:
                owned = [e.path for e in entries
                         if (m := FASTRDD_SCRATCH_DIR.match(e.name)) and int(m.group(1)) in pids]
        except OSError:
            continue
        for path in owned:
            total += _allocated_bytes_under(path)
    return total


class TreeSampler(threading.Thread):
    """Peak memory of a process and all its descendants, polled from /proc.

    A sample adds the tree's summed RSS and the bytes of the tree's fastrdd scratch
    files on tmpfs (shuffle outputs, spills: memory that no RSS shows, as fastrdd reads
    them rather than maps them).  RSS counts shared pages once per process (forked
    workers), so the sum is an upper bound of the tree's real footprint.  When walking
    the tmpfs directories gets slow, they are walked every SLOW_WALK_INTERVAL and the
    samples in between reuse the last walk's figure.
    """

    def __init__(self, pid, interval=SAMPLE_INTERVAL, tmpfs_roots=None):
        super().__init__(name=f"rss-{pid}", daemon=True)
        self.root = pid
        self.interval = interval
        #: where the tree's scratch files would be memory
        self.tmpfs_roots = tmpfs_scratch_roots() if tmpfs_roots is None else tmpfs_roots
        #: largest summed RSS seen, in bytes
        self.peak_rss = 0
        #: largest size of the tree's scratch files on tmpfs, in bytes
        self.peak_shm = 0
        #: largest RSS + tmpfs bytes of one sample, in bytes: the memory figure
        self.peak_memory = 0
        #: most processes seen in the tree at once
        self.max_procs = 0
        self._shm = 0
        self._next_walk = 0.0
        self._stop_event = threading.Event()

    @staticmethod
    def children(pid):
        kids = []
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    kids.extend(int(c) for c in f.read().split())
        except OSError:
            pass
        return kids

    @staticmethod
    def rss(pid):
        try:
            with open(f"/proc/{pid}/statm") as f:
                return int(f.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            return 0  # gone between listing and reading

    def sample(self):
        """One sample: ``(rss, shm)`` of the tree now; updates the peaks."""
        rss, seen, todo = 0, set(), [self.root]
        while todo:
            pid = todo.pop()
            if pid in seen:
                continue
            seen.add(pid)
            rss += self.rss(pid)
            todo.extend(self.children(pid))
        now = time.monotonic()
        if self.tmpfs_roots and now >= self._next_walk:
            self._shm = scratch_bytes(self.tmpfs_roots, seen)
            slow = time.monotonic() - now > self.interval / 10
            self._next_walk = now + (SLOW_WALK_INTERVAL if slow else 0.0)
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_shm = max(self.peak_shm, self._shm)
        self.peak_memory = max(self.peak_memory, rss + self._shm)
        self.max_procs = max(self.max_procs, len(seen))
        return rss, self._shm

    def run(self):
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)

    def stop(self):
        self._stop_event.set()
        self.join()


def run_child(argv, env, log_path, out_path, timeout, cwd):
    """Run one engine child; returns its JSON result with ``wall`` and the peaks added:
    ``peak_memory`` (RSS + tmpfs bytes of one sample), ``peak_rss`` and ``peak_shm``."""
    with open(log_path, "w") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            sampler.stop()
            # the child's session holds everything it started (JVM, workers, pools)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
        wall = time.perf_counter() - start
    result = None
    if os.path.exists(out_path):
        with open(out_path) as f:
            result = json.load(f)
    if result is None or timed_out or proc.returncode != 0:
        with open(log_path, errors="replace") as f:
            tail = f.read()[-3000:]
        why = (f"timed out after {timeout:.0f} s" if timed_out
               else (result or {}).get("error") or f"exit code {proc.returncode}")
        result = dict(result or {}, ok=False, error=why, log_tail=tail)
    result["peak_memory"] = sampler.peak_memory
    result["peak_rss"] = sampler.peak_rss
    result["peak_shm"] = sampler.peak_shm
    result["max_procs"] = sampler.max_procs
    result["wall"] = wall
    return result


# -- the child side ----------------------------------------------------------------------
def _worker_compiled(_):
    import importlib

    return importlib.import_module("fastrdd._impl").COMPILED


def _start_cluster(cores, versions):
    """``cores`` fastrdd-worker processes on loopback and a driver: the transport's cost."""
    import socket
    import subprocess
    import sys

    import fastrdd
    from fastrdd import SparkConf, SparkContext

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    workers = [subprocess.Popen([sys.executable, "-m", "fastrdd.cluster.worker", "--driver",
                                 f"127.0.0.1:{port}", "--once"], stdin=subprocess.DEVNULL)
               for _ in range(cores)]
    conf = (SparkConf().setMaster(f"fastrdd://127.0.0.1:{port}").setAppName("bench")
            .set("fastrdd.cluster.minWorkers", str(cores)))
    sc = SparkContext(conf=conf)
    sc.parallelize([1, 2], 2).count()
    versions["ready"] = time.time()
    versions["fastrdd"] = fastrdd.__version__

    def stop():
        sc.stop()
        for w in workers:
            w.wait(30)

    return sc, stop, versions


def start_engine(name, cores):
    """Start ``name``: ``(context or None, stop, versions)``, with ``versions["ready"]`` the
    wall-clock time of the first result (of a trivial job)."""
    versions = {"python": platform.python_version()}
    if name == "ideal":
        versions["ready"] = time.time()
        return None, lambda: None, versions
    if name in ("fastrdd", "fastrdd_pure"):
        import fastrdd
        from fastrdd import SparkConf, SparkContext
        from fastrdd._impl import COMPILED

        conf = SparkConf().setMaster(f"local[{cores}]").setAppName("bench")
        if name == "fastrdd_pure":
            conf.set("fastrdd.purepython", "1")
        sc = SparkContext(conf=conf)
        sc.parallelize([1, 2], 2).count()
        versions["ready"] = time.time()
        versions["fastrdd"] = fastrdd.__version__
        on_workers = sc.parallelize([0], 1).map(_worker_compiled).collect()[0]
        versions["twins"] = (f"driver {'compiled' if COMPILED else 'pure Python'}, "
                             f"workers {'compiled' if on_workers else 'pure Python'}")
        return sc, sc.stop, versions
    if name == "fastrdd_cluster":
        return _start_cluster(cores, versions)
    if name == "pyspark":
        import pyspark
        from pyspark import SparkConf, SparkContext

        conf = (SparkConf().setMaster(f"local[{cores}]").setAppName("bench")
                .set("spark.ui.enabled", "false").set("spark.ui.showConsoleProgress", "false"))
        sc = SparkContext(conf=conf)
        sc.setLogLevel("ERROR")
        sc.parallelize([1, 2], 2).count()
        versions["ready"] = time.time()
        versions["pyspark"] = pyspark.__version__
        return sc, sc.stop, versions
    if name == "dask":
        from concurrent.futures import ProcessPoolExecutor

        import dask
        import dask.bag as db
        from dask.multiprocessing import get_context

        # one pool for the whole run: without it every compute() starts N new processes
        pool = ProcessPoolExecutor(cores, mp_context=get_context())
        dask.config.set(scheduler="processes", pool=pool, num_workers=cores)
        db.from_sequence([1, 2], npartitions=2).count().compute()
        versions["ready"] = time.time()
        versions["dask"] = dask.__version__
        return None, pool.shutdown, versions
    raise ValueError(f"Unknown engine {name!r}: expected one of {sorted(ENGINES)}")


def run_runs(call, runs, marks_class, budget=None):
    """Up to ``runs`` timed calls of ``call(marks)``: ``(runs, summary)``.

    Stops early once the calls have taken ``budget`` seconds (at least one run);
    raises if two runs give different answers.
    """
    from .workloads import agree

    out, summary, spent = [], None, 0.0
    for _ in range(runs):
        if out and budget is not None and spent >= budget:
            break
        marks = marks_class()
        start = time.perf_counter()
        got = call(marks)
        total = time.perf_counter() - start
        spent += total
        job = sum(marks.times["job"]) if "job" in marks.times else total
        out.append({"total": total, "job": job, "marks": marks.times})
        if summary is not None and not agree(summary, got):
            raise AssertionError(f"run {len(out)} answered {got} after {summary}")
        summary = got
    return out, summary


def child_main(argv=None):
    parser = argparse.ArgumentParser(description="Run one workload on one engine (a child).")
    parser.add_argument("--engine", required=True, choices=[e for e in ENGINES if e != "hadoop"])
    parser.add_argument("--workload", required=True)
    parser.add_argument("--data", required=True, help="JSON file: paths, partitions, plan")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    parser.add_argument("--budget", type=float, default=None,
                        help="start no further run after this many seconds of runs")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    t0 = float(os.environ.get("BENCH_T0", time.time()))
    result = {"engine": args.engine, "workload": args.workload, "ok": False}
    stop = None
    try:
        from .workloads import WORKLOADS, Marks

        with open(args.data) as f:
            data = json.load(f)
        workload = WORKLOADS[args.workload]
        sc, stop, versions = start_engine(args.engine, args.cores)
        result["startup"] = versions.pop("ready") - t0
        result["versions"] = versions
        if args.engine == "ideal":
            call = lambda marks: workload.ideal(data, marks)  # noqa: E731
        elif args.engine == "dask":
            call = lambda marks: workload.dask(data, marks)  # noqa: E731
        else:
            call = lambda marks: workload.rdd(sc, data, marks)  # noqa: E731
        result["runs"], result["summary"] = run_runs(call, args.runs, Marks, args.budget)
        result["ok"] = True
    except BaseException as e:  # reported to the parent, which decides what failed
        result["error"] = f"{type(e).__name__}: {e}"
        result["traceback"] = traceback.format_exc()
        traceback.print_exc()
    finally:
        if stop is not None:
            try:
                stop()
            except Exception:
                traceback.print_exc()
        with open(args.out, "w") as f:
            json.dump(result, f)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(child_main())

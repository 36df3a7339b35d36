"""On-disk Hadoop MapReduce (LocalJobRunner) for word count and logistic regression.

No Hadoop installation is needed: the client jars ship inside the ``pyspark``
wheel, in ``pyspark/jars``.  The classpath is

    hadoop-client-api-*.jar       the MapReduce API and the LocalJobRunner
    hadoop-client-runtime-*.jar   Hadoop's third-party dependencies, shaded
    slf4j-api-*.jar               not shaded: Configuration logs through SLF4J
    jcl-over-slf4j-*.jar          commons-logging, which the metrics system needs
    log4j-slf4j2-impl, log4j-api, log4j-core
                                  so that a failing job's errors reach the log

``prepare(python, workdir)`` finds ``pyspark/jars`` with the engine interpreter,
compiles ``benchmarks/hadoop/*.java`` with ``javac`` into ``workdir`` and
returns the classpath.  The child (``python -m benchmarks.hadoop_runner``)
runs one JVM for all runs of a workload, reads its ``BENCH ...`` lines (see
the Java sources) and writes the same JSON result as ``engines.py``'s
children, with the answer read back from the job's output.
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

__all__ = ["prepare", "CLASSPATH_JARS"]

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCES = os.path.join(HERE, "hadoop")
#: Jar name patterns in pyspark/jars, in classpath order (see the module docstring).
CLASSPATH_JARS = ("hadoop-client-api-*.jar", "hadoop-client-runtime-*.jar", "slf4j-api-*.jar",
                  "jcl-over-slf4j-*.jar", "log4j-slf4j2-impl-*.jar", "log4j-api-*.jar",
                  "log4j-core-*.jar")
MAIN_CLASS = {"wordcount": "WordCount", "logreg": "LogisticRegression"}


def find_jars_dir(python):
    code = "import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), 'jars'))"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise FileNotFoundError(f"pyspark is not importable by {python}, so there are no Hadoop "
                                f"client jars: pip install pyspark into that environment")
    return out.stdout.strip()


def classpath_jars(jars_dir):
    jars = []
    for pattern in CLASSPATH_JARS:
        found = sorted(glob.glob(os.path.join(jars_dir, pattern)))
        if not found:
            raise FileNotFoundError(f"no {pattern} in {jars_dir}: this pyspark does not ship "
                                    f"the jars the Hadoop runner was written for")
        jars.append(found[-1])
    return jars


def prepare(python, workdir):
    """Compile the jobs; returns ``(True, {"classpath", "versions"})`` or ``(False, why)``."""
    javac = shutil.which("javac")
    if javac is None or shutil.which("java") is None:
        return False, "no javac/java on PATH (install a JDK 17)"
    try:
        jars = classpath_jars(find_jars_dir(python))
    except (FileNotFoundError, OSError, subprocess.TimeoutExpired) as e:
        return False, str(e)
    classes = os.path.join(workdir, "hadoop-classes")
    os.makedirs(classes, exist_ok=True)
    sources = sorted(glob.glob(os.path.join(SOURCES, "*.java")))
    out = subprocess.run([javac, "-nowarn", "-cp", os.pathsep.join(jars), "-d", classes]
                         + sources, capture_output=True, text=True)
    if out.returncode != 0:
        return False, f"javac failed: {out.stderr.strip()[-800:]}"
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    hadoop = os.path.basename(jars[0])[len("hadoop-client-api-"):-len(".jar")]
    versions = {"hadoop": hadoop, "java": (java.splitlines() or ["?"])[0]}
    return True, {"classpath": os.pathsep.join([classes] + jars), "versions": versions}


def run_java(classpath, main, args):
    """Run a job's main class; its stdout is echoed (to the log) and its BENCH lines kept."""
    proc = subprocess.Popen(["java", "-cp", classpath, main] + [str(a) for a in args],
                            stdout=subprocess.PIPE, text=True)
    bench = []
    for line in proc.stdout:
        sys.stdout.write(line)
        if line.startswith("BENCH "):
            bench.append(line.split(None, 2)[1:])
    sys.stdout.flush()
    if proc.wait() != 0:
        raise RuntimeError(f"{main} exited with code {proc.returncode} (its log is above)")
    return bench


def parse_runs(bench):
    """``(startup, runs, final w or None)`` from the BENCH lines of one JVM."""
    startup, runs, iterations, w = None, [], [], None
    for key, value in bench:
        if key == "startup":
            startup = float(value)
        elif key == "iteration":
            iterations.append(float(value))
        elif key == "job":
            marks = {"iteration": iterations} if iterations else {}
            runs.append({"total": float(value), "job": float(value), "marks": marks})
            iterations = []
        elif key == "w":
            w = [float(x) for x in value.split(",")]
    return startup, runs, w


def child_main(argv=None):
    parser = argparse.ArgumentParser(description="Run one workload as Hadoop MapReduce jobs.")
    parser.add_argument("--workload", required=True, choices=sorted(MAIN_CLASS))
    parser.add_argument("--data", required=True)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    parser.add_argument("--classpath", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    t0 = float(os.environ.get("BENCH_T0", time.time()))
    result = {"engine": "hadoop", "workload": args.workload, "ok": False}
    work = tempfile.mkdtemp(prefix="hadoop-", dir=os.getcwd())
    try:
        from .workloads import ITERATIONS, count_summary, initial_w, weights_summary

        with open(args.data) as f:
            data = json.load(f)
        name = "text" if args.workload == "wordcount" else "points"
        split = -(-os.path.getsize(data[name]) // data["partitions"])
        output = os.path.join(work, "out")
        common = [data[name], output, args.runs, args.cores, split, int(t0 * 1000)]
        if args.workload == "wordcount":
            bench = run_java(args.classpath, "WordCount", common)
        else:
            w0 = ",".join(repr(x) for x in initial_w().tolist())
            bench = run_java(args.classpath, "LogisticRegression", common + [ITERATIONS, w0])
        result["startup"], result["runs"], w = parse_runs(bench)
        if args.workload == "wordcount":
            counts = []
            for part in sorted(glob.glob(os.path.join(output, "part-r-*"))):
                with open(part, encoding="utf-8") as f:
                    for line in f:
                        word, n = line.rstrip("\n").split("\t")
                        counts.append((word, int(n)))
            result["summary"] = count_summary(counts)
        else:
            result["summary"] = weights_summary(w)
        result["ok"] = True
    except BaseException as e:
        result["error"] = f"{type(e).__name__}: {e}"
        result["traceback"] = traceback.format_exc()
        traceback.print_exc()
    finally:
        shutil.rmtree(work, ignore_errors=True)
        with open(args.out, "w") as f:
            json.dump(result, f)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(child_main())

#!/usr/bin/env python
"""Run PySpark's own RDD-layer docstring examples against fastrdd.

    python ci/pyspark_doctests.py                      # everything
    python ci/pyspark_doctests.py --only RDD.zip RDD.stats SparkContext.range
    python ci/pyspark_doctests.py --only 'RDD.*'       # fnmatch patterns
    python ci/pyspark_doctests.py --list               # list the members found
    python ci/pyspark_doctests.py --snapshot           # test the checkout's last commit, not its
                                                        # (possibly half-edited) working tree
    python ci/pyspark_doctests.py --report-only        # rewrite report.md from results.json
    options: --timeout S (60 per docstring), --hashseed N|random (0, as PySpark's runner),
             --no-normalize-whitespace (ELLIPSIS only, as PySpark's _test()), --fresh, --root DIR

Layout (all under $CONFORMANCE_DIR, default /tmp/conformance):
    src/pyspark-*/pyspark/   PySpark's source (from the sdist; never imported, only parsed)
    results.json             results of every member ever run (``--only`` updates it in place)
    report.md                regenerated from results.json after each run
    out/<member>.txt         full doctest output of the member's last run (.hang.txt: thread dump)
    diagnoses.md             hand-written diagnoses of the FAILs (not generated)
    snapshot/<commit>/       --snapshot copies (git archive HEAD + the checkout's built *.so)
    work/<module>/           cwd of the child process of a module

How a run works: the parent parses PySpark's modules with ``ast`` and picks the
docstrings that have ``>>>`` examples, one per member.  Members are run
module by module, sequentially, in a child process (``PYTHONPATH`` = the
fastrdd checkout) that builds the globals PySpark's ``_test()`` builds for
that module (``sc`` with the same master, a ``spark`` stand-in whose only
member is ``sparkContext``, the module's own imports mapped to fastrdd) and
runs each docstring with doctest (ELLIPSIS | NORMALIZE_WHITESPACE).  A
watchdog ends the child if one member takes longer than ``--timeout``; the
parent records a TIMEOUT and starts a new child for the members left.

Rewrites made to PySpark's examples (all reported per member in the notes):
  * ``from pyspark[.anything] import X``  ->  ``from fastrdd import X``
  * expected reprs ``<pyspark.a.b.Name ...``  ->  ``<...Name ...``
  * an expected ``Py4JJavaError`` (a failed job, JVM-only type) accepts any exception
  * examples using Spark SQL (``pyspark.sql``, ``spark.range``...) or the JVM
    (``_jrdd``, ``_jsc``...) are dropped, and so are the examples that read a name only
    a dropped example defines; a docstring with nothing left is SKIP
  * SUBSTITUTE: a JVM-only example later ones depend on gets its Python equivalent
  * PRE_STOP_SC: docstrings that PySpark runs with no active context get none
  * KNOWN_UPSTREAM: examples that cannot pass on PySpark itself make XFAIL, not FAIL
Members tagged J in /work/shared/pyspark-rdd-api.md are SKIP.
"""
import argparse
import ast
import doctest
import fnmatch
import glob
import json
import os
import re
import subprocess
import sys
import time

# A developer's tool, not run by CI (it needs PySpark's sdist: put it in the work
# directory with `pip download --no-deps -d $CONFORMANCE_DIR/dl pyspark` and unpack
# its .py files under $CONFORMANCE_DIR/src/).
HERE = os.environ.get("CONFORMANCE_DIR", "/tmp/conformance")
FASTRDD_ROOT = os.environ.get("FASTRDD_ROOT", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECKLIST = os.path.join(FASTRDD_ROOT, "..", "shared", "pyspark-rdd-api.md")
RESULTS = os.path.join(HERE, "results.json")
REPORT = os.path.join(HERE, "report.md")
OUTDIR = os.path.join(HERE, "out")
WORKDIR = os.path.join(HERE, "work")

# module file (relative to pyspark/) -> how PySpark's _test() sets it up
MODULES = {
    "core/rdd.py": dict(mod="pyspark.core.rdd", sc=("local[4]", "PythonTest"), checkpoint=True),
    "core/context.py": dict(mod="pyspark.core.context", sc=("local[4]", "context tests"),
                            conf={"spark.ui.enabled": "True"}),
    "conf.py": dict(mod="pyspark.conf", sc=None),
    "statcounter.py": dict(mod="pyspark.statcounter", sc=("local[4]", "PythonTest")),  # no _test()
    "resultiterable.py": dict(mod="pyspark.resultiterable", sc=("local[4]", "PythonTest")),
    "storagelevel.py": dict(mod="pyspark.storagelevel", sc=("local[4]", "PythonTest")),
    "core/broadcast.py": dict(mod="pyspark.core.broadcast", sc=("local[4]", "broadcast tests"),
                              spark=True),
    "accumulators.py": dict(mod="pyspark.accumulators", sc=("local", "test")),
    "taskcontext.py": dict(mod="pyspark.taskcontext", sc=("local[2]", "taskcontext tests"),
                           spark=True),
    "core/files.py": dict(mod="pyspark.core.files", sc=("local[2]", "files tests")),
    # also in the checklist's "doctests attached to classes and modules"
    "serializers.py": dict(mod="pyspark.serializers", sc=None),
    "profiler.py": dict(mod="pyspark.profiler", sc=None),
    "util.py": dict(mod="pyspark.util", sc=("local[4]", "PythonTest"),
                    only=["inheritable_thread_target"]),
}

# Top-level functions and classes are named like the checklist does.
CHECKLIST_PREFIX = {"util.py": "pyspark."}

# `spark.` as a variable (not inside a string such as "spark.master"), other than spark.sparkContext
SQL_RE = re.compile(r"pyspark\.sql|(?<![\w.\"'/])spark\.(?!sparkContext\b)\w|@udf\b|\budf\(|pandas_udf"
                    r"|createDataFrame|\.toDF\(")
JVM_RE = re.compile(r"\._jrdd\b|\._jsc\b|\._jvm\b|\._jconf\b|\._gateway\b|Py4J(?!JavaError)")

# JVM-only examples that later examples depend on: replaced by the Python equivalent
# (source prefix -> (new source, new want))
SUBSTITUTE = {
    'conf._jconf.setExecutorEnv("VAR5", "value5")':
        ('_ = conf.setExecutorEnv("VAR5", "value5")\n', ""),
}
IMPORT_RE = re.compile(r"\bfrom\s+pyspark(?:\.[\w.]+)?\s+import\b")
REPR_RE = re.compile(r"<pyspark(?:\.\w+)+\.(\w+)")

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
if os.environ.get("CONFORMANCE_NO_NORMALIZE_WHITESPACE"):
    FLAGS = doctest.ELLIPSIS  # exactly what PySpark's own _test() uses


# ----------------------------------------------------------------------------
# extraction (parent and child)
# ----------------------------------------------------------------------------
def pyspark_root():
    hits = sorted(glob.glob(os.path.join(HERE, "src", "pyspark-*", "pyspark")))
    if not hits:
        sys.exit("PySpark source not found under %s/src: run\n"
                 "  pip download --no-deps -d %s/dl pyspark && "
                 "tar -xzf %s/dl/pyspark-*.tar.gz -C %s/src --wildcards '*.py'"
                 % (HERE, HERE, HERE, HERE))
    return hits[-1]


def load_checklist():
    """member -> {'tags': str, 'doctest': str} from the shared checklist."""
    out = {}
    if not os.path.exists(CHECKLIST):
        return out
    for line in open(CHECKLIST, encoding="utf-8"):
        m = re.match(r"\|\s*`([^`]+)`\s*\|\s*(\w+)\s*\|\s*`(.*?)`\s*\|\s*([^|]*)\|\s*([^|]*)\|\s*([^|]*)\|\s*(.*)\|\s*$",
                     line)
        if m:
            out[m.group(1)] = dict(kind=m.group(2), sig=m.group(3), tags=m.group(4).strip(),
                                   doctest=m.group(6).strip(), notes=m.group(7).strip())
    return out


def extract(root):
    """Every docstring with examples: list of dicts (name, file, line, cls, attr, doc)."""
    items = []
    for rel, cfg in MODULES.items():
        path = os.path.join(root, rel)
        if not os.path.exists(path):
            print("warning: %s not found" % path, file=sys.stderr)
            continue
        tree = ast.parse(open(path, encoding="utf-8").read())
        parser = doctest.DocTestParser()
        modname = cfg["mod"]
        top_prefix = CHECKLIST_PREFIX.get(rel, modname + ".")

        def add(name, cls, attr, node, doc):
            if cfg.get("only") and (attr or cls) not in cfg["only"]:
                return
            if not parser.get_examples(doc):
                return
            items.append(dict(name=name, file=rel, line=node.lineno if node else 1, cls=cls,
                              attr=attr, doc=doc, module=modname))

        mdoc = ast.get_docstring(tree, clean=False)
        if mdoc:
            add(modname + " (module)", None, None, None, mdoc)
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                doc = ast.get_docstring(node, clean=False)
                if doc:
                    add(top_prefix + node.name, node.name, None, node, doc)
                for sub in node.body:
                    if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        doc = ast.get_docstring(sub, clean=False)
                        if doc:
                            add("%s.%s" % (node.name, sub.name), node.name, sub.name, sub, doc)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node, clean=False)
                if doc:
                    add(top_prefix + node.name, None, node.name, node, doc)
    return items


def module_imports(root, rel):
    """Top-level import statements of a PySpark module (outside ``if TYPE_CHECKING``)."""
    tree = ast.parse(open(os.path.join(root, rel), encoding="utf-8").read())
    stmts = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            stmts.append(node)
        elif isinstance(node, ast.Try):
            stmts.extend(n for n in node.body if isinstance(n, (ast.Import, ast.ImportFrom)))
    defs = [n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))]
    for n in tree.body:
        if isinstance(n, ast.Assign):
            defs.extend(t.id for t in n.targets if isinstance(t, ast.Name))
    return stmts, defs


def _bound_and_used(src):
    """(names bound at top level, names read anywhere) of an example's source; None if unparsable."""
    try:
        tree = ast.parse(src)
    except SyntaxError:
        return None
    bound, used = set(), set()

    def targets(t):
        for n in ast.walk(t):
            if isinstance(n, ast.Name):
                bound.add(n.id)

    for st in tree.body:
        if isinstance(st, ast.Assign):
            for t in st.targets:
                targets(t)
        elif isinstance(st, (ast.AugAssign, ast.AnnAssign)):
            targets(st.target)
        elif isinstance(st, (ast.For, ast.AsyncFor)):
            targets(st.target)
        elif isinstance(st, (ast.With, ast.AsyncWith)):
            for item in st.items:
                if item.optional_vars is not None:
                    targets(item.optional_vars)
        elif isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(st.name)
        elif isinstance(st, (ast.Import, ast.ImportFrom)):
            for a in st.names:
                bound.add((a.asname or a.name).split(".")[0])
    for n in ast.walk(tree):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
            used.add(n.id)
    return bound, used


def rewrite_examples(test):
    """Apply the harness rewrites in place; return (notes, n_dropped_sql, n_dropped_jvm).

    An example is dropped when it uses Spark SQL or the JVM, or when it reads a
    name that only a dropped example defined (its results would be meaningless).
    """
    notes = set()
    kept, sql, jvm, dep = [], 0, 0, 0
    tainted = set()
    for ex in test.examples:
        src = ex.source
        for prefix, (new_src, new_want) in SUBSTITUTE.items():
            if src.startswith(prefix):
                notes.add("JVM-only example %r replaced by %r" % (prefix, new_src.strip()))
                ex.source, ex.want, ex.exc_msg = new_src, new_want, None
                src = new_src
        bu = _bound_and_used(src)
        drop = None
        if SQL_RE.search(src):
            drop = "sql"
        elif JVM_RE.search(src):
            drop = "jvm"
        elif bu and (bu[1] & tainted):
            drop = "dep"
        if drop:
            sql += drop == "sql"
            jvm += drop == "jvm"
            dep += drop == "dep"
            if bu:
                tainted |= bu[0]
            continue
        if bu:
            tainted -= bu[0]
        new = IMPORT_RE.sub("from fastrdd import", src)
        if new != src:
            notes.add("imports from pyspark rewritten to fastrdd")
            ex.source = new
        want = REPR_RE.sub(r"<...\1", ex.want)
        if want != ex.want:
            notes.add("expected <pyspark.*.Name ...> reprs relaxed to <...Name")
            ex.want = want
        if ex.exc_msg is not None and "Py4JJavaError" in ex.exc_msg:
            notes.add("expected Py4JJavaError (JVM-only type) relaxed to any exception")
            ex.exc_msg = "...\n"
        kept.append(ex)
    test.examples = kept
    if sql:
        notes.add("%d example(s) using Spark SQL dropped" % sql)
    if jvm:
        notes.add("%d JVM-only example(s) (_jrdd/_jsc...) dropped" % jvm)
    if dep:
        notes.add("%d example(s) reading names only dropped examples define also dropped" % dep)
    return sorted(notes), sql, jvm


# ----------------------------------------------------------------------------
# child: runs the members of one module
# ----------------------------------------------------------------------------
def fastrdd_lookup(name):
    """(object, where) for a PySpark name: fastrdd top level first, then its submodules."""
    import importlib
    import pkgutil

    import fastrdd

    try:
        return getattr(fastrdd, name), "fastrdd"
    except AttributeError:
        pass
    for info in pkgutil.walk_packages(fastrdd.__path__, "fastrdd."):
        leaf = info.name.rsplit(".", 1)[1]
        if leaf in ("__main__", "shell", "process") or leaf.startswith("_"):
            continue
        try:
            mod = importlib.import_module(info.name)
        except Exception:
            continue
        if hasattr(mod, name) and not isinstance(getattr(mod, name), type(sys)):
            obj = getattr(mod, name)
            if getattr(obj, "__module__", "").startswith("fastrdd") or not callable(obj):
                return obj, info.name
    return None, None


class SparkStandIn:
    """PySpark's broadcast/taskcontext doctests use ``spark.sparkContext``; only that is given."""

    def __init__(self, sc):
        self.sparkContext = sc

    def __getattr__(self, name):
        raise AttributeError("harness stand-in for SparkSession has only .sparkContext "
                             "(Spark SQL is out of scope): %s" % name)

    def stop(self):
        self.sparkContext.stop()


class RecordingRunner(doctest.DocTestRunner):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.failures_list = []

    def report_failure(self, out, test, example, got):
        self.failures_list.append(dict(kind="mismatch", source=example.source, want=example.want,
                                       got=got, line=example.lineno))
        super().report_failure(out, test, example, got)

    def report_unexpected_exception(self, out, test, example, exc_info):
        import traceback

        exc = "".join(traceback.format_exception_only(exc_info[0], exc_info[1])).strip()
        self.failures_list.append(dict(kind="exception", source=example.source, want=example.want,
                                       got=exc, line=example.lineno,
                                       exc_type=exc_info[0].__name__, exc_msg=str(exc_info[1])))
        super().report_unexpected_exception(out, test, example, exc_info)


MISSING_PATTERNS = [
    (re.compile(r"^AttributeError: .*?'?(\w+)'? object has no attribute '(\w+)'"), "{0}.{1}"),
    (re.compile(r"^AttributeError: type object '(\w+)' has no attribute '(\w+)'"), "{0}.{1}"),
    (re.compile(r"^AttributeError: module 'fastrdd[\w.]*' has no attribute '(\w+)'"), "fastrdd.{0}"),
    (re.compile(r"^ImportError: cannot import name '(\w+)' from 'fastrdd"), "fastrdd.{0}"),
    (re.compile(r"^NameError: name '(\w+)' is not defined"), "{0} (global)"),
]


def missing_name(failure):
    """The fastrdd name whose absence made this example fail, or None."""
    if failure["kind"] != "exception":
        return None
    for pat, fmt in MISSING_PATTERNS:
        m = pat.search(failure["got"])
        if m:
            groups = list(m.groups())
            # fastrdd's RDD subclasses (ParallelCollectionRDD, PipelinedRDD...) stand for RDD
            if fmt == "{0}.{1}" and groups[0].endswith("RDD") and groups[0] != "RDDBarrier":
                groups[0] = "RDD"
            return fmt.format(*groups)
    return None


def child_main(rel, names, timeout, results_path):
    import threading
    import traceback

    sys.setrecursionlimit(5000)
    root = pyspark_root()
    cfg = MODULES[rel]
    items = {it["name"]: it for it in extract(root) if it["file"] == rel}
    out = open(results_path, "a", buffering=1)

    def emit(obj):
        out.write(json.dumps(obj) + "\n")
        out.flush()

    # -- globals, as the module's _test() would give them -----------------
    setup_notes = []
    base = {"__name__": cfg["mod"]}
    stmts, defs = module_imports(root, rel)
    for st in stmts:
        if isinstance(st, ast.ImportFrom) and (st.module or "").startswith("pyspark") or (
                isinstance(st, ast.Import) and any(a.name.startswith("pyspark") for a in st.names)):
            names_ = [a.asname or a.name for a in st.names] if isinstance(st, ast.ImportFrom) else []
            for nm in names_:
                obj, where = fastrdd_lookup(nm)
                if obj is not None:
                    base[nm] = obj
            continue
        try:
            exec(compile(ast.Module(body=[st], type_ignores=[]), "<imports>", "exec"), base)
        except Exception:
            pass
    for nm in defs:
        if nm.startswith("_") or nm in base:
            continue
        obj, where = fastrdd_lookup(nm)
        if obj is not None:
            base[nm] = obj
            if where != "fastrdd":
                setup_notes.append("module global %s taken from %s (not exported by fastrdd)"
                                   % (nm, where))
    import tempfile

    tmp_dir = tempfile.TemporaryDirectory(prefix="conformance-ckpt-")
    sc = None
    def make_sc():
        from fastrdd import SparkConf, SparkContext

        kwargs = {}
        if cfg.get("conf"):
            conf = SparkConf()
            for k, v in cfg["conf"].items():
                conf.set(k, v)
            kwargs["conf"] = conf
        new = SparkContext(cfg["sc"][0], cfg["sc"][1], **kwargs)
        if cfg.get("checkpoint"):
            try:
                new.setCheckpointDir(tmp_dir.name)
            except Exception as e:
                note = "setup: sc.setCheckpointDir failed: %s: %s" % (type(e).__name__, e)
                if note not in setup_notes:
                    setup_notes.append(note)
        base["sc"] = new
        if cfg.get("spark"):
            base["spark"] = SparkStandIn(new)
        return new

    if cfg.get("sc"):
        try:
            sc = make_sc()
        except Exception:
            emit(dict(setup_error=traceback.format_exc()))
            os._exit(2)

    emit(dict(module_notes=setup_notes))
    os.makedirs(OUTDIR, exist_ok=True)
    for name in names:
        it = items.get(name)
        if it is None:
            emit(dict(name=name, status="GONE"))
            continue
        emit(dict(name=name, started=True))
        presence = member_presence(it, sc)
        if name in PRE_STOP_SC and sc is not None:
            # PySpark runs this docstring (via `python -m`) where the class it imports is a
            # second copy of SparkContext with no active context: stop ours to match.
            sc.stop()
        test = doctest.DocTestParser().get_doctest(
            it["doc"], dict(base), name, os.path.join(root, rel), it["line"] - 1)
        notes, n_sql, n_jvm = rewrite_examples(test)
        if name in PRE_STOP_SC:
            notes = list(notes) + ["harness stops the shared sc first (see PRE_STOP_SC)"]
        result = dict(name=name, n_examples=len(test.examples), notes=list(notes),
                      dropped_sql=n_sql, dropped_jvm=n_jvm, presence=presence)
        if not test.examples:
            result.update(status="SKIP", reason="every example needs Spark SQL or the JVM")
            emit(result)
            continue

        # watchdog: a hung member ends this child; the parent restarts for the rest
        done = threading.Event()
        runner = RecordingRunner(optionflags=FLAGS, verbose=False)
        chunks = []

        def watchdog(name=name, runner=runner, chunks=chunks, result=result):
            if not done.wait(timeout):
                import faulthandler

                hang = os.path.join(OUTDIR, _fname(name) + ".hang.txt")
                with open(hang, "w") as f:
                    faulthandler.dump_traceback(file=f, all_threads=True)
                m = re.findall(r"<doctest .*\[(\d+)\]>", open(hang).read())
                idx = int(m[-1]) if m else None
                src = test.examples[idx].source if idx is not None and idx < len(test.examples) else ""
                with open(os.path.join(OUTDIR, _fname(name) + ".txt"), "w") as f:
                    f.write("".join(chunks) + "\nHUNG (>%ss) at example %s:\n%s" % (timeout, idx, src))
                result.update(status="TIMEOUT", timeout=timeout, hung_at=src,
                              failures=list(runner.failures_list),
                              n_failed=len(runner.failures_list) + 1)
                emit(result)
                os._exit(3)

        threading.Thread(target=watchdog, daemon=True).start()
        t0 = time.time()
        try:
            runner.run(test, out=chunks.append, clear_globs=True)
        except BaseException:
            chunks.append("harness: doctest itself raised\n" + traceback.format_exc())
        finally:
            done.set()
        result["seconds"] = round(time.time() - t0, 2)
        with open(os.path.join(OUTDIR, _fname(name) + ".txt"), "w") as f:
            f.write("".join(chunks))
        result["failures"] = runner.failures_list
        result["n_failed"] = len(runner.failures_list)
        emit(result)
        # a docstring may stop the shared context (e.g. to make its own): make a new one
        from fastrdd import SparkContext

        active = getattr(SparkContext, "_active_spark_context", None)
        if sc is not None and (getattr(sc, "_stopped", False) or active is not sc):
            try:
                if active is not None and active is not sc:
                    active.stop()
                sc = make_sc()
                emit(dict(note="sc was stopped/replaced by %s; a new one was made" % name))
            except Exception:
                emit(dict(setup_error=traceback.format_exc()))
                os._exit(2)
        elif sc is None and active is not None:
            try:
                active.stop()
            except Exception:
                pass
    try:
        if sc is not None:
            sc.stop()
    finally:
        tmp_dir.cleanup()
    out.close()
    os._exit(0)


PRE_STOP_SC = {"pyspark.core.context.SparkContext"}

# Examples that cannot pass on PySpark itself (PySpark never runs them): a member whose
# only failures are these is XFAIL, not FAIL.  member -> [(source prefix, why)]
KNOWN_UPSTREAM = {
    "StatCounter.asDict": [(
        "sc.parallelize([1., 2., 3., 4.]).stats().asDict()",
        "PySpark's expected output is Python 2 (`4L`) and lists the keys sorted, while "
        "asDict() returns them in insertion order (count, mean, sum, min, max, stdev, "
        "variance); statcounter.py has no _test(), so PySpark never runs it. fastrdd returns "
        "exactly what PySpark 4.3 returns on Python 3")],
}


def upstream_reason(name, failure):
    for prefix, why in KNOWN_UPSTREAM.get(name, []):
        if failure["source"].startswith(prefix):
            return why
    return None


def member_presence(it, sc):
    """Does fastrdd have this member?  Checked on the class, then on a live instance."""
    cls, attr = it["cls"], it["attr"]
    if cls is None and attr is None:
        return dict(exists=True)
    if cls is None:
        obj, where = fastrdd_lookup(attr)
        return dict(exists=obj is not None, missing=None if obj is not None else attr,
                    where=where)
    obj, where = fastrdd_lookup(cls)
    if obj is None:
        return dict(exists=False, missing=cls, where=None)
    if attr is None or hasattr(obj, attr):
        return dict(exists=True, where=where)
    inst = None
    try:
        if cls == "SparkContext":
            inst = sc
        elif cls == "RDD" and sc is not None:
            inst = sc.parallelize([1])
    except Exception:
        inst = None
    if inst is not None and hasattr(inst, attr):
        return dict(exists=True, where=where)
    return dict(exists=False, missing="%s.%s" % (cls, attr), where=where)


def _fname(name):
    return re.sub(r"[^\w.-]+", "_", name)


# ----------------------------------------------------------------------------
# parent
# ----------------------------------------------------------------------------
def fastrdd_presence(names_cls_attr):
    """Ask a subprocess (PYTHONPATH=fastrdd) which classes/members exist; name -> info.

    Used for the checklist appendix; members that have examples are checked again
    by the child at run time (on the class, then on a live instance).
    """
    code = r"""
import json, sys
sys.path.insert(0, %r)
import run
q = json.load(sys.stdin)
sc = None
try:
    from fastrdd import SparkContext
    sc = SparkContext("local[2]", "presence")
except Exception:
    pass
# live instances, for attributes that fastrdd sets in __init__
FACTORIES = {
    "SparkContext": lambda: sc,
    "RDD": lambda: sc.parallelize([1]),
    "PipelinedRDD": lambda: sc.parallelize([1]).map(lambda x: x),
    "RDDBarrier": lambda: sc.parallelize([1]).barrier(),
    "StorageLevel": lambda: run.fastrdd_lookup("StorageLevel")[0].MEMORY_ONLY,
    "ResultIterable": lambda: run.fastrdd_lookup("ResultIterable")[0]([1]),
    "Partitioner": lambda: run.fastrdd_lookup("Partitioner")[0](2, run.fastrdd_lookup("portable_hash")[0]),
    "StatCounter": lambda: run.fastrdd_lookup("StatCounter")[0]([1.0, 2.0]),
    "Accumulator": lambda: sc.accumulator(0),
    "AddingAccumulatorParam": lambda: run.fastrdd_lookup("AddingAccumulatorParam")[0](0),
    "BarrierTaskInfo": lambda: run.fastrdd_lookup("BarrierTaskInfo")[0]("127.0.0.1:0"),
}
out = {}
for name, (cls, attr) in q.items():
    r = run.member_presence(dict(cls=cls, attr=attr), None)
    if not r.get("exists") and cls in FACTORIES and attr:
        try:
            if hasattr(FACTORIES[cls](), attr):
                r = dict(exists=True, where=r.get("where"), instance=True)
        except Exception:
            pass
    out[name] = r
if sc is not None:
    sc.stop()
print(json.dumps(out))
""" % HERE
    env = dict(os.environ, PYTHONPATH=FASTRDD_ROOT)
    p = subprocess.run([sys.executable, "-c", code], input=json.dumps(names_cls_attr), env=env,
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        print(p.stderr, file=sys.stderr)
        return {}
    return json.loads(p.stdout)


def checklist_queries(checklist, items):
    named = {it["name"] for it in items}
    q = {}
    for member, info in checklist.items():
        if member in named or "J" in info["tags"]:
            continue
        if member.startswith("pyspark."):
            last = member.rsplit(".", 1)[1]
            q[member] = [last, None] if last[:1].isupper() else [None, last]
        elif "." in member:
            q[member] = member.split(".", 1)
    return q


def check_build():
    env = dict(os.environ, PYTHONPATH=FASTRDD_ROOT)
    p = subprocess.run([sys.executable, "-c", "import fastrdd, fastrdd._shuffle, fastrdd._serde;"
                        "print(fastrdd.__file__)"], env=env, capture_output=True, text=True)
    return p.returncode == 0, (p.stdout + p.stderr).strip()


def git_state():
    if FASTRDD_ROOT.startswith(os.path.join(HERE, "snapshot")):
        commit = os.path.basename(FASTRDD_ROOT)
        subj = subprocess.run(["git", "-C", os.environ.get("FASTRDD_CHECKOUT", "/work/main"), "log",
                               "-1", "--format=%s", commit], capture_output=True, text=True).stdout
        return "%s %s (snapshot: committed tree only + the checkout's built .so files)" % (
            commit, subj.strip())
    try:
        head = subprocess.run(["git", "-C", FASTRDD_ROOT, "log", "-1", "--format=%h %s"],
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", FASTRDD_ROOT, "status", "--porcelain"],
                               capture_output=True, text=True).stdout.strip()
        return "%s%s" % (head, " (+ uncommitted changes: %d files)" % len(dirty.splitlines())
                         if dirty else "")
    except OSError:
        return "?"


def make_snapshot(checkout):
    """Copy the checkout's HEAD (git archive, read-only for the checkout) and its built
    extension modules into snapshot/<commit>; return that path."""
    import shutil

    commit = subprocess.run(["git", "-C", checkout, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True, check=True).stdout.strip()
    dest = os.path.join(HERE, "snapshot", commit)
    if not os.path.isdir(dest):
        tmp = dest + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        arch = subprocess.run(["git", "-C", checkout, "archive", "--format=tar", "HEAD"],
                              capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=arch, check=True)
        for so in glob.glob(os.path.join(checkout, "**", "*.so"), recursive=True):
            rel = os.path.relpath(so, checkout)
            if rel.startswith(("build" + os.sep, ".")):
                continue
            os.makedirs(os.path.dirname(os.path.join(tmp, rel)), exist_ok=True)
            shutil.copy2(so, os.path.join(tmp, rel))
        os.rename(tmp, dest)
    print("testing snapshot of %s at %s: %s" % (checkout, commit, dest), file=sys.stderr)
    return dest


def run_module(rel, names, timeout, verbose, hashseed):
    """Run members of one module, restarting the child after a timeout/crash.

    Returns (name -> result, module notes)."""
    wd = os.path.join(WORKDIR, _fname(rel))
    os.makedirs(wd, exist_ok=True)
    results = {}
    module_notes = []
    pending = list(names)
    while pending:
        res_path = wd + ".jsonl"
        if os.path.exists(res_path):
            os.remove(res_path)
        env = dict(os.environ, PYTHONPATH=FASTRDD_ROOT)
        if hashseed is not None:
            env["PYTHONHASHSEED"] = hashseed
        else:
            env.pop("PYTHONHASHSEED", None)
        cmd = [sys.executable, os.path.abspath(__file__), "--child", rel, "--timeout", str(timeout),
               "--results-path", res_path, "--"] + pending
        with open(wd + ".log", "a") as log:
            proc = subprocess.Popen(cmd, cwd=wd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            try:
                rc = proc.wait(timeout=timeout * len(pending) + 120)
            except subprocess.TimeoutExpired:
                rc = None
            # end whatever this child left behind: its own process group, which we started
            try:
                os.killpg(proc.pid, 9)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
        started = None
        setup_error = None
        if os.path.exists(res_path):
            for line in open(res_path):
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if "setup_error" in obj:
                    setup_error = obj["setup_error"]
                elif "module_notes" in obj:
                    for n in obj["module_notes"]:
                        if n not in module_notes:
                            module_notes.append(n)
                elif "note" in obj:
                    module_notes.append(obj["note"])
                elif obj.get("started"):
                    started = obj["name"]
                elif "status" in obj or "failures" in obj:
                    results[obj["name"]] = obj
                    if verbose:
                        print("  %-45s %s" % (obj["name"], _short_status(obj)), flush=True)
                    if started == obj["name"]:
                        started = None
        if setup_error:
            for nm in pending:
                if nm not in results:
                    results[nm] = dict(name=nm, status="SETUP-ERROR", error=setup_error)
            break
        if started is not None and started not in results:
            results[started] = dict(name=started, status="CRASH",
                                    error="child exited with %s while running it" % rc)
            if verbose:
                print("  %-45s CRASH (rc=%s)" % (started, rc), flush=True)
        left = [nm for nm in pending if nm not in results]
        if left == pending:  # no progress at all
            for nm in left:
                results[nm] = dict(name=nm, status="CRASH", error="child exited with %s" % rc)
            break
        pending = left
        if pending:
            module_notes.append("child process restarted before %s (fresh sc, earlier "
                                "state lost)" % pending[0])
    return results, module_notes


def _short_status(obj):
    if obj.get("status"):
        return obj["status"]
    return "ok" if not obj.get("failures") else "%d failing example(s)" % len(obj["failures"])


def is_j(name, checklist):
    return "J" in checklist.get(name, {}).get("tags", "")


def classify(item, res, checklist):
    """Final (status, detail) of a member."""
    if is_j(item["name"], checklist):
        return "SKIP", "JVM/Hadoop-specific member (J in the checklist)"
    if res is None:
        return "NOT-RUN", ""
    st = res.get("status")
    if st in ("SKIP", "CRASH", "SETUP-ERROR", "GONE"):
        return st, res.get("reason") or (res.get("error") or "")[-300:]
    pres = res.get("presence") or {}
    fails = res.get("failures") or []
    first_missing = next((missing_name(f) for f in fails if missing_name(f)), None)
    if st == "TIMEOUT":
        hung = "hung (> %ss) at `%s`" % (res.get("timeout"), shorten(res.get("hung_at", ""), 80)
                                         .replace("\n", " "))
        if not pres.get("exists", True):
            return "ERROR", "missing: %s; then %s" % (pres.get("missing"), hung)
        if fails and missing_name(fails[0]):
            return "ERROR", "missing: %s; then %s" % (missing_name(fails[0]), hung)
        return "TIMEOUT", hung
    if not pres.get("exists", True):
        if not fails:
            return "PASS", "(member not found on the class, but every example passes)"
        return "ERROR", "missing: %s" % pres.get("missing")
    if not fails:
        return "PASS", ""
    if missing_name(fails[0]):
        return "ERROR", "missing: %s" % missing_name(fails[0])
    whys = [upstream_reason(item["name"], f) for f in fails]
    if all(whys):
        return "XFAIL", "upstream example cannot pass on PySpark either: " + "; ".join(set(whys))
    return "FAIL", ""


def shorten(s, n=300):
    s = (s or "").rstrip("\n")
    if len(s) > n:
        s = s[: n - 3] + "..."
    return s


def class_of(name):
    if name.startswith("pyspark."):
        base = name.split(" ")[0]
        last = base.rsplit(".", 1)[1]
        if last[:1].isupper():  # class docstring
            return last
        return "module-level functions and module docstrings"
    return name.split(".")[0]


def _failure_block(f, L):
    L.append("```text")
    L.append(">>> " + shorten(f["source"], 400).replace("\n", "\n... "))
    L.append("# expected:")
    L.append(shorten(f["want"] or "(nothing)", 400))
    L.append("# got:")
    L.append(shorten(f["got"] or "(nothing)", 600))
    L.append("```")


def write_report(items, results, checklist, pyspark_dir, appendix):
    run = results.get("__run__", {})
    rows = []
    for it in items:
        res = results.get(it["name"])
        status, detail = classify(it, res, checklist)
        rows.append((it, res, status, detail))
    counts = {}
    for _, _, st, _ in rows:
        counts[st] = counts.get(st, 0) + 1
    order = ["PASS", "FAIL", "ERROR", "TIMEOUT", "CRASH", "SETUP-ERROR", "XFAIL", "SKIP", "NOT-RUN",
             "GONE"]
    L = []
    L.append("# fastrdd vs PySpark's RDD-layer docstring examples\n")
    L.append("Generated %s by `python ci/pyspark_doctests.py` from PySpark %s's source "
             "(`%s`), against fastrdd at %s, commit %s.\n"
             % (time.strftime("%Y-%m-%d %H:%M"), os.path.basename(os.path.dirname(pyspark_dir))
                .replace("pyspark-", ""), os.path.relpath(pyspark_dir, HERE), run.get("root"),
                run.get("state")))
    L.append("Build check: %s\n" % run.get("build"))
    L.append("## Summary\n")
    L.append("**%d docstrings with examples: %s**\n" % (
        len(rows), ", ".join("%s %d" % (k, counts[k]) for k in order if k in counts)))
    ex_total = sum((r or {}).get("n_examples", 0) for _, r, _, _ in rows)
    ex_failed = sum((r or {}).get("n_failed", 0) for _, r, _, _ in rows)
    L.append("Examples run: %d, failing: %d (one failure often makes later examples of the same "
             "docstring fail too).\n" % (ex_total, ex_failed))
    fails = [it["name"] for it, _, st, _ in rows if st == "FAIL"]
    errors = [it["name"] for it, _, st, _ in rows if st == "ERROR"]
    others = [(it["name"], st) for it, _, st, _ in rows
              if st in ("TIMEOUT", "CRASH", "SETUP-ERROR", "XFAIL")]
    L.append("- FAIL (%d): %s" % (len(fails), ", ".join("`%s`" % n for n in fails) or "-"))
    L.append("- ERROR (%d): %s" % (len(errors), ", ".join("`%s`" % n for n in errors) or "-"))
    if others:
        L.append("- other: %s" % ", ".join("`%s` %s" % o for o in others))
    if os.path.exists(os.path.join(HERE, "diagnoses.md")):
        L.append("\nDiagnoses of the FAILs (fastrdd bug or harness artifact): `diagnoses.md`.")
    L.append("\nStatuses: **PASS** every example passes; **FAIL** the member exists and an "
             "example gives a wrong result (the first one is shown); **ERROR** the member, or a name "
             "its first failing example needs, is missing from fastrdd; **XFAIL** the only failing examples are broken upstream (they cannot pass on PySpark itself; see KNOWN_UPSTREAM in run.py); **SKIP** a J member, or "
             "every example needs Spark SQL; **TIMEOUT/CRASH** the docstring hung or killed the "
             "process.  `examples` = passing/run.\n")
    L.append("How it runs: each PySpark module in its own process with the globals its `_test()` "
             "gives (`sc` = fastrdd `SparkContext(<same master as PySpark's _test>, ...)`, `spark` = "
             "a stand-in with only `.sparkContext`, the module's imports mapped to fastrdd names), "
             "doctest with %s, PYTHONHASHSEED=%s, %ss per docstring. "
             "Rewrites: `from pyspark... import X` -> `from fastrdd import X`; expected "
             "`<pyspark.x.Name ...>` reprs -> `<...Name ...>`; an expected Py4JJavaError accepts "
             "any exception; examples using Spark SQL or the JVM (`_jrdd`...) are dropped, with "
             "the examples that read names only they define.  Full doctest output per member: "
             "`out/<member>.txt` (`.hang.txt`: thread dump of a hang).\n"
             % (run.get("flags"), run.get("hashseed") if run.get("hashseed") is not None
                else "random", run.get("timeout")))
    mod_notes = results.get("__modules__", {})
    if mod_notes:
        L.append("Per-module setup notes:\n")
        for rel, notes in mod_notes.items():
            if notes:
                L.append("- `%s`: %s" % (rel, "; ".join(notes)))
        L.append("")

    groups = {}
    for row in rows:
        groups.setdefault(class_of(row[0]["name"]), []).append(row)
    for cls, grp in groups.items():
        c = {}
        for _, _, st, _ in grp:
            c[st] = c.get(st, 0) + 1
        L.append("\n## %s (%s)\n" % (cls, ", ".join("%s %d" % (k, c[k]) for k in order if k in c)))
        L.append("| member | status | examples | detail | notes | run |")
        L.append("|---|---|---:|---|---|---|")
        for it, res, st, detail in grp:
            res = res or {}
            nex = res.get("n_examples", "")
            nf = res.get("n_failed")
            ex = "%s/%s" % (max(nex - nf, 0), nex) if nf is not None and nex != "" else str(nex)
            notes = "; ".join(res.get("notes", []))
            L.append("| `%s` | %s | %s | %s | %s | %s |" % (
                it["name"], st, ex, detail.replace("|", "\\|").replace("\n", " "),
                notes.replace("|", "\\|"), res.get("run_at", "")))
        for it, res, st, detail in grp:
            if st not in ("FAIL", "ERROR", "TIMEOUT", "XFAIL") or not res or not res.get("failures"):
                continue
            fl = res["failures"]
            L.append("\n**%s** %s: first failing example (%d failing):\n" % (it["name"], st, len(fl)))
            _failure_block(fl[0], L)
            # semantic failures hidden behind a missing name
            later = [f for f in fl[1:] if f["kind"] == "mismatch"
                     or (not missing_name(f) and f.get("exc_type") not in ("NameError",))]
            if st == "ERROR" and later:
                L.append("\nalso failing, not because of a missing name (%d):\n" % len(later))
                for f in later[:3]:
                    _failure_block(f, L)
            elif st in ("FAIL", "XFAIL") and len(fl) > 1:
                L.append("\nnext failing examples (%d more; all in `out/%s.txt`):\n"
                         % (len(fl) - 1, _fname(it["name"])))
                for f in fl[1:3]:
                    _failure_block(f, L)

    L.append("\n## Appendix: checklist members without PySpark examples (presence in fastrdd)\n")
    absent = [m for m, p in appendix.items() if not p.get("exists")]
    present = [m for m, p in appendix.items() if p.get("exists")]
    L.append("Members not tagged J; looked up on fastrdd's class (top level, else a submodule), "
             "then on a live instance for attributes set in `__init__`.\n")
    L.append("Missing (%d): %s\n" % (len(absent), ", ".join("`%s`" % m for m in absent)))
    L.append("Present (%d): %s\n" % (len(present), ", ".join("`%s`" % m for m in present)))
    with open(REPORT, "w") as f:
        f.write("\n".join(L) + "\n")
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", help="member names or fnmatch patterns (see --list)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per docstring (60)")
    ap.add_argument("--hashseed", default="0",
                    help="PYTHONHASHSEED of the runs (default 0; 'random' to leave it unset)")
    ap.add_argument("--no-normalize-whitespace", action="store_true",
                    help="doctest with ELLIPSIS only, as PySpark's own _test() does")
    ap.add_argument("--root", help="fastrdd checkout to test (default /work/main, or $FASTRDD_ROOT)")
    ap.add_argument("--snapshot", action="store_true",
                    help="test the last commit of the checkout, not its working tree: "
                         "`git archive HEAD` into snapshot/ plus the checkout's built *.so files "
                         "(a consistent run while someone is editing)")
    ap.add_argument("--report-only", action="store_true",
                    help="rewrite report.md from results.json without running anything")
    ap.add_argument("--list", action="store_true", help="list the members and exit")
    ap.add_argument("--fresh", action="store_true", help="forget earlier results")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--results-path", help=argparse.SUPPRESS)
    ap.add_argument("names", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.hashseed == "random":
        args.hashseed = None

    if args.no_normalize_whitespace:
        os.environ["CONFORMANCE_NO_NORMALIZE_WHITESPACE"] = "1"
    if args.child:
        child_main(args.child, args.names, args.timeout, args.results_path)
        return

    global FASTRDD_ROOT
    if args.root:
        FASTRDD_ROOT = os.path.abspath(args.root)
    if args.snapshot:
        FASTRDD_ROOT = make_snapshot(FASTRDD_ROOT)
    os.environ["FASTRDD_ROOT"] = FASTRDD_ROOT
    root = pyspark_root()
    items = extract(root)
    checklist = load_checklist()
    if args.list:
        for it in items:
            print("%-45s %s:%d%s" % (it["name"], it["file"], it["line"],
                                     "  (J: skipped)" if is_j(it["name"], checklist) else ""))
        return
    selected = items
    if args.only:
        selected = [it for it in items if any(fnmatch.fnmatchcase(it["name"], p) for p in args.only)]
        unknown = [p for p in args.only
                   if not any(fnmatch.fnmatchcase(it["name"], p) for it in items)]
        if unknown:
            print("no docstring with examples matches: %s (see --list)" % ", ".join(unknown),
                  file=sys.stderr)
    ok, build_info = check_build()
    if not ok:
        build_info = ("FAILED: `import fastrdd._shuffle` does not work (compiled parts not built "
                      "in place?):\n\n```\n%s\n```" % build_info[-1500:])
        print(build_info, file=sys.stderr)
    else:
        build_info = "`import fastrdd._shuffle, fastrdd._serde` ok"
    results = {}
    if os.path.exists(RESULTS) and not args.fresh:
        results = json.load(open(RESULTS))
    results.setdefault("__modules__", {})
    stamp = time.strftime("%m-%d %H:%M")
    by_module = {}
    if args.report_only:
        selected = []
    for it in selected:
        if is_j(it["name"], checklist):
            results[it["name"]] = dict(name=it["name"], status="SKIP", run_at=stamp,
                                       reason="J member")
            continue
        by_module.setdefault(it["file"], []).append(it["name"])
    if by_module:
        results["__run__"] = dict(
            root=FASTRDD_ROOT, state=git_state(), build=build_info, timeout=args.timeout,
            hashseed=args.hashseed,
            flags="ELLIPSIS only" if args.no_normalize_whitespace
            else "ELLIPSIS | NORMALIZE_WHITESPACE")
    for rel, names in by_module.items():
        if not args.quiet:
            print("%s (%d members)" % (rel, len(names)), flush=True)
        res, notes = run_module(rel, names, args.timeout, not args.quiet, args.hashseed)
        for nm, r in res.items():
            r["run_at"] = stamp
            results[nm] = r
        results["__modules__"][rel] = notes
        with open(RESULTS, "w") as f:
            json.dump(results, f, indent=1)
    appendix = fastrdd_presence(checklist_queries(checklist, items))
    with open(RESULTS, "w") as f:
        json.dump(results, f, indent=1)
    counts = write_report(items, results, checklist, root, appendix)
    print("report: %s  (%s)" % (REPORT, ", ".join("%s %d" % kv for kv in sorted(counts.items()))))


if __name__ == "__main__":
    main()

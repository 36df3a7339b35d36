"""Shared fixtures: one SparkContext per implementation for the whole session.

``sc`` is parametrised over the compiled hot paths and their pure-Python
twins (workers started with FASTRDD_PUREPYTHON=1), so every engine test
runs against both.  Tests that need a context of their own (other masters,
fault injection, stop()) create it and must stop it.
"""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run slow tests")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: use --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def executors(sc):
    """The live executors of a context, as its backend reports them (ExecutorInfo)."""
    return list(sc._backend.executors().values())


def kill_executor(pid):
    """SIGKILL a local worker process and wait until the driver (this process) can reap it.

    A zombie in /proc is not enough: the leader of a process whose other
    threads are still exiting shows "Z" before waitpid() can return it, and
    a job started then would send a task to it (counting as that task's
    crash, see ``ExecutorLost.by_task``) instead of seeing an idle worker gone.
    """
    import signal
    import time

    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return
        except ChildProcessError:  # reaped already
            return
        time.sleep(0.005)
    raise AssertionError(f"worker {pid} still alive 10 s after SIGKILL")


def make_context(master="local[2]", app="test", pure=False, **conf):
    from fastrdd import SparkConf, SparkContext

    c = SparkConf().setMaster(master).setAppName(app)
    if pure:
        c.set("fastrdd.purepython", "1")
    for key, value in conf.items():
        c.set(key.replace("_", "."), value)
    return SparkContext(conf=c)


_contexts = {}


def _shared(impl):
    """A session-wide context for ``impl``; only one may be active, so swap."""
    from fastrdd import SparkContext

    active = SparkContext._active_spark_context
    cached = _contexts.get(impl)
    if cached is not None and cached is active:
        return cached
    if active is not None:
        active.stop()
    _contexts[impl] = make_context(app=f"shared-{impl}", pure=(impl == "pure"))
    return _contexts[impl]


@pytest.fixture(params=["compiled", "pure"])
def sc(request):
    return _shared(request.param)


@pytest.fixture(scope="module", params=["compiled", "pure"])
def iterators(request):
    """``fastrdd._core.iterators``, compiled and its twin: the same tests run on both."""
    from fastrdd._impl import ITERATORS_API, load

    module = load("fastrdd._core.iterators", "fastrdd._core.iterators_py", ITERATORS_API,
                  pure=request.param == "pure")
    if request.param == "compiled" and module.__name__.endswith("_py"):
        pytest.fail("fastrdd._core.iterators is not built")
    return module


@pytest.fixture
def fresh():
    """A factory for private contexts, stopped after the test."""
    from fastrdd import SparkContext

    made = []

    def factory(*args, **kwargs):
        active = SparkContext._active_spark_context
        if active is not None:
            active.stop()
        ctx = make_context(*args, **kwargs)
        made.append(ctx)
        return ctx

    yield factory
    for ctx in made:
        ctx.stop()


@pytest.fixture(autouse=True)
def _doctest_context(doctest_namespace):
    from fastrdd import StorageLevel

    doctest_namespace["StorageLevel"] = StorageLevel
    doctest_namespace["sc"] = _LazyContext()


class _LazyContext:
    """Resolves to the shared compiled context when a doctest first uses it."""

    def __getattr__(self, name):
        return getattr(_shared("compiled"), name)


def pytest_sessionfinish(session, exitstatus):
    for ctx in _contexts.values():
        ctx.stop()

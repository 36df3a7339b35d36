"""Broadcast variables and accumulators, with real workers."""
import os

import pytest

from fastrdd import AccumulatorParam, TaskContext


def test_broadcast_value_is_shipped_once_per_worker(sc, tmp_path):
    big = list(range(200_000))
    b = sc.broadcast(big)
    loads = sc.parallelize(range(20), 20).map(lambda x: (os.getpid(), len(b.value))).collect()
    assert {n for _, n in loads} == {200_000}
    # the value goes through a file, not through every task message
    assert os.path.exists(b._manager.path(b._bid))
    from fastrdd.scheduler.closure import dumps_stage
    assert len(dumps_stage(b)) < 1000


def test_broadcast_unpersist_and_destroy(sc):
    b = sc.broadcast({"k": 1})
    rdd = sc.parallelize([1, 2], 2).map(lambda x: b.value["k"] + x)
    assert rdd.collect() == [2, 3]
    b.unpersist()
    assert rdd.collect() == [2, 3]  # reloaded after unpersist
    b.destroy()
    with pytest.raises(RuntimeError, match="destroyed"):
        b.value
    with pytest.raises(Exception, match="destroyed"):
        rdd.collect()


def test_accumulators_count_each_partition_once_despite_retries(fresh):
    sc = fresh("local[2,4]")
    acc = sc.accumulator(0)

    def flaky(x):
        acc.add(x)
        if TaskContext.get().attemptNumber() == 0 and x == 3:
            raise RuntimeError("first attempt fails after adding")
        return x

    assert sc.parallelize(range(10), 5).map(flaky).count() == 10
    assert acc.value == sum(range(10))


def test_accumulator_types_and_custom_param(sc):
    f = sc.accumulator(0.5)
    sc.parallelize([1.0, 2.0]).foreach(lambda x: f.add(x))
    assert f.value == 3.5

    class SetParam(AccumulatorParam):
        def zero(self, value):
            return set()

        def addInPlace(self, a, b):
            a |= b if isinstance(b, set) else {b}
            return a

    s = sc.accumulator(set(), SetParam())
    sc.parallelize(["a", "b", "a"], 3).foreach(lambda x: s.add(x))
    assert s.value == {"a", "b"}
    with pytest.raises(TypeError, match="No default accumulator param"):
        sc.accumulator("text")


def test_reading_accumulator_value_in_task_fails(sc):
    acc = sc.accumulator(0)
    with pytest.raises(RuntimeError, match="cannot be accessed inside tasks"):
        sc.parallelize([1]).map(lambda x: acc.value).collect()


def test_module_function_redefined_between_jobs_uses_current_definition(sc, tmp_path):
    script = tmp_path / "redefine.py"
    script.write_text(
        "import sys\n"
        "sys.path.insert(0, %r)\n"
        "from fastrdd import SparkContext\n"
        "sc = SparkContext('local[2]', 'redefine')\n"
        "def f(x):\n    return 1\n"
        "first = sc.parallelize(range(4), 2).map(f).collect()\n"
        "def f(x):\n    return 2\n"
        "second = sc.parallelize(range(4), 2).map(f).collect()\n"
        "print(first, second)\n"
        "sc.stop()\n" % os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import subprocess
    import sys

    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[1, 1, 1, 1] [2, 2, 2, 2]", out.stderr

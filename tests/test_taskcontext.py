"""TaskContext and BarrierTaskContext as PySpark's own tests use them.

Expected values were checked against PySpark 4.3 (test_taskcontext.py,
test_rddbarrier.py and the same calls on its driver).
"""
import pickle

import pytest

from fastrdd import BarrierTaskContext, TaskContext


@pytest.fixture
def driver_context():
    """Undo the empty context that ``TaskContext()`` leaves on the driver, as PySpark's does."""
    TaskContext._set(None)
    yield
    TaskContext._set(None)


def test_constructor_in_a_task_is_the_running_context(sc):
    rdd = sc.parallelize(range(10), 2)
    stage1 = rdd.map(lambda x: TaskContext.get().stageId()).take(1)[0]
    stage2 = rdd.map(lambda x: TaskContext().stageId()).take(1)[0]
    assert stage2 == stage1 + 1
    seen = rdd.map(lambda x: (TaskContext().partitionId(), TaskContext().attemptNumber(),
                              TaskContext() is TaskContext.get(),
                              type(TaskContext()).__name__)).collect()
    assert seen[0] == (0, 0, True, "TaskContext") and seen[9] == (1, 0, True, "TaskContext")
    assert rdd.map(lambda x: TaskContext().resources()).take(1) == [{}]
    sc.setLocalProperty("testkey", "testvalue")
    try:
        assert sc.parallelize([0], 1).map(
            lambda _: TaskContext().getLocalProperty("testkey")).collect() == ["testvalue"]
    finally:
        sc.setLocalProperty("testkey", None)


def test_constructor_in_a_retried_task_sees_the_attempt(fresh):
    sc = fresh("local[2,2]")

    def fail_first(x):
        if TaskContext().attemptNumber() == 0 and TaskContext().partitionId() == 0:
            raise RuntimeError("first attempt")
        return TaskContext().partitionId(), TaskContext().attemptNumber()

    assert sc.parallelize(range(4), 2).map(fail_first).collect() == [(0, 1), (0, 1), (1, 0), (1, 0)]


def test_constructor_in_a_barrier_task_is_the_barrier_context(sc):
    kinds = sc.parallelize(range(4), 2).barrier().mapPartitions(
        lambda it: [type(TaskContext()).__name__, type(BarrierTaskContext()).__name__]).collect()
    assert kinds == ["BarrierTaskContext"] * 4


def test_constructor_on_the_driver_makes_an_empty_current_context(driver_context):
    assert TaskContext.get() is None
    context = TaskContext()
    assert (context.stageId(), context.partitionId(), context.attemptNumber(),
            context.taskAttemptId(), context.resources(), context.cpus()) == (None,) * 6
    assert TaskContext.get() is context and TaskContext() is context  # PySpark keeps it
    with pytest.raises(RuntimeError, match="NOT_IN_BARRIER_STAGE"):
        BarrierTaskContext.get()


def test_a_context_returned_by_a_task_is_a_copy(sc, driver_context):
    sc.setLocalProperty("key1", "value")
    try:
        context = sc.parallelize([1], 1).map(lambda _: TaskContext.get()).first()
    finally:
        sc.setLocalProperty("key1", None)
    assert context.getLocalProperty("key1") == "value" and context.partitionId() == 0
    assert TaskContext.get() is None  # unpickling did not install it on the driver
    assert pickle.loads(pickle.dumps(context)).stageId() == context.stageId()


def test_barrier_context_outside_a_barrier_stage_raises(sc, driver_context):
    with pytest.raises(RuntimeError) as info:
        BarrierTaskContext.get()
    assert str(info.value) == "[NOT_IN_BARRIER_STAGE] It is not in a barrier stage."
    with pytest.raises(RuntimeError, match=r"\[NOT_IN_BARRIER_STAGE\] It is not in a barrier stage"):
        sc.parallelize([1], 1).map(lambda _: BarrierTaskContext.get()).collect()


def test_is_barrier(sc):
    rdd = sc.parallelize(range(12), 2)  # PySpark's test has 4; local[2] runs 2 at once
    barrier = rdd.barrier().mapPartitions(lambda it: it)
    indexed = rdd.barrier().mapPartitionsWithIndex(lambda index, it: [index])
    assert not rdd._is_barrier()
    assert barrier._is_barrier() and indexed._is_barrier()
    assert indexed.collect() == [0, 1]
    # the barrier mode reaches every RDD of the stage, up to a shuffle (Spark's isBarrier)
    assert barrier.map(lambda x: x)._is_barrier()
    assert barrier.cache().map(lambda x: x)._is_barrier()
    assert sc.union([barrier, rdd])._is_barrier() and barrier.coalesce(1)._is_barrier()
    assert not barrier.map(lambda x: (x, x)).reduceByKey(max).map(lambda x: x)._is_barrier()

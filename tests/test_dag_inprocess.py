"""The DAG scheduler driven without worker processes, through the backend contract.

The ``inprocess`` master runs tasks on the driver's thread; subclasses of
its backend below inject what a real transport could do at the worst
moment (a late out-of-turn message, a worker lost mid-stage).
"""
import threading

import pytest

from fastrdd import SparkConf, SparkContext, protocol
from fastrdd.errors import TaskExitError, WorkerLostError
from fastrdd.local.inprocess import InProcessBackend
from fastrdd.scheduler import events
from fastrdd.scheduler.backend import SchedulerBackend


@pytest.fixture
def inprocess():
    """A factory: a SparkContext on an in-process backend of the given class."""
    made = []

    def factory(backend_cls=InProcessBackend, workers=2):
        active = SparkContext._active_spark_context
        if active is not None:
            active.stop()
        import fastrdd.masters as masters

        original = masters.create_backend

        def create(master, conf, app_dir, env, spill_roots=()):
            return backend_cls(master.workers, app_dir, masters.worker_settings(conf, master.workers))

        masters.create_backend = create
        try:
            sc = SparkContext(conf=SparkConf().setMaster(f"inprocess[{workers}]").setAppName("dag"))
        finally:
            masters.create_backend = original
        made.append(sc)
        return sc

    yield factory
    for sc in made:
        sc.stop()


def test_both_transports_implement_the_contract():
    from fastrdd.local.backend import LocalBackend

    for cls in (LocalBackend, InProcessBackend):
        assert issubclass(cls, SchedulerBackend)
        assert not cls.__abstractmethods__


def test_inprocess_master_runs_tasks_on_the_driver_thread(fresh):
    sc = fresh("inprocess[2]")
    here = threading.get_ident()
    assert sc.parallelize(range(4), 2).map(lambda _: threading.get_ident()).collect() == [here] * 4
    words = sc.parallelize(["a b", "b c", "c c"], 2).flatMap(str.split)
    assert sorted(words.map(lambda w: (w, 1)).reduceByKey(lambda a, b: a + b).collect()) == \
        [("a", 1), ("b", 2), ("c", 3)]
    cached = sc.parallelize(range(10), 3).map(lambda x: x * x).cache()
    assert cached.sum() == 285 and cached.count() == 10
    left = sc.parallelize([(1, "a"), (2, "b")])
    assert sorted(left.join(sc.parallelize([(1, "x")])).collect()) == [(1, ("a", "x"))]
    acc = sc.accumulator(0)
    sc.parallelize(range(5), 2).foreach(lambda x: acc.add(x))
    assert acc.value == 10
    b = sc.broadcast({"k": 7})
    assert sc.parallelize([1], 1).map(lambda _: b.value["k"]).collect() == [7]


class LateAcks(InProcessBackend):
    """Before each task's report, an Unpersisted whose rdd id equals the task id."""

    def send(self, executor_id, message):
        if type(message) is protocol.RunTask:
            self.deliver(executor_id, protocol.Unpersisted(message.task_id))
        return super().send(executor_id, message)


def test_an_out_of_turn_message_is_never_read_as_a_task_result(inprocess):
    sc = inprocess(LateAcks)
    assert sc.parallelize(range(100), 8).map(lambda x: x + 1).collect() == list(range(1, 101))
    pairs = sc.parallelize([(i % 3, i) for i in range(30)], 4)
    assert sorted(pairs.reduceByKey(lambda a, b: a + b).collect()) == [(0, 135), (1, 145), (2, 155)]


class LoseOnce(InProcessBackend):
    """The executor given split 1's first attempt vanishes instead of running it."""

    lost = False

    def send(self, executor_id, message):
        if type(message) is protocol.RunTask and message.split == 1 and not LoseOnce.lost:
            LoseOnce.lost = True
            self.lose(executor_id, "it vanished (test)")
            return True
        return super().send(executor_id, message)


def test_a_worker_lost_mid_stage_is_replaced_and_its_task_rerun(inprocess):
    LoseOnce.lost = False
    sc = inprocess(LoseOnce)
    seen = []
    sc._scheduler.bus.add_listener(seen.append)
    before = {int(e.executorId) for e in sc.statusTracker().getExecutorInfos()}
    assert sc.parallelize(range(40), 4).map(lambda x: 2 * x).sum() == 2 * sum(range(40))
    after = {int(e.executorId) for e in sc.statusTracker().getExecutorInfos()}
    assert len(after) == 2 and after != before
    lost = [e for e in seen if type(e) is events.WorkerLost]
    assert [e.reason for e in lost] == ["it vanished (test)"]
    ends = [e for e in seen if type(e) is events.TaskEnd]
    assert sorted(e.status for e in ends) == ["LOST"] + ["SUCCESS"] * 4
    stage = [e for e in seen if type(e) is events.StageSubmitted][0].stage_id
    info = sc.statusTracker().getStageInfo(stage)
    assert (info.numCompletedTasks, info.numFailedTasks, info.numActiveTasks) == (4, 1, 0)


class CrashOnce(InProcessBackend):
    """The executor given split 1's first attempt is lost as a crashed local process is."""

    crashed = False

    def send(self, executor_id, message):
        if type(message) is protocol.RunTask and message.split == 1 and not CrashOnce.crashed:
            CrashOnce.crashed = True
            self.lose(executor_id, "process 99 exited unexpectedly (crashed) with exit code 3",
                      by_task=True)
            return True
        return super().send(executor_id, message)


@pytest.mark.parametrize("attempts", [1, 2])
def test_a_worker_its_task_crashed_counts_as_a_failure_of_the_task(inprocess, attempts):
    """Not re-run for free (``max_worker_losses``): only as many attempts as the master allows."""
    CrashOnce.crashed = False
    sc = inprocess(CrashOnce)
    sc._scheduler.max_failures = attempts
    doubled = sc.parallelize(range(40), 4).map(lambda x: 2 * x)
    if attempts == 1:
        with pytest.raises(WorkerLostError, match=r"partition 1 of stage \d+ failed 1 time\(s\); "
                           r"the last time its worker \d+ was lost while running it: process 99 "
                           r"exited unexpectedly \(crashed\) with exit code 3"):
            doubled.sum()
    else:
        assert doubled.sum() == 2 * sum(range(40))
    assert CrashOnce.crashed
    assert sc.parallelize(range(10), 2).sum() == 45
    assert len(sc._scheduler.executors) == 2


def test_sys_exit_and_keyboard_interrupt_on_the_driver_thread(fresh):
    """sys.exit() in a task fails the job, not the driver; a KeyboardInterrupt stays one (Ctrl-C)."""
    import sys

    sc = fresh("inprocess[2]")

    def leave(x):
        if x == 3:
            sys.exit(2)
        return x

    with pytest.raises(TaskExitError, match=r"partition 1 of stage \d+ raised SystemExit\(2\)") as info:
        sc.parallelize(range(6), 3).map(leave).collect()
    assert info.value.code == 2 and "SystemExit: 2" in str(info.value.__cause__)

    def interrupt(x):
        if x == 3:
            raise KeyboardInterrupt
        return x

    with pytest.raises(KeyboardInterrupt) as info:
        sc.parallelize(range(6), 3).map(interrupt).collect()
    assert "partition 1 of stage" in "".join(info.value.__notes__)
    assert sc.parallelize(range(6), 3).map(lambda x: x + 1).collect() == list(range(1, 7))


def test_lost_map_outputs_are_recomputed_from_lineage(inprocess):
    sc = inprocess()
    sums = sc.parallelize([(i % 5, i) for i in range(50)], 4).reduceByKey(lambda a, b: a + b, 2)
    expected = sorted(sums.collect())
    holders = list(sc._scheduler.map_outputs[sums._shuffle_dep.shuffle_id])
    victim = holders[0]
    sc._backend.lose(victim)
    seen = []
    sc._scheduler.bus.add_listener(seen.append)
    assert sorted(sums.collect()) == expected
    map_stages = [e for e in seen if type(e) is events.StageSubmitted and e.kind == "map"]
    # only the lost worker's map outputs are computed again
    assert [e.num_tasks for e in map_stages] == [holders.count(victim)]
    assert 0 < holders.count(victim) < len(holders)


def test_events_arrive_in_order_and_a_broken_listener_is_dropped(inprocess, capsys):
    sc = inprocess()
    seen = []

    def broken(event):
        raise RuntimeError("listener bug")

    sc._scheduler.bus.add_listener(broken)
    sc._scheduler.bus.add_listener(seen.append)
    assert sc.parallelize(range(6), 3).map(lambda x: (x % 2, x)).groupByKey().count() == 2
    kinds = [type(e).__name__ for e in seen]
    assert kinds[0] == "JobStart" and kinds[-1] == "JobEnd"
    assert kinds.count("StageSubmitted") == kinds.count("StageCompleted") == 2
    assert kinds.count("TaskStart") == kinds.count("TaskEnd") == 3 + 3
    assert seen[-1].status == "SUCCEEDED"
    assert "listener bug" in capsys.readouterr().err
    assert sc.parallelize([1]).count() == 1  # the job did not fail, the listener is gone


def test_a_barrier_stage_is_refused_where_tasks_run_one_at_a_time(fresh):
    sc = fresh("inprocess[2]")
    with pytest.raises(Exception, match="runs one task at a time"):
        sc.parallelize(range(4), 2).barrier().mapPartitions(lambda it: it).collect()
    assert sc.parallelize(range(4), 1).barrier().mapPartitions(lambda it: it).collect() == [0, 1, 2, 3]

"""Fault tolerance with real worker processes: kills, crashes, hangs, user errors."""
import os
import signal
import traceback

import pytest

from fastrdd import TaskContext
from conftest import executors, kill_executor


def die_once(flag, how):
    """A map function that kills its own worker the first time it sees 5."""
    def f(x):
        if x == 5 and not os.path.exists(flag):
            open(flag, "w").close()
            if how == "sigkill":
                os.kill(os.getpid(), signal.SIGKILL)
            elif how == "exit":
                os._exit(7)
            elif how == "segfault":
                import ctypes

                ctypes.string_at(0)
            elif how == "hang":
                os.kill(os.getpid(), signal.SIGSTOP)
        return x
    return f


@pytest.mark.parametrize("how", ["sigkill", "exit", "segfault"])
def test_dead_worker_is_replaced_and_tasks_retried(fresh, tmp_path, how):
    sc = fresh("local[2,2]")  # a crash counts as a failure of its task: allow a second attempt
    pids = {e.pid for e in executors(sc)}
    rdd = sc.parallelize(range(20), 5).map(die_once(str(tmp_path / "flag"), how))
    assert rdd.sum() == sum(range(20))
    assert len(executors(sc)) == 2
    assert {e.pid for e in executors(sc)} != pids
    assert {int(i.pid) for i in sc.statusTracker().getExecutorInfos()} == {e.pid for e in executors(sc)}
    assert sc.parallelize(range(10), 4).count() == 10


def test_hung_worker_times_out_and_is_replaced(fresh, tmp_path):
    sc = fresh("local[2,2]", fastrdd_worker_timeout="3")
    rdd = sc.parallelize(range(20), 5).map(die_once(str(tmp_path / "flag"), "hang"))
    assert rdd.collect() == list(range(20))


def marker_map(directory):
    """Identity that leaves one file per computed partition (to count recomputation)."""
    def f(split, iterator):
        open(os.path.join(directory, f"{split}-{os.getpid()}-{os.urandom(4).hex()}"), "w").close()
        return iterator
    return f


def test_lost_cached_partitions_are_recomputed_only(fresh, tmp_path):
    sc = fresh("local[2]")
    rdd = sc.parallelize(range(40), 8).mapPartitionsWithIndex(marker_map(str(tmp_path))).cache()
    assert rdd.count() == 40
    assert len(os.listdir(tmp_path)) == 8
    assert rdd.count() == 40
    assert len(os.listdir(tmp_path)) == 8  # served from cache
    victim = executors(sc)[0]
    held = [k for k, w in sc._scheduler.cache_locs.items() if w == victim.executor_id]
    assert held
    kill_executor(victim.pid)
    assert sorted(rdd.collect()) == list(range(40))
    assert len(os.listdir(tmp_path)) == 8 + len(held)


def test_lost_map_outputs_are_recomputed_only(fresh, tmp_path):
    sc = fresh("local[2]")
    pairs = sc.parallelize([(i % 7, i) for i in range(70)], 6)
    summed = pairs.mapPartitionsWithIndex(marker_map(str(tmp_path))).reduceByKey(lambda a, b: a + b, 3)
    expected = sorted(summed.collect())
    assert len(os.listdir(tmp_path)) == 6
    stages = sc._scheduler.stage_count
    assert sorted(summed.mapValues(lambda v: v).collect()) == expected
    assert sc._scheduler.stage_count == stages + 1  # map stage skipped
    victim = executors(sc)[0]
    lost = sum(w == victim.executor_id
               for w in sc._scheduler.map_outputs[summed._shuffle_dep.shuffle_id])
    kill_executor(victim.pid)
    assert sorted(summed.collect()) == expected
    assert len(os.listdir(tmp_path)) == 6 + lost


def test_worker_dying_in_reduce_stage_gives_exact_result(fresh, tmp_path):
    sc = fresh("local[2,2]")
    data = [(i % 11, 1) for i in range(500)]
    counts = sc.parallelize(data, 8).reduceByKey(lambda a, b: a + b, 4)
    flag = str(tmp_path / "flag")

    def die_in_reduce(kv):
        if kv[0] == 5 and not os.path.exists(flag):
            open(flag, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        return kv

    assert sorted(counts.map(die_in_reduce).collect()) == sorted(
        (k, sum(1 for x, _ in data if x == k)) for k in range(11))
    assert os.path.exists(flag)


def failing(x):
    if x == 3:
        raise ZeroDivisionError("the user's own failure")  # LINE-MARK
    return x


def test_user_exception_keeps_type_message_and_worker_traceback(fresh):
    sc = fresh("local[2]")
    with pytest.raises(ZeroDivisionError, match="the user's own failure") as info:
        sc.parallelize(range(6), 3).map(failing).collect()
    cause = info.value.__cause__
    text = str(cause)
    with open(__file__) as source:
        line = next(i for i, l in enumerate(source, 1) if "LINE-MARK" in l)
    assert f'{__file__}", line {line}' in text and "in failing" in text
    assert "task" in "".join(traceback.format_exception(info.value))
    # the user's frame is a real frame of the exception's own traceback (tblib), so a
    # debugger or a notebook shows the source line; the engine's frames are left out
    frames = traceback.extract_tb(info.value.__traceback__)
    assert (frames[-1].filename, frames[-1].lineno, frames[-1].name) == (__file__, line, "failing")
    remote = frames[[f.name for f in frames].index("execute") + 1:]  # the worker's part
    assert remote and not any(os.sep + "fastrdd" + os.sep in f.filename for f in remote)
    notes = "".join(getattr(info.value, "__notes__", []))
    assert "partition 1 of stage" in notes and "attempt 0" in notes
    # the context stays usable
    assert sc.parallelize(range(6), 3).count() == 6


def test_engine_frames_shown_when_asked(fresh):
    sc = fresh("local[2]", fastrdd_traceback_engineFrames="true")
    with pytest.raises(ZeroDivisionError) as info:
        sc.parallelize(range(6), 3).map(failing).collect()
    frames = traceback.extract_tb(info.value.__traceback__)
    remote = frames[[f.name for f in frames].index("execute") + 1:]
    assert any(os.sep + "fastrdd" + os.sep in f.filename for f in remote)
    assert remote[-1].name == "failing"


def test_task_retried_up_to_max_failures(fresh):
    sc = fresh("local[2,3]")

    def flaky(x):
        if TaskContext.get().attemptNumber() < 2:
            raise RuntimeError("transient")
        return x

    assert sc.parallelize(range(4), 2).map(flaky).collect() == [0, 1, 2, 3]

    def always(x):
        raise KeyError("permanent")

    with pytest.raises(KeyError, match="permanent") as info:
        sc.parallelize([1], 1).map(always).collect()
    assert "failed 3 time(s)" in "".join(traceback.format_exception(info.value))


def test_unpicklable_exception_still_reported(fresh):
    sc = fresh("local[1]")

    class Weird(Exception):
        def __init__(self, a, b):
            super().__init__(a)
            self.lock = __import__("threading").Lock()

    def boom(x):
        raise Weird("weird failure", 2)

    with pytest.raises(Exception, match="weird failure"):
        sc.parallelize([1]).map(boom).collect()


def test_task_context_inside_and_outside_tasks(sc):
    assert TaskContext.get() is None
    info = sc.parallelize(range(4), 4).map(
        lambda x: (TaskContext.get().partitionId(), TaskContext.get().attemptNumber())).collect()
    assert info == [(0, 0), (1, 0), (2, 0), (3, 0)]


def test_cached_shuffle_output_lost_with_its_map_outputs(fresh):
    """A cached reduce-side RDD whose worker dies while idle: recomputed through the shuffle."""
    sc = fresh("local[2]")
    totals = sc.parallelize([(i % 5, 1) for i in range(100)], 4).reduceByKey(lambda a, b: a + b, 4).cache()
    expected = sorted(totals.collect())
    for executor in executors(sc):
        kill_executor(executor.pid)
    assert sorted(totals.map(lambda kv: kv).collect()) == expected


@pytest.mark.parametrize("level", ["MEMORY_ONLY_2", "MEMORY_AND_DISK_2", "DISK_ONLY_2"])
def test_replicated_blocks_survive_their_first_holder(fresh, tmp_path, level):
    """A ``_2`` level keeps a second copy on another worker: a lost holder costs no recompute."""
    from fastrdd import StorageLevel

    sc = fresh("local[3]")
    rdd = sc.parallelize(range(60), 6).mapPartitionsWithIndex(marker_map(str(tmp_path)))
    rdd.persist(getattr(StorageLevel, level))
    assert rdd.count() == 60
    assert len(os.listdir(tmp_path)) == 6
    sched = sc._scheduler
    keys = [(rdd.id(), s) for s in range(6)]
    assert all(sched.replica_locs[k] != sched.cache_locs[k] for k in keys)
    victim = sched.cache_locs[keys[0]]
    kill_executor(sched.executors[victim].info.pid)
    assert sorted(rdd.collect()) == list(range(60))
    assert len(os.listdir(tmp_path)) == 6  # served by the copies, nothing recomputed
    assert victim not in sched.cache_locs.values()
    rdd.unpersist(blocking=True)
    assert not any(k[0] == rdd.id() for k in sched.replica_locs)


def crash_at_5(how, directory=None):
    """A map function whose task kills its own worker, every attempt."""
    def f(x):
        if x == 5:
            if directory is not None:  # one file per attempt
                open(os.path.join(directory, str(os.getpid())), "w").close()
            if how == "sigkill":
                os.kill(os.getpid(), signal.SIGKILL)
            elif how == "exit":
                os._exit(3)
            else:
                import ctypes

                ctypes.string_at(0)
        return x
    return f


def assert_reaped(pids):
    """No worker process left running, nor a zombie: each was waited for."""
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            continue
        raise AssertionError(f"worker process {pid} is still there (state {state})")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("how, status", [("exit", "with exit code 3"), ("segfault", "killed by SIGSEGV"),
                                         ("sigkill", "killed by SIGKILL")])
def test_a_task_that_kills_its_worker_fails_the_job(fresh, how, status):
    """Under local[N] (one attempt per task, as PySpark's), a crash fails the job at once."""
    import re
    import time

    from fastrdd.errors import WorkerLostError

    sc = fresh("local[2]")
    before = {e.pid for e in executors(sc)}
    started = time.monotonic()
    with pytest.raises(WorkerLostError) as info:
        sc.parallelize(range(20), 5).map(crash_at_5(how)).collect()
    assert time.monotonic() - started < 20
    message = str(info.value)
    assert re.search(r"partition 1 of stage \d+ failed 1 time\(s\)", message), message
    assert f"exited unexpectedly (crashed) {status}" in message or \
        f"exited unexpectedly (crashed): {status}" in message, message
    crashed = int(re.search(r"process (\d+) exited", message).group(1))
    assert crashed in before
    # the pool replaced it; the same context runs the next job
    assert sc.parallelize(range(20), 5).map(lambda x: x * 2).sum() == 2 * sum(range(20))
    after = {e.pid for e in executors(sc)}
    assert len(after) == 2 and crashed not in after
    assert_reaped([crashed])
    sc.stop()
    assert_reaped(before | after)


@pytest.mark.timeout(60)
def test_a_crashing_task_gets_the_attempts_of_local_n_f(fresh, tmp_path):
    from fastrdd.errors import WorkerLostError

    sc = fresh("local[2,3]")
    with pytest.raises(WorkerLostError, match=r"partition 1 of stage \d+ failed 3 time\(s\)"):
        sc.parallelize(range(20), 5).map(crash_at_5("exit", str(tmp_path))).collect()
    assert len(os.listdir(tmp_path)) == 3  # three attempts, each on a new worker
    assert sc.parallelize(range(4), 2).collect() == [0, 1, 2, 3]


def leave_at_3(how):
    """A map function that ends its task the way the user asks, at 3."""
    import sys

    def f(x):
        if x == 3:
            if how == "sys.exit(2)":
                sys.exit(2)
            elif how == "exit()":
                exit()
            elif how == "quit('bye')":
                quit("bye")
            else:
                raise KeyboardInterrupt
        return x
    return f


@pytest.mark.timeout(60)
@pytest.mark.parametrize("how, exit_type, code", [("sys.exit(2)", "SystemExit", 2),
                                                  ("exit()", "SystemExit", None),
                                                  ("quit('bye')", "SystemExit", "bye"),
                                                  ("KeyboardInterrupt", "KeyboardInterrupt", None)])
def test_sys_exit_or_keyboard_interrupt_in_a_task_fails_the_job_not_the_worker(fresh, how,
                                                                              exit_type, code):
    """The task fails with its traceback (as PySpark's); the driver goes on, the worker too."""
    import re

    from fastrdd.errors import TaskExitError

    sc = fresh("local[2]")
    before = {e.pid for e in executors(sc)}
    with pytest.raises(TaskExitError) as info:
        sc.parallelize(range(6), 3).map(leave_at_3(how)).collect()
    error = info.value
    assert isinstance(error, Exception)  # never SystemExit in the driver: it would end it
    assert re.match(rf"partition 1 of stage \d+ raised {exit_type}", str(error)), str(error)
    assert (error.exit_type, error.code) == (exit_type, code)
    assert exit_type in str(error.__cause__) and "in f" in str(error.__cause__)  # worker traceback
    assert sc.parallelize(range(6), 3).map(lambda x: x + 1).collect() == list(range(1, 7))
    assert {e.pid for e in executors(sc)} == before  # no worker ended
    sc.stop()
    assert_reaped(before)

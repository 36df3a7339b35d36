"""Job groups, tags, cancellation from another thread, the status tracker, local properties."""
import threading
import time

import pytest

from fastrdd import TaskContext
from fastrdd.errors import JobCancelledError


def slow(x):
    time.sleep(30)
    return x


def wait_for_active_job(sc, timeout=20):
    """Until a job is registered and running (cancelling earlier would find nothing)."""
    deadline = time.monotonic() + timeout
    while not sc.statusTracker().getActiveStageIds() and time.monotonic() < deadline:
        time.sleep(0.05)


def run_in_thread(sc, setup, job, out):
    def target():
        setup()
        try:
            out.append(job())
        except Exception as e:
            out.append(e)
    t = threading.Thread(target=target)
    t.start()
    return t


def test_cancel_group_stops_its_tasks_and_leaves_other_jobs(fresh):
    sc = fresh("local[2]")
    doomed, other = [], []
    started = time.monotonic()
    a = run_in_thread(sc, lambda: sc.setJobGroup("g1", "slow"),
                      lambda: sc.parallelize(range(4), 2).map(slow).count(), doomed)
    wait_for_active_job(sc)
    b = run_in_thread(sc, lambda: sc.setJobGroup("g2", "fine"),
                      lambda: sc.parallelize(range(10), 2).sum(), other)
    sc.cancelJobGroup("g1")
    a.join(20)
    b.join(20)
    assert isinstance(doomed[0], JobCancelledError) and "g1" in str(doomed[0])
    assert other == [45]
    assert time.monotonic() - started < 20  # the sleeping tasks were stopped
    assert sc.parallelize(range(3)).count() == 3


def test_cancel_by_tag_and_all(fresh):
    sc = fresh("local[2]")
    out = []

    def tagged():
        sc.addJobTag("etl")

    t = run_in_thread(sc, tagged, lambda: sc.parallelize(range(2), 2).map(slow).count(), out)
    wait_for_active_job(sc)
    sc.cancelJobsWithTag("etl")
    t.join(20)
    assert isinstance(out[0], JobCancelledError)
    out.clear()
    t = run_in_thread(sc, lambda: None, lambda: sc.parallelize(range(2), 2).map(slow).count(), out)
    wait_for_active_job(sc)
    sc.cancelAllJobs()
    t.join(20)
    assert isinstance(out[0], JobCancelledError)
    with pytest.raises(ValueError):
        sc.addJobTag("a,b")


def test_status_tracker_and_local_properties(sc):
    tracker = sc.statusTracker()
    sc.setJobGroup("watched", "monitoring test")
    sc.setLocalProperty("my.key", "my value")
    try:
        props = sc.parallelize(range(2), 2).map(
            lambda x: TaskContext.get().getLocalProperty("my.key")).collect()
        pairs = sc.parallelize([(1, 1)], 2).reduceByKey(lambda a, b: a + b)
        pairs.count()
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
        sc.setLocalProperty("my.key", None)
    assert props == ["my value", "my value"]
    jobs = tracker.getJobIdsForGroup("watched")
    assert len(jobs) == 2
    info = tracker.getJobInfo(jobs[-1])
    assert info.status == "SUCCEEDED" and len(info.stageIds) == 2
    stage = tracker.getStageInfo(info.stageIds[-1])
    assert stage.numTasks == 2 and stage.numCompletedTasks == 2 and stage.numActiveTasks == 0
    assert tracker.getActiveJobsIds() == [] and tracker.getActiveStageIds() == []
    assert tracker.getJobInfo(10 ** 9) is None
    assert sc.getLocalProperty("my.key") is None


def test_a_jobs_stage_ids_count_its_skipped_stages_as_in_pyspark(fresh):
    sc = fresh("local[2]", spark_ui_port="0")
    rdd = sc.parallelize(range(10)).map(lambda x: (x, x))
    parted = rdd.partitionBy(2)
    tracker = sc.statusTracker()
    counts = {}
    for group, make in [("t1", lambda: parted.join(parted)), ("t2", lambda: parted.join(rdd)),
                        ("t3", lambda: parted.cogroup(parted)),
                        ("t4", lambda: parted.cogroup(rdd)),
                        ("t5", lambda: parted.map(lambda kv: kv).reduceByKey(max).groupByKey())]:
        sc.setJobGroup(group, "test", True)
        assert len(make().collect()) == 10
        (job,) = tracker.getJobIdsForGroup(group)
        counts[group] = len(tracker.getJobInfo(job).stageIds)
        sc.setLocalProperty("spark.jobGroup.id", None)
    # PySpark 4.3 reports 2, 3, 2, 3, 3: partitionBy's map stage, run once, is skipped
    # (yet counted) by the later jobs
    assert counts == {"t1": 2, "t2": 3, "t3": 2, "t4": 3, "t5": 3}
    from fastrdd.ui import api

    (t5,) = tracker.getJobIdsForGroup("t5")
    skipped = api.job(sc._ui_store, t5)["skippedStageIds"]
    assert len(skipped) == 1 and tracker.getStageInfo(skipped[0]).numTasks == 2
    assert [s["status"] for s in api.stages(sc._ui_store, "skipped")].count("SKIPPED") >= 3

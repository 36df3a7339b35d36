"""Bounded-memory shuffles and caches: every spill path forced with tiny limits."""
import os
from collections import Counter, defaultdict
from operator import add

import pytest
from hypothesis import given, settings, strategies as st

from fastrdd import StorageLevel
from fastrdd.errors import OutOfDiskError, SpillCorruptedError
from fastrdd.storage.memory import MemoryMonitor, parse_size
from fastrdd.storage.spill import ExternalGrouper, ExternalMerger, SpillContext, external_sorted, read_run, write_run
from conftest import executors


class Always(MemoryMonitor):
    """A monitor that is always over budget: every check spills."""

    def __init__(self):
        super().__init__(0, rss=lambda: 1, hysteresis=0)


def spill_context(tmp_path):
    return SpillContext(Always(), [str(tmp_path / "a"), str(tmp_path / "b")], fanout=4)


pairs = st.lists(st.tuples(st.integers(-20, 20) | st.text(max_size=3), st.integers(-5, 5)), max_size=300)


@settings(max_examples=30, deadline=None)
@given(data=pairs)
def test_external_merger_matches_dict(tmp_path_factory, data):
    ctx = spill_context(tmp_path_factory.mktemp("m"))
    got = dict(ExternalMerger(add, ctx).add(data).items())
    ref = defaultdict(int)
    for k, v in data:
        ref[k] += v
    assert got == {k: ref[k] for k in ref} or (not data and got == {})
    got2 = dict(ExternalMerger(add, ctx).add_values(data, lambda v: v, add).items())
    assert got2 == got
    ctx.cleanup()
    assert all(not os.listdir(d) for d in ctx.directories if os.path.isdir(d))


@settings(max_examples=30, deadline=None)
@given(data=pairs)
def test_external_grouper_and_sort_match_python(tmp_path_factory, data):
    ctx = spill_context(tmp_path_factory.mktemp("g"))
    got = {k: sorted(v) for k, v in ExternalGrouper(ctx).add((k, [v]) for k, v in data).items()}
    ref = defaultdict(list)
    for k, v in data:
        ref[k].append(v)
    assert got == {k: sorted(v) for k, v in ref.items()}
    values = [v for _, v in data]
    assert list(external_sorted(values, ctx=ctx)) == sorted(values)
    assert list(external_sorted(values, key=lambda x: -x, reverse=True, ctx=ctx)) == sorted(values, key=lambda x: -x, reverse=True)
    ctx.cleanup()


def test_hot_key_values_live_on_disk(tmp_path):
    ctx = spill_context(tmp_path)
    grouper = ExternalGrouper(ctx).add(("hot", list(range(i, i + 500))) for i in range(0, 20000, 500))
    (key, values), = list(grouper.items())
    assert key == "hot" and len(values) == 20000
    assert type(values).__name__ == "DiskList"
    assert sum(values) == sum(range(20000)) and sum(values) == sum(range(20000))  # re-iterable
    ctx.cleanup()


def test_corrupted_and_full_run_files(tmp_path):
    path = str(tmp_path / "run")
    write_run(path, list(range(5000)))
    with open(path, "r+b") as f:
        f.seek(100)
        f.write(b"\xff\xfe\xfd")
    with pytest.raises(SpillCorruptedError, match="checksum"):
        list(read_run(path))
    with pytest.raises(OutOfDiskError, match="No space left in /dev"):
        write_run("/dev/full", list(range(100000)))


@pytest.mark.parametrize("compress", [False, True])
def test_run_files_round_trip_compressed_or_not(tmp_path, compress):
    records = [("key", i, "x" * (i % 50)) for i in range(5000)]
    path = str(tmp_path / "run")
    size = write_run(path, records, compress)
    assert list(read_run(path)) == records and size == os.path.getsize(path)
    plain = write_run(str(tmp_path / "plain"), records)
    assert (size < plain / 2) if compress else size == plain
    with open(path, "r+b") as f:  # damage inside the first frame's stored bytes
        f.seek(40)
        f.write(b"\xff\xfe\xfd")
    with pytest.raises(SpillCorruptedError, match="checksum"):
        list(read_run(path))


def test_sort_runs_follow_spill_compress(tmp_path):
    records = [f"{i % 7}" + "x" * 60 for i in range(10000)]
    sizes = {}
    for compress in (False, True):
        ctx = SpillContext(Always(), [str(tmp_path / str(compress))], compress=compress)
        assert list(external_sorted(records, ctx=ctx)) == sorted(records)
        runs = [p for p in ctx.files if os.path.basename(p).startswith("sort-")]
        assert len(runs) == 3  # one per chunk: the monitor is always over budget
        sizes[compress] = sum(os.path.getsize(p) for p in runs)
        ctx.cleanup()
    assert sizes[True] < sizes[False] / 4  # spark.shuffle.spill.compress (the default) is honoured


def test_compressed_disk_blocks_and_spills(fresh):
    sc = fresh("local[1]", spark_rdd_compress="true", fastrdd_worker_memory="1m",
               fastrdd_memory_hysteresis="0")
    rdd = sc.parallelize([("k%d" % (i % 50), "v" * 40) for i in range(20000)], 2)
    cached = rdd.persist(StorageLevel.DISK_ONLY)
    assert cached.count() == 20000
    blocks = os.path.join(executors(sc)[0].block_address, "blocks")
    stored = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(blocks) for f in fs)
    assert 0 < stored < 20000 * 40 / 4  # the repetitive values compress well
    assert sorted(cached.collect()) == sorted(rdd.collect())
    assert {k: len(v) for k, v in cached.groupByKey(2).collect()} == {"k%d" % i: 400 for i in range(50)}
    with pytest.raises(ValueError, match="spark.rdd.compress must be true or false"):
        fresh("local[1]", spark_rdd_compress="yes please")


def test_parse_size():
    assert parse_size("100m") == 100 << 20 and parse_size("1.5g") == int(1.5 * (1 << 30))
    with pytest.raises(ValueError, match="Invalid size"):
        parse_size("lots")


@pytest.fixture
def tiny(fresh, tmp_path):
    extra = tmp_path / "extra-local-dir"
    return fresh("local[2]", fastrdd_worker_memory="1m", fastrdd_memory_hysteresis="0",
                 fastrdd_local_dir=f"/dev/shm,{extra}"), extra


def test_shuffles_spill_and_stay_correct(tiny):
    sc, extra = tiny
    data = [(i % 97, i) for i in range(30000)]
    rdd = sc.parallelize(data, 4)
    ref = defaultdict(list)
    for k, v in data:
        ref[k].append(v)
    assert dict(rdd.reduceByKey(add, 3).collect()) == {k: sum(v) for k, v in ref.items()}
    assert {k: sorted(v) for k, v in rdd.groupByKey(3).collect()} == {k: sorted(v) for k, v in ref.items()}
    assert sorted(rdd.partitionBy(3).collect()) == sorted(data)
    assert rdd.map(lambda kv: (kv[1], kv[0])).sortByKey(numPartitions=3).keys().collect() == sorted(v for _, v in data)
    small = sc.parallelize([(k, -k) for k in range(0, 97, 2)], 2)
    assert sorted(rdd.join(small).collect()) == sorted((k, (v, -k)) for k, v in data if k % 2 == 0)
    tracker = sc.statusTracker()
    metrics = [tracker.getStageSpillMetrics(s) for s in tracker.getActiveStageIds() or range(0, 40)]
    assert sum(m["diskBytesSpilled"] for m in metrics if m) > 0
    assert any(extra.iterdir())  # spills were spread over the second local directory too
    worker_dirs = [e.block_address for e in executors(sc)]
    spill_dirs = [os.path.join(d, "spill") for d in worker_dirs] + [str(p) for p in extra.iterdir()]
    leftovers = [f for d in spill_dirs for _, _, files in os.walk(d) for f in files]
    assert leftovers == []  # run files are removed when their task ends


def test_joins_whose_build_side_does_not_fit_fall_back_to_grouping(tiny):
    sc, _ = tiny
    left = [(i % 300, i) for i in range(20000)]
    right = [(k, -k) for k in range(0, 400, 2)] * 2
    a, b = sc.parallelize(left, 3), sc.parallelize(right, 2)
    rg = defaultdict(list)
    for k, w in right:
        rg[k].append(w)
    inner = [(k, (v, w)) for k, v in left for w in rg.get(k, [])]
    assert sorted(a.join(b, 3).collect()) == sorted(inner)
    assert sorted(a.fullOuterJoin(b, 3).collect()) == sorted(
        inner + [(k, (v, None)) for k, v in left if k not in rg]
        + [(k, (None, w)) for k, w in right if k >= 300])
    # unique keys whose values are lists: each list is one value, never a key's matches
    unique = sc.parallelize([(k, [k, -k]) for k in range(0, 400, 2)], 2)
    assert sorted(a.rightOuterJoin(unique, 3).collect()) == sorted(
        [(k, (v, [k, -k])) for k, v in left if k % 2 == 0]
        + [(k, (None, [k, -k])) for k in range(300, 400, 2)])


def test_hot_key_group_larger_than_budget(tiny):
    sc, _ = tiny
    rdd = sc.parallelize(range(200000), 4).map(lambda i: ("hot" if i % 10 else f"k{i % 3}", i))
    sizes = dict(rdd.groupByKey(2).mapValues(len).collect())
    assert sizes == {"hot": 180000, "k0": 6667, "k1": 6667, "k2": 6666}


def test_storage_levels_under_pressure(fresh, tmp_path):
    sc = fresh("local[1]", fastrdd_worker_memory="4m", fastrdd_storage_fraction="0.05")
    marks = tmp_path / "marks"
    marks.mkdir()

    def mark(split, iterator):
        (marks / f"{split}-{os.urandom(4).hex()}").touch()
        return iterator

    def level_run(level):
        rdd = sc.parallelize(range(40000), 4).mapPartitionsWithIndex(mark).persist(level)
        assert rdd.sum() == sum(range(40000))
        before = len(os.listdir(marks))
        assert rdd.sum() == sum(range(40000))
        recomputed = len(os.listdir(marks)) - before
        rdd.unpersist()
        return recomputed

    # 200 KB of storage: MEMORY_ONLY keeps at most one partition, the rest are recomputed
    assert level_run(StorageLevel.MEMORY_ONLY) >= 3
    # MEMORY_AND_DISK and DISK_ONLY read evicted partitions back from disk
    assert level_run(StorageLevel.MEMORY_AND_DISK) == 0
    assert level_run(StorageLevel.DISK_ONLY) == 0
    sc.parallelize([1]).count()  # the worker handles unpersist before this task
    blocks = [os.path.join(e.block_address, "blocks") for e in executors(sc)]
    assert all(not os.listdir(b) for b in blocks if os.path.isdir(b))  # unpersist deleted them


def test_blocking_unpersist_returns_when_the_blocks_are_gone(fresh):
    sc = fresh("local[2]")
    rdd = sc.parallelize(range(4000), 4).map(lambda x: x * 2).persist(StorageLevel.DISK_ONLY)
    assert rdd.sum() == 2 * sum(range(4000))
    blocks = [os.path.join(e.block_address, "blocks") for e in executors(sc)]
    assert sum(len(os.listdir(b)) for b in blocks if os.path.isdir(b)) == 4
    rdd.unpersist(blocking=True)
    assert all(not os.listdir(b) for b in blocks if os.path.isdir(b))
    assert rdd.sum() == 2 * sum(range(4000))  # the context carries on
    rdd.unpersist(blocking=True)


def test_damaged_cache_file_is_recomputed(fresh):
    sc = fresh("local[1]")
    rdd = sc.parallelize(range(1000), 2).map(lambda x: x * 3).persist(StorageLevel.DISK_ONLY)
    assert rdd.sum() == 3 * sum(range(1000))
    blocks = os.path.join(executors(sc)[0].block_address, "blocks")
    for name in os.listdir(blocks):
        with open(os.path.join(blocks, name), "r+b") as f:
            f.seek(20)
            f.write(b"garbage")
    assert rdd.sum() == 3 * sum(range(1000))


def test_spill_file_deleted_underneath_recomputes_the_task(tiny, tmp_path):
    sc, _ = tiny
    flag = str(tmp_path / "deleted-once")

    def sabotage(values):
        if not os.path.exists(flag):
            open(flag, "w").close()
            from fastrdd.storage.spill import context
            for path in context().files:
                if os.path.exists(path):
                    os.unlink(path)
        return len(values)

    rdd = sc.parallelize([(i % 5, i) for i in range(20000)], 2)
    tracker = sc.statusTracker()
    got = dict(rdd.groupByKey(1).mapValues(sabotage).collect())
    assert got == {k: 4000 for k in range(5)}
    assert os.path.exists(flag)
    last_job = tracker.getJobInfo(max(tracker.getJobIdsForGroup(None)))
    assert tracker.getStageInfo(last_job.stageIds[-1]).numFailedTasks == 1  # then recomputed


def test_peak_worker_rss_stays_near_the_budget(fresh):
    import threading
    import time

    budget = 40 << 20  # without a budget this job peaks near 100 MB per worker
    sc = fresh("local[2]", fastrdd_worker_memory=str(budget))
    peak = [0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            for h in executors(sc):
                try:
                    with open(f"/proc/{h.pid}/statm") as f:
                        peak[0] = max(peak[0], int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE"))
                except OSError:
                    pass
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        n = 3_000_000
        sizes = dict(sc.range(n, numSlices=4).map(lambda i: (i % 3, i)).groupByKey(2).mapValues(len).collect())
    finally:
        stop.set()
        sampler.join()
    assert sizes == {k: len(range(k, n, 3)) for k in range(3)}
    assert peak[0] < 1.5 * budget, f"peak worker RSS {peak[0] >> 20} MB for a {budget >> 20} MB budget"


def _storage(sc, rdd):
    from fastrdd.ui import api

    return {r["id"]: r for r in api.rdds(sc._ui_store)}.get(rdd.id())


def test_a_partition_bigger_than_the_store_streams_to_disk_and_is_computed_once(fresh):
    # 4 MB budget, 2 MB of it for cached blocks; each partition is ~10 MB in memory
    sc = fresh("local[1]", fastrdd_worker_memory="4m", spark_ui_port="0")
    computed = sc.accumulator(0)

    def pair(i):
        computed.add(1)
        return (i % 3, i)

    big = sc.parallelize(range(200_000), 2).map(pair).persist(StorageLevel.MEMORY_AND_DISK)
    assert big.count() == 200_000
    assert sorted(big.filter(lambda kv: kv[1] % 50_000 == 0).collect()) == [
        (0, 0), (0, 150_000), (1, 100_000), (2, 50_000)]
    assert computed.value == 200_000  # the second job read the disk blocks, recomputed nothing
    blocks = _storage(sc, big)
    assert blocks["numCachedPartitions"] == 2
    assert blocks["memoryUsed"] == 0 and blocks["diskUsed"] > 0  # never held whole in memory
    assert dict(big.groupByKey().mapValues(len).collect()) == {0: 66_667, 1: 66_667, 2: 66_666}


def test_a_memory_only_partition_bigger_than_the_store_is_not_cached(fresh):
    sc = fresh("local[1]", fastrdd_worker_memory="4m", spark_ui_port="0")
    computed = sc.accumulator(0)

    def pair(i):
        computed.add(1)
        return (i, i)

    big = sc.parallelize(range(200_000), 2).map(pair).cache()
    assert big.count() == 200_000 and big.count() == 200_000
    assert computed.value == 400_000  # as Spark: not enough space to cache it, recomputed
    assert _storage(sc, big) is None
    small = sc.parallelize(range(100), 2).map(pair).cache()
    assert small.count() == 100 and small.count() == 100
    assert computed.value == 400_100 and _storage(sc, small)["numCachedPartitions"] == 2


def test_a_spilling_shuffle_sends_disk_backed_cached_blocks_out_of_memory(tmp_path):
    from fastrdd.storage.blocks import LocalBlockFetcher
    from fastrdd.worker.runtime import Worker

    worker = Worker([].append, str(tmp_path), 0, LocalBlockFetcher(str(tmp_path)),
                    budget=1 << 30)
    on_disk, memory_only = ("rdd", 1, 0), ("rdd", 2, 0)
    for key in (on_disk, memory_only):
        worker.store.put(key, list(range(1000)), 8000)
    os.makedirs(os.path.dirname(worker.block_path(on_disk)), exist_ok=True)
    open(worker.block_path(on_disk), "wb").close()
    worker.monitor.spilled(1 << 20)  # what every spill path reports
    assert on_disk not in worker.store and memory_only in worker.store

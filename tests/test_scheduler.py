"""Stages, shuffle reuse, partitioner awareness, cache locality, lineage strings."""
import os
from operator import add

from fastrdd import StorageLevel
from conftest import executors


def stages_of(sc, action):
    before = sc._scheduler.stage_count
    result = action()
    return result, sc._scheduler.stage_count - before


def test_narrow_chain_is_one_stage_and_shuffle_adds_one(sc):
    rdd = sc.parallelize(range(100), 4).map(lambda x: x + 1).filter(lambda x: x % 2).flatMap(lambda x: [x])
    assert stages_of(sc, rdd.count)[1] == 1
    pairs = rdd.map(lambda x: (x % 3, x)).reduceByKey(add)
    result, n = stages_of(sc, pairs.collect)
    assert n == 2
    # the map outputs exist: a second job skips the map stage
    assert stages_of(sc, pairs.mapValues(lambda v: v).collect) == (result, 1)


def test_partitioner_aware_operations_add_no_shuffle(sc):
    base = sc.parallelize([(i % 10, i) for i in range(100)], 3).partitionBy(4)
    assert base.partitioner.numPartitions == 4
    base.count()
    for op in (lambda r: r.reduceByKey(add, 4), lambda r: r.groupByKey(4),
               lambda r: r.join(r.mapValues(str)), lambda r: r.mapValues(str).partitionBy(4)):
        derived = op(base)
        assert derived.getNumPartitions() == 4
        assert stages_of(sc, derived.count)[1] == 1
    assert base.mapValues(str).partitioner == base.partitioner
    assert base.map(lambda kv: kv).partitioner is None
    assert base.partitionBy(4) is base


def test_join_partition_count_like_pyspark(sc):
    a = sc.parallelize([(1, 1)], 2)
    b = sc.parallelize([(1, 2)], 3)
    assert a.join(b).getNumPartitions() == 5
    assert a.union(b).getNumPartitions() == 5


def test_cached_partitions_are_scheduled_where_they_live(sc):
    def where(split, it):
        return [(split, os.getpid())]

    rdd = sc.parallelize(range(40), 8).cache()
    rdd.count()
    locs = {s: w for (r, s), w in sc._scheduler.cache_locs.items() if r == rdd.id()}
    assert sorted(locs) == list(range(8))
    pid_of = {e.executor_id: e.pid for e in executors(sc)}
    ran = dict(rdd.mapPartitionsWithIndex(where).collect())
    hits = sum(ran[s] == pid_of[w] for s, w in locs.items())
    assert hits >= 6  # locality wait keeps (nearly) every task on its cache
    rdd.unpersist()
    assert not any(r == rdd.id() for r, _ in sc._scheduler.cache_locs)


def test_persist_levels_and_debug_string(sc):
    rdd = sc.parallelize([("a", 1), ("b", 2)], 2).persist(StorageLevel.MEMORY_AND_DISK)
    counted = rdd.reduceByKey(add).setName("totals")
    text = counted.toDebugString().decode()
    lines = text.splitlines()
    assert lines[0].startswith("(2) totals ShuffledRDD[")
    assert lines[1].startswith(" +-(2) ParallelCollectionRDD[")
    assert "[Disk Memory Serialized 1x Replicated]" in lines[1]
    assert "test_scheduler.py" in lines[0]
    assert isinstance(counted.toDebugString(), bytes)
    assert rdd.getStorageLevel() == StorageLevel.MEMORY_AND_DISK


def test_shuffle_files_removed_when_rdd_is_collected(sc):
    import gc

    rdd = sc.parallelize([(i, i) for i in range(20)], 2).reduceByKey(add)
    rdd.count()
    sid = rdd._shuffle_dep.shuffle_id
    dirs = [e.block_address for e in executors(sc)]

    def files():
        return [n for d in dirs if os.path.isdir(d) for n in os.listdir(d) if n.startswith(f"shuffle_{sid}_")]

    assert files()
    del rdd
    gc.collect()
    sc.parallelize([1]).count()  # the next job sends the removal
    sc.parallelize([1], 2).count()
    assert files() == []

"""The rest of PySpark's RDD API: edge cases, empty RDDs, properties against Python."""
import math
import os
import random
import time
from operator import add

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fastrdd import StatCounter, portable_hash

SETTINGS = settings(max_examples=10, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def test_empty_rdd_for_the_rest_of_the_api(sc):
    for empty in (sc.emptyRDD(), sc.parallelize([], 3)):
        assert empty.cartesian(sc.parallelize([1])).collect() == []
        assert empty.zipWithIndex().collect() == [] and empty.zipWithUniqueId().collect() == []
        assert empty.subtract(empty).collect() == [] and empty.intersection(empty).collect() == []
        assert empty.subtractByKey(empty).collect() == []
        assert empty.takeOrdered(2) == [] and empty.takeSample(False, 5) == []
        assert [r.collect() for r in empty.randomSplit([1, 1], 3)] == [[], []]
        assert empty.sampleByKey(False, {}).collect() == []
        assert empty.treeAggregate(0, add, add) == 0
        with pytest.raises(ValueError):
            empty.treeReduce(add)
        with pytest.raises(ValueError):
            empty.max()
        assert empty.sum() == 0 and list(empty.toLocalIterator()) == []
        if empty.getNumPartitions():
            assert empty.stats().count() == 0 and math.isnan(empty.variance())
            assert empty.countApproxDistinct() == 0 and empty.top(3) == []
        else:  # no partition, no StatCounter to reduce: PySpark raises too
            with pytest.raises(ValueError, match="empty RDD"):
                empty.stats()
            with pytest.raises(ValueError, match="empty RDD"):  # top() reduces, like PySpark
                empty.top(3)
        assert empty.lookup(1) == []
        assert empty.repartitionAndSortWithinPartitions(2).collect() == []
        with pytest.raises(ValueError, match="empty RDD"):
            empty.histogram(3)


@SETTINGS
@given(data=st.lists(st.integers(-1000, 1000), max_size=60), n=st.integers(1, 4))
def test_statistics_match_python(sc, data, n):
    rdd = sc.parallelize(data, n)
    if data:
        assert rdd.max() == max(data) and rdd.min() == min(data)
        assert rdd.mean() == pytest.approx(sum(data) / len(data))
        assert rdd.variance() == pytest.approx(StatCounter(data).variance())
        assert rdd.top(3) == sorted(data, reverse=True)[:3]
        assert rdd.takeOrdered(3, key=lambda x: -x) == sorted(data, reverse=True)[:3]
        assert rdd.treeReduce(add, 3) == sum(data)
    assert rdd.treeAggregate(0, add, add, 2) == sum(data)
    assert rdd.zipWithIndex().collect() == [(x, i) for i, x in enumerate(data)]
    ids = [i for _, i in rdd.zipWithUniqueId().collect()]
    assert len(set(ids)) == len(data)
    other = [x * 2 for x in data]
    assert rdd.zip(sc.parallelize(other, n)).collect() == list(zip(data, other))
    assert sorted(rdd.subtract(sc.parallelize(data[::2])).collect()) == sorted(
        x for x in data if x not in set(data[::2]))
    assert sorted(rdd.intersection(sc.parallelize(data[::3], 2)).collect()) == sorted(set(data[::3]))
    assert sorted(rdd.cartesian(sc.parallelize([0, 1])).collect()) == sorted((x, y) for x in data for y in (0, 1))
    assert list(rdd.toLocalIterator(prefetchPartitions=True)) == data


def test_histogram_edge_cases(sc):
    rdd = sc.parallelize([1, 2, 3, None, float("nan"), 10], 2)
    assert rdd.histogram([0, 5, 10]) == ([0, 5, 10], [3, 1])  # last bucket closed
    assert rdd.histogram(1) == ([1, 10], [4])
    assert sc.parallelize([5, 5, 5]).histogram(4) == ([5, 5], [3])
    assert sc.parallelize([0.0, 1.0, 2.0, 3.0]).histogram(2) == ([0.0, 1.5, 3.0], [2, 2])
    for bad, message in [([1], "more than one"), ([3, 1], "sorted"), ([1, 1, 2], "duplicated"),
                         ([0, float("nan")], "NaN"), ([None, 1], "None"), (0, ">= 1")]:
        with pytest.raises(ValueError, match=message):
            rdd.histogram(bad)
    with pytest.raises(TypeError):
        rdd.histogram("abc")
    with pytest.raises(ValueError, match="infinite"):
        sc.parallelize([0.0, float("inf")]).histogram(2)


def test_sampling(sc):
    rdd = sc.parallelize(range(1000), 4)
    parts = rdd.randomSplit([1, 2, 7], seed=11)
    together = sorted(x for p in parts for x in p.collect())
    assert together == list(range(1000))
    assert 60 < parts[0].count() < 150 and 600 < parts[2].count() < 800
    sample = rdd.takeSample(False, 50, 5)
    assert len(sample) == len(set(sample)) == 50 and sample == rdd.takeSample(False, 50, 5)
    assert len(rdd.takeSample(True, 2000, 3)) == 2000
    keyed = rdd.map(lambda x: (x % 2, x))
    counts = keyed.sampleByKey(False, {0: 0.5, 1: 0.1}, 3).countByKey()
    assert 180 < counts[0] < 320 and 20 < counts[1] < 90
    with pytest.raises(ValueError, match="Fraction must be nonnegative"):
        rdd.sample(False, -1.0)
    with pytest.raises(ValueError, match="nonnegative"):
        rdd.randomSplit([-1, 2])


def test_count_approx_distinct_within_error(sc):
    rdd = sc.parallelize(range(20000), 4).map(lambda x: f"key-{x}")
    for rsd in (0.05, 0.01):
        assert abs(rdd.countApproxDistinct(rsd) - 20000) / 20000 < 3 * rsd
    with pytest.raises(ValueError, match="relativeSD"):
        rdd.countApproxDistinct(0.000001)
    assert rdd.countApprox(10) == 20000
    assert rdd.map(lambda s: 1.0).sumApprox(10) == 20000.0


def test_lookup_uses_the_partitioner(sc):
    rdd = sc.parallelize([(i, i * i) for i in range(100)], 4).partitionBy(5)
    rdd.count()  # the map stage runs once; then a lookup is one task
    before = sc._scheduler.task_count
    assert rdd.lookup(7) == [49]
    assert sc._scheduler.task_count - before == 1  # one partition searched
    assert rdd.lookup(1000) == []


def test_zip_needs_matching_partitions(sc):
    with pytest.raises(ValueError, match="same number of partitions"):
        sc.parallelize(range(4), 2).zip(sc.parallelize(range(4), 3))
    with pytest.raises(ValueError, match="same number of elements"):
        sc.parallelize(range(4), 2).zip(sc.parallelize(range(6), 2)).collect()


def test_to_local_iterator_computes_one_partition_at_a_time(sc, tmp_path):
    def mark(split, iterator):
        (tmp_path / f"p{split}").touch()
        return iterator

    it = sc.parallelize(range(40), 4).mapPartitionsWithIndex(mark).toLocalIterator()
    assert next(it) == 0
    assert sorted(os.listdir(tmp_path)) == ["p0"]
    assert list(it) == list(range(1, 40))
    assert len(os.listdir(tmp_path)) == 4


def test_portable_hash_is_exported_and_places_equal_keys_together():
    assert portable_hash(1) == portable_hash(1.0) == portable_hash(True)
    assert portable_hash(("a", 1)) == portable_hash(("a", 1.0))
    assert portable_hash(None) == 0


def test_deprecated_split_warns(sc):
    with pytest.warns(FutureWarning, match="mapPartitionsWithIndex"):
        sc.parallelize([1]).mapPartitionsWithSplit(lambda s, it: it)


def test_sort_by_key_balances_partitions_in_one_sampling_job(sc):
    rng = random.Random(4)
    data = [(rng.randrange(10 ** 6), i) for i in range(60000)]
    rdd = sc.parallelize(data, 6)
    before = sc._scheduler.stage_count
    out = rdd.sortByKey(numPartitions=4)
    assert sc._scheduler.stage_count - before == 1  # one sketch job (count and sample in one pass)
    sizes = out.glom().map(len).collect()
    assert max(sizes) < 1.25 * len(data) / 4
    assert out.keys().collect() == sorted(k for k, _ in data)


def test_sort_by_key_samples_through_maps_without_mapping_every_record(sc):
    """The sketch job reads the records the maps map and calls them only on those it keeps:
    the same bounds, a few thousand calls instead of one per record."""
    from fastrdd.rdd.sampling import range_bounds

    rng = random.Random(5)
    data = [rng.randrange(10 ** 6) for _ in range(60000)]
    calls = sc.accumulator(0)

    def to_pair(x):
        calls.add(1)
        return (x, -x)

    rdd = sc.parallelize(data, 6).map(to_pair).mapValues(abs)
    full = sc.parallelize(data, 6).mapPartitions(lambda it: ((x, x) for x in it))  # no chain
    assert full._record_chain() is None and rdd._record_chain() is not None
    assert range_bounds(rdd, 4, lambda k: k) == range_bounds(full, 4, lambda k: k)
    # each partition maps 2 x 200 records, then 200 more each time its stride doubles
    assert 0 < calls.value < len(data) / 6
    out = rdd.sortByKey(numPartitions=4)
    assert calls.value < len(data) / 3  # a second sketch, no more
    assert out.collect() == sorted((x, x) for x in data)
    assert max(out.glom().map(len).collect()) < 1.25 * len(data) / 4
    assert rdd.sortBy(lambda kv: -kv[0], numPartitions=3).keys().collect() == sorted(data, reverse=True)


def test_sort_by_key_sketches_a_cached_rdd_whole(sc):
    """A cached RDD is sampled from its own records: the sketch job fills the cache that the
    sort then reads, and the maps below it run once per record."""
    calls = sc.accumulator(0)

    def to_pair(x):
        calls.add(1)
        return (x % 1000, x)

    rdd = sc.parallelize(range(5000), 4).map(to_pair).cache()
    assert rdd._record_chain() is None
    out = rdd.sortByKey(numPartitions=3)
    assert calls.value == 5000
    assert out.keys().collect() == sorted(x % 1000 for x in range(5000))
    assert calls.value == 5000
    rdd.unpersist()


def test_sort_by_key_reports_a_bad_record_its_sketch_did_not_map(sc):
    """An error in the user's map on a record the sketch skipped still fails the sort."""
    def parse(x):
        if x == 4321:
            raise ValueError("bad record 4321")
        return (x, x)

    out = sc.parallelize(list(range(10000)), 4).map(parse).sortByKey(numPartitions=2)
    with pytest.raises(Exception, match="bad record 4321"):
        out.collect()

"""``spark.executor.pyspark.memory``: a hard cap on each worker's address space.

Expected values were checked against PySpark 4.3 (test_worker.py's
WorkerMemoryTest, and a bare number, which Spark reads as MiB).
"""
import resource
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastrdd.storage.memory import apply_address_space_limit, pyspark_memory

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is Linux's")


def _limit(_):
    import resource

    return resource.getrlimit(resource.RLIMIT_AS)


def test_sizes_are_read_as_spark_reads_them():
    assert pyspark_memory("2g") == 2 * 1024 ** 3
    assert pyspark_memory("1536") == 1536 * 1024 ** 2  # no unit: MiB
    assert pyspark_memory("512m") == 512 * 1024 ** 2
    assert pyspark_memory(None) is None and pyspark_memory("") is None


@pytest.mark.parametrize("pure", [False, True], ids=["compiled", "pure"])
def test_workers_run_under_the_limit(fresh, pure):
    sc = fresh("local[2]", pure=pure, spark_executor_pyspark_memory="2g")
    assert sc.parallelize(range(2), 2).map(_limit).collect() == [(2 * 1024 ** 3,) * 2] * 2
    with pytest.raises(MemoryError):  # a hard limit: beyond it allocations fail
        sc.parallelize([0], 1).map(lambda _: len(bytearray(3 << 30))).collect()
    assert resource.getrlimit(resource.RLIMIT_AS) == _limit(0)  # the driver is not limited


def test_no_setting_no_limit(sc):
    assert sc.parallelize([0], 1).map(_limit).collect() == [_limit(0)]


def test_the_limit_is_only_lowered():
    import subprocess

    code = ("import resource; from fastrdd.storage.memory import apply_address_space_limit as a; "
            "a(str(3 << 30)); a(str(4 << 30)); a(None); print(resource.getrlimit(resource.RLIMIT_AS))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str((3 << 30, 3 << 30))
    apply_address_space_limit(None)  # no setting: nothing happens


def _collector(_):
    import gc

    return gc.get_threshold()[2], gc.get_freeze_count() > 0


def test_workers_collect_garbage_as_data_holders(sc):
    """Workers make full collections rare and freeze start-up (``worker.gc_tuning``);
    the driver, the user's process, keeps its own settings."""
    from fastrdd.worker.gc_tuning import FULL_COLLECTION_EVERY

    driver = _collector(0)
    assert set(sc.parallelize(range(4), 4).map(_collector).collect()) == {
        (FULL_COLLECTION_EVERY, True)}
    assert _collector(0) == driver


# -- chunks of records held in memory: the collector keeps off tuples of scalars ----------
# (``take``; the ``iterators`` fixture, compiled and twin, is in conftest.py)
records = st.lists(st.one_of(
    st.integers(), st.text(max_size=3), st.none(),
    st.tuples(st.integers(), st.one_of(st.integers(), st.floats(), st.text(max_size=3))),
    st.tuples(st.integers(), st.lists(st.integers(), max_size=2)),
    st.tuples(st.text(max_size=2), st.tuples(st.integers(), st.booleans())),
    st.lists(st.integers(), max_size=2)), max_size=30)


@settings(max_examples=80, deadline=None)
@given(items=records, size=st.integers(-2, 35))
def test_take_is_a_slice_that_leaves_the_rest(iterators, items, size):
    it = iter(items)
    assert iterators.take(it, size) == items[:max(size, 0)]
    assert list(it) == items[max(size, 0):]


def test_take_untracks_only_what_cannot_be_in_a_cycle(iterators):
    import gc

    def fresh():  # built at run time: constants would be untracked already
        n = int("7")
        return [(n, float(n)), (str(n), (n, None)), (n, [n]), [n, n], (n, (n, [n])),
                (n, {n: n})]

    taken = iterators.take(iter(fresh()), 10)
    tracked = [gc.is_tracked(r) for r in taken]
    compiled = not iterators.__name__.endswith("_py")
    # tuples of scalars (or of such tuples) leave the collector's lists, as CPython's first
    # collection would take them out; anything holding a container stays
    assert tracked == [not compiled, not compiled, True, True, True, True]
    assert not compiled or not gc.is_tracked(taken[1][1])
    # a cycle through a tuple is still collected
    holder = []
    holder.append((int("1"), holder))
    del taken
    chunk = iterators.take(iter([holder[0]]), 1)
    assert gc.is_tracked(chunk[0])
    del holder, chunk
    assert gc.collect() >= 2


def test_shuffled_records_are_whole_after_chunking(sc):
    """The map side's chunks go through ``take``: records of every shape come back equal."""
    data = [(i % 5, (i, float(i), str(i), [i], {"k": i})[i % 5]) for i in range(2000)]
    got = sc.parallelize(data, 3).partitionBy(4).collect()
    assert sorted(got, key=repr) == sorted(data, key=repr)

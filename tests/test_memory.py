"""``spark.executor.pyspark.memory``: a hard cap on each worker's address space.

Expected values were checked against PySpark 4.3 (test_worker.py's
WorkerMemoryTest, and a bare number, which Spark reads as MiB).
"""
import resource
import sys

import pytest

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

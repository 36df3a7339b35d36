"""Checkpoints, shipped files, barrier stages and other context members."""
import os
import zipfile

import pytest

from fastrdd.files import SparkFiles
from fastrdd.taskcontext import BarrierTaskContext


def test_checkpoint_cuts_lineage_and_survives_recompute(sc, tmp_path):
    sc.setCheckpointDir(str(tmp_path))
    base = sc.parallelize([(i % 4, i) for i in range(40)], 4).reduceByKey(lambda a, b: a + b)
    mapped = base.mapValues(lambda v: v * 2)
    mapped.checkpoint()
    expected = sorted(mapped.collect())
    assert mapped.isCheckpointed() and not mapped.isLocallyCheckpointed()
    assert mapped.toDebugString().decode().count("\n") == 0  # no parents left
    assert os.path.isdir(mapped.getCheckpointFile()[len("file:"):])
    assert sorted(mapped.collect()) == expected
    assert sorted(mapped.map(lambda kv: kv).collect()) == expected
    assert mapped.getNumPartitions() == 4 and mapped.partitioner == base.partitioner


def test_checkpoint_file_is_a_file_uri(sc, tmp_path):
    """As PySpark's CheckpointTests (checked against PySpark 4.3)."""
    sc.setCheckpointDir(str(tmp_path))
    rdd = sc.parallelize([1, 2, 3, 4]).flatMap(lambda x: range(1, x + 1))
    assert not rdd.isCheckpointed() and rdd.getCheckpointFile() is None
    rdd.checkpoint()
    result = rdd.collect()
    assert rdd.isCheckpointed() and rdd.collect() == result
    assert os.path.dirname(os.path.dirname(rdd.getCheckpointFile())) == "file:" + str(tmp_path)
    assert os.path.dirname(rdd.getCheckpointFile()) == sc.getCheckpointDir()
    assert rdd.getCheckpointFile() == sc.getCheckpointDir() + f"/rdd-{rdd.id()}"
    sc.setCheckpointDir("file:" + str(tmp_path))  # a file: URI names the same directory
    assert sc.getCheckpointDir().startswith("file:" + str(tmp_path) + "/")


def test_local_checkpoint_counts_as_checkpointed(sc):
    """As PySpark's LocalCheckpointTests: True once an action wrote it, with no file."""
    rdd = sc.parallelize([1, 2, 3, 4]).flatMap(lambda x: range(1, x + 1))
    assert not rdd.isCheckpointed() and not rdd.isLocallyCheckpointed()
    rdd.localCheckpoint()
    assert not rdd.isCheckpointed() and rdd.isLocallyCheckpointed()
    result = rdd.collect()
    assert rdd.isCheckpointed() and rdd.isLocallyCheckpointed()
    assert rdd.getCheckpointFile() is None and rdd.collect() == result


def test_checkpoint_needs_a_directory(fresh):
    sc = fresh("local[1]")
    with pytest.raises(RuntimeError, match="setCheckpointDir"):
        sc.parallelize([1]).checkpoint()


def test_files_and_py_files_reach_tasks(sc, tmp_path):
    data = tmp_path / "lookup.txt"
    data.write_text("42")
    sc.addFile(str(data))
    assert sc.parallelize([0, 1], 2).map(lambda _: open(SparkFiles.get("lookup.txt")).read()).collect() == ["42", "42"]
    assert any(p.endswith("lookup.txt") for p in sc.listFiles)
    archive = tmp_path / "zipped_mod.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("zipped_mod.py", "VALUE = 'from zip'\n")
    sc.addPyFile(str(archive))
    assert sc.parallelize([0], 1).map(lambda _: __import__("zipped_mod").VALUE).collect() == ["from zip"]
    assert SparkFiles.getRootDirectory() == os.path.dirname(SparkFiles.get("x"))


def test_barrier_stage(fresh):
    sc = fresh("local[2]")

    def gather(iterator):
        ctx = BarrierTaskContext.get()
        ctx.barrier()
        return ctx.allGather(str(sum(iterator)))

    assert sc.parallelize(range(10), 2).barrier().mapPartitions(gather).collect() == ["10", "35", "10", "35"]
    with pytest.raises(Exception, match="only 2 workers"):
        sc.parallelize(range(10), 3).barrier().mapPartitions(gather).collect()
    with pytest.raises(RuntimeError, match="NOT_IN_BARRIER_STAGE"):  # on the driver
        BarrierTaskContext.get()


def test_context_attributes(sc):
    assert sc.version and sc.applicationId.startswith("local-")
    assert sc.startTime > 0
    assert sc.getConf().get("spark.master").startswith("local")
    with pytest.raises(ValueError):
        sc.setLogLevel("LOUD")
    sc.setLogLevel("WARN")
    with pytest.raises(NotImplementedError, match="Spark SQL"):
        sc.parallelize([1]).toDF()


def test_profiles_are_collected_shown_and_dumped(fresh, tmp_path, capsys):
    sc = fresh("local[2]", spark_python_profile="true")
    sc.parallelize(range(100), 2).map(lambda x: x * x).count()
    sc.show_profiles()
    out = capsys.readouterr().out
    assert "Profile of RDD<id=" in out and "function calls" in out
    sc.dump_profiles(str(tmp_path))
    assert any(n.startswith("rdd_") and n.endswith(".pstats") for n in os.listdir(tmp_path))


def test_profiles_need_the_setting(sc):
    with pytest.raises(RuntimeError, match="spark.python.profile"):
        sc.show_profiles()


def test_second_context_is_a_value_error(fresh):
    from fastrdd import SparkContext

    fresh("local[1]")
    with pytest.raises(ValueError, match="Cannot run multiple SparkContexts"):
        SparkContext("local[1]", "another")

"""SparkContext lifecycle, masters, parallelize slicing, and clean shutdown."""
import glob
import os
import tempfile

import pytest

from fastrdd import SparkConf, SparkContext
from fastrdd.masters import parse_master


def children_of(pid):
    kids = []
    for status in glob.glob("/proc/[0-9]*/status"):
        try:
            with open(status) as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        if int(fields.get("PPid", "0").strip()) == pid:
            kids.append(int(status.split("/")[2]))
    return kids


def fastrdd_dirs():
    return set(glob.glob("/dev/shm/fastrdd-*") + glob.glob(os.path.join(tempfile.gettempdir(), "fastrdd-*")))


@pytest.mark.parametrize("master,expected", [
    ("local", (1, 1)), ("local[3]", (3, 1)), ("local[*]", (os.cpu_count(), 1)),
    ("local[2,4]", (2, 4)), ("local[*, 2]", (os.cpu_count(), 2)), ("inprocess[3]", (3, 1)),
])
def test_master_urls(master, expected):
    parsed = parse_master(master)
    assert (parsed.workers, parsed.max_failures) == expected


def test_cluster_master_url():
    assert parse_master("fastrdd://10.1.2.3:7077").address == ("10.1.2.3", 7077)
    assert parse_master("fastrdd://[::1]:7077").address == ("::1", 7077)
    assert parse_master("fastrdd://driver.example:1/") == parse_master("fastrdd://driver.example:1")
    for bad in ("fastrdd://host", "fastrdd://:7077", "spark://host:7077"):
        with pytest.raises(ValueError, match="fastrdd://HOST:PORT"):
            parse_master(bad)


def test_stop_leaves_no_processes_and_no_files(fresh):
    before_dirs = fastrdd_dirs()
    before_kids = set(children_of(os.getpid()))
    sc = fresh("local[2]")
    rdd = sc.parallelize([(i % 5, i) for i in range(100)], 4).reduceByKey(lambda a, b: a + b).cache()
    assert rdd.count() == 5
    assert len(set(children_of(os.getpid())) - before_kids) == 2
    assert fastrdd_dirs() - before_dirs
    sc.stop()
    assert set(children_of(os.getpid())) - before_kids == set()
    assert fastrdd_dirs() - before_dirs == set()
    sc.stop()  # idempotent


def test_context_manager_and_use_after_stop(fresh):
    from fastrdd.errors import ContextError

    with fresh("local[1]") as sc:
        assert sc.parallelize([1, 2]).count() == 2
    with pytest.raises(ContextError, match="stopped"):
        sc.parallelize([1])
    again = SparkContext.getOrCreate(SparkConf().setMaster("local[1]"))
    assert again is not sc and again.defaultParallelism == 1
    again.stop()


def test_conf_and_default_parallelism(fresh):
    sc = fresh("local[2]", spark_default_parallelism="5")
    assert sc.defaultParallelism == 5
    assert sc.parallelize(range(10)).getNumPartitions() == 5
    assert sc.parallelize([(1, 1)], 2).reduceByKey(lambda a, b: a).getNumPartitions() == 5
    conf = sc.getConf()
    assert conf.get("spark.master") == "local[2]" and conf.contains("spark.app.name")
    assert SparkConf().setAll([("a", 1), ("b", 2)]).getAll() == [("a", "1"), ("b", "2")]


def test_parallelize_slicing_like_pyspark(sc):
    assert sc.parallelize(range(10), 3).glom().collect() == [[0, 1, 2], [3, 4, 5], [6, 7, 8, 9]]
    assert sc.parallelize(list(range(10)), 3).glom().collect() == [[0, 1, 2], [3, 4, 5], [6, 7, 8, 9]]
    assert sc.parallelize(range(0, 6, 2), 5).glom().collect() == [[], [0], [], [2], [4]]
    assert sc.parallelize([1, 2, 3, 4, 5], 3).glom().collect() == [[1], [2, 3], [4, 5]]
    assert sc.parallelize("abc", 2).collect() == ["a", "b", "c"]
    assert sc.range(3, 10, 3).collect() == [3, 6, 9]
    assert sc.parallelize(range(10 ** 12), 4).take(2) == [0, 1]  # ranges stay lazy
    assert sc.emptyRDD().getNumPartitions() == 0
    assert sc.union([sc.range(2), sc.range(2, 4)]).collect() == [0, 1, 2, 3]


def test_run_job_on_some_partitions(sc):
    rdd = sc.parallelize(range(6), 3)
    assert sc.runJob(rdd, lambda it: [sum(it)], [2, 0]) == [9, 1]


def test_workers_do_not_outlive_a_killed_driver(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # its own local dir: another fastrdd context on this machine (another test run) would
    # sweep the dead driver's directory from a shared one before this test looks
    code = ("import sys, time\nsys.path.insert(0, %r)\nfrom fastrdd import SparkConf, SparkContext\n"
            "sc = SparkContext('local[2]', 'orphans', conf=SparkConf().set('fastrdd.local.dir', %r))\n"
            "sc.parallelize([1, 2], 2).count()\n"
            "print(' '.join(str(i.pid) for i in sc.statusTracker().getExecutorInfos()), flush=True)\n"
            "time.sleep(60)\n" % (root, str(tmp_path)))
    driver = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    pids = [int(p) for p in driver.stdout.readline().split()]
    assert len(pids) == 2
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    driver.stdout.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") for p in pids):
        time.sleep(0.1)
    alive = []
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                if "State:\tZ" not in f.read():
                    alive.append(p)
        except OSError:
            pass
    assert alive == []
    # the dead driver's directory is swept by the next context on this machine
    stale = [str(d) for d in tmp_path.glob("fastrdd-*") if f"-{driver.pid}-" in d.name]
    assert stale
    from fastrdd.context import sweep_stale_dirs
    sweep_stale_dirs(os.path.dirname(stale[0]))
    assert not os.path.exists(stale[0])


def test_workers_find_fastrdd_from_any_directory(tmp_path):
    """Workers start with -S: they must get fastrdd's own location, whatever the cwd."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = ("from fastrdd import SparkContext\n"
            "with SparkContext('local[2]', 'elsewhere') as sc:\n"
            "    print(sc.parallelize(range(10), 2).map(lambda x: x * 2).sum())\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "90"

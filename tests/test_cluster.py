"""Cluster mode with real ``fastrdd-worker`` processes on loopback, as if on three hosts.

Each worker has a local directory of its own; the driver listens on a
free loopback port.  Timeouts are short so that loss is noticed quickly.
"""
import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import zmq

from fastrdd import SparkConf, SparkContext, protocol
from fastrdd.cluster import handshake
from fastrdd.cluster.security import Security, token_path

pytestmark = pytest.mark.cluster

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT = "3"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A driver context and its worker processes, restartable one by one."""

    def __init__(self, tmp, workers=3):
        self.tmp = tmp
        self.port = free_port()
        self.env = dict(os.environ, PYTHONPATH=ROOT, FASTRDD_HOME=str(tmp / "home"))
        os.environ["FASTRDD_HOME"] = self.env["FASTRDD_HOME"]
        self.procs = {}
        for i in range(workers):
            self.start_worker(i)
        conf = (SparkConf().setMaster(f"fastrdd://127.0.0.1:{self.port}").setAppName("cluster")
                .set("fastrdd.cluster.minWorkers", str(workers))
                .set("fastrdd.cluster.waitTimeout", "60")
                .set("fastrdd.worker.timeout", TIMEOUT)
                .set("fastrdd.cluster.fetchTimeout", TIMEOUT))
        self.sc = SparkContext(conf=conf)

    def start_worker(self, i):
        local = self.tmp / f"host{i}"
        local.mkdir(exist_ok=True)
        self.procs[i] = subprocess.Popen(
            [sys.executable, "-m", "fastrdd.cluster.worker", "--driver", f"127.0.0.1:{self.port}",
             "--once", "--timeout", TIMEOUT, "--local-dir", str(local)],
            env=self.env, stdin=subprocess.DEVNULL)

    def kill(self, i):
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait()

    def pids(self):
        return {int(info.pid) for info in self.sc.statusTracker().getExecutorInfos()}

    def wait_for_workers(self, n, timeout=30):
        deadline = time.monotonic() + timeout
        while len(self.sc._scheduler.executors) < n or len(self.sc._backend.executors()) < n:
            assert time.monotonic() < deadline, "workers did not rejoin"
            self.sc.parallelize([0], 1).count()  # lets the scheduler take in new workers
            time.sleep(0.1)

    def close(self):
        self.sc.stop()
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    active = SparkContext._active_spark_context
    if active is not None:
        active.stop()
    c = Cluster(tmp_path_factory.mktemp("cluster"))
    yield c
    c.close()


def test_seed_word_count_and_log_mining(cluster, tmp_path):
    sc = cluster.sc
    text = tmp_path / "in.txt"
    text.write_text("".join(f"spark {i % 7} fast rdd {i % 3}\n" for i in range(3000)))
    counts = (sc.textFile(str(text)).flatMap(lambda s: s.split())
              .map(lambda word: (word, 1)).reduceByKey(lambda x, y: x + y))
    expected = {}
    for line in text.read_text().splitlines():
        for word in line.split():
            expected[word] = expected.get(word, 0) + 1
    assert dict(counts.collect()) == expected
    out = tmp_path / "out"
    counts.saveAsTextFile(str(out))
    assert sorted(sc.textFile(str(out)).collect()) == sorted(map(str, expected.items()))
    log = tmp_path / "log.txt"
    log.write_text("".join(f"{'ERROR' if i % 5 == 0 else 'INFO'}\tmsg {i % 11}\n" for i in range(5000)))
    messages = (sc.textFile(str(log)).filter(lambda s: s.startswith("ERROR"))
                .map(lambda s: s.split("\t")[1])).cache()
    assert messages.filter(lambda s: "3" in s).count() == sum(
        1 for i in range(5000) if i % 5 == 0 and "3" in f"msg {i % 11}")
    assert messages.count() == 1000
    held = {w for (r, _), w in sc._scheduler.cache_locs.items() if r == messages.id()}
    assert len(held) >= 2  # cached partitions spread over the workers


def test_logistic_regression(cluster):
    import numpy as np

    sc = cluster.sc
    rng = np.random.default_rng(1)
    rows = [(float(y), *map(float, x)) for y, x in zip(rng.choice([-1.0, 1.0], 400),
                                                       rng.normal(size=(400, 3)))]
    points = sc.parallelize(rows, 6).map(lambda r: (np.array(r[1:]), r[0])).cache()
    w = np.zeros(3)
    local_w = np.zeros(3)
    for _ in range(3):
        gradient = points.map(
            lambda p: (1 / (1 + np.exp(-p[1] * w.dot(p[0]))) - 1) * p[1] * p[0]).reduce(
            lambda a, b: a + b)
        local = sum((1 / (1 + np.exp(-r[0] * local_w.dot(np.array(r[1:])))) - 1) * r[0]
                    * np.array(r[1:]) for r in rows)
        w = w - gradient
        local_w = local_w - local
    assert np.allclose(w, local_w)


def test_every_shuffle_operator_matches_plain_python(cluster):
    sc = cluster.sc
    pairs = [(i % 13, i) for i in range(400)]
    rdd = sc.parallelize(pairs, 5)
    other = sc.parallelize([(k, str(k)) for k in range(0, 20, 2)], 3)
    group = {}
    for k, v in pairs:
        group.setdefault(k, []).append(v)
    assert sorted(rdd.reduceByKey(lambda a, b: a + b).collect()) == \
        sorted((k, sum(vs)) for k, vs in group.items())
    assert sorted(rdd.groupByKey().mapValues(sorted).collect()) == sorted(
        (k, sorted(vs)) for k, vs in group.items())
    assert sorted(rdd.combineByKey(lambda v: [v], lambda c, v: c + [v], lambda a, b: a + b)
                  .mapValues(len).collect()) == sorted((k, len(vs)) for k, vs in group.items())
    assert sorted(rdd.aggregateByKey(0, lambda a, v: a + 1, lambda a, b: a + b).collect()) == \
        sorted((k, len(vs)) for k, vs in group.items())
    assert sorted(rdd.foldByKey(0, lambda a, b: a + b).collect()) == \
        sorted((k, sum(vs)) for k, vs in group.items())
    assert rdd.sortByKey().keys().collect() == sorted(k for k, _ in pairs)
    assert rdd.sortBy(lambda kv: -kv[1]).values().take(3) == [399, 398, 397]
    joined = sorted(rdd.join(other).collect())
    assert joined == sorted((k, (v, str(k))) for k, v in pairs if k % 2 == 0 and k < 20)
    assert len(rdd.leftOuterJoin(other).collect()) == 400
    assert len(rdd.rightOuterJoin(other).collect()) == len(joined) + 3  # 14, 16, 18 unmatched
    assert len(rdd.fullOuterJoin(other).collect()) == 400 + 3
    assert sorted(k for k, _ in rdd.cogroup(other).collect()) == sorted(set(group) | set(range(0, 20, 2)))
    assert sorted(rdd.keys().distinct().collect()) == list(range(13))
    assert sorted(rdd.keys().subtract(other.keys()).distinct().collect()) == [1, 3, 5, 7, 9, 11]
    assert sorted(rdd.keys().intersection(other.keys()).collect()) == [0, 2, 4, 6, 8, 10, 12]
    assert rdd.partitionBy(4).glom().map(len).sum() == 400
    assert rdd.repartition(7).getNumPartitions() == 7 and rdd.repartition(7).count() == 400
    assert sc.parallelize(range(4), 2).cartesian(sc.parallelize("ab", 2)).count() == 8


def test_broadcast_once_per_worker_accumulators_and_files(cluster, tmp_path):
    sc = cluster.sc
    big = list(range(100_000))
    b = sc.broadcast(big)
    pids = sc.parallelize(range(30), 30).map(lambda _: (os.getpid(), len(b.value))).collect()
    assert {n for _, n in pids} == {100_000}
    assert {p for p, _ in pids} <= cluster.pids()
    acc = sc.accumulator(0)
    sc.parallelize(range(100), 10).foreach(lambda x: acc.add(x))
    assert acc.value == sum(range(100))
    data = tmp_path / "lookup.txt"
    data.write_text("42")
    sc.addFile(str(data))
    module = tmp_path / "cluster_shipped.py"
    module.write_text("def triple(x):\n    return 3 * x\n")
    sc.addPyFile(str(module))

    def use(x):
        from fastrdd import SparkFiles

        import cluster_shipped

        with open(SparkFiles.get("lookup.txt")) as f:
            return cluster_shipped.triple(x) + int(f.read())

    assert sc.parallelize([1, 2, 3], 3).map(use).collect() == [45, 48, 51]


def test_barrier_stage_meets_through_the_driver(cluster):
    from fastrdd import BarrierTaskContext

    def gather(iterator):
        context = BarrierTaskContext.get()
        context.barrier()
        infos = context.getTaskInfos()
        yield context.allGather(str(sum(iterator))), len(infos)

    result = cluster.sc.parallelize(range(9), 3).barrier().mapPartitions(gather).collect()
    assert result == [(["3", "12", "21"], 3)] * 3


def test_big_parallelized_slices_are_read_from_the_driver_once_stored(cluster):
    sc = cluster.sc
    data = [("k%d" % (i % 300), i) for i in range(300_000)]  # ~1.5 MB per slice: by reference
    rdd = sc.parallelize(data, 2)
    expected = {}
    for k, v in data:
        expected[k] = expected.get(k, 0) + v
    assert dict(rdd.reduceByKey(lambda a, b: a + b).collect()) == expected
    assert rdd.count() == 300_000  # a second job reads the same stored slices


def test_every_slot_hashes_str_alike(cluster):
    """User classes hashing their str fields land in one partition whatever slot maps them."""
    seen = cluster.sc.parallelize(range(12), 12).map(
        lambda _: (os.getpid(), hash("fastrdd"), os.environ.get("PYTHONHASHSEED"))).collect()
    assert len({pid for pid, _, _ in seen}) > 1
    assert {(h, seed) for _, h, seed in seen} == {(seen[0][1], "0")}

def test_workers_collect_garbage_as_data_holders(cluster):
    """Slots run with rare full collections and start-up frozen (``worker.gc_tuning``)."""
    import gc

    seen = cluster.sc.parallelize(range(4), 4).map(
        lambda _: (gc.get_threshold()[2], gc.get_freeze_count() > 0)).collect()
    assert set(seen) == {(100, True)}  # worker.gc_tuning.FULL_COLLECTION_EVERY


def test_local_and_reliable_checkpoints(cluster, tmp_path):
    sc = cluster.sc
    local = sc.parallelize(range(10), 3).map(lambda x: x * 2)
    local.localCheckpoint()
    assert local.sum() == 90 and local.isLocallyCheckpointed()
    assert "CheckpointedRDD" in local.toDebugString().decode()
    assert local.map(lambda x: x + 1).sum() == 100  # read back from the driver's area
    sc.setCheckpointDir(str(tmp_path / "checkpoints"))  # a directory every worker sees
    rdd = sc.parallelize(range(10), 3).map(lambda x: x + 1)
    rdd.checkpoint()
    assert rdd.sum() == 55 and rdd.isCheckpointed() and rdd.sum() == 55


def test_workers_do_not_read_each_others_directories(cluster):
    """Map outputs are fetched worker-to-worker: each worker's directory is its own."""
    sc = cluster.sc
    addresses = {info.block_address for info in sc._backend.executors().values()}
    assert all(a.startswith("tcp://127.0.0.1:") for a in addresses) and len(addresses) == 3
    rdd = sc.parallelize([(i % 50, 1) for i in range(5000)], 9).reduceByKey(lambda a, b: a + b, 6)
    assert sorted(rdd.collect()) == [(k, 100) for k in range(50)]


# functions of a test module pickle by reference, and a worker started on
# its own does not have tests/ on its path: user code ships as closures
slow_square = eval("lambda x: (__import__('time').sleep(0.05), x * x)[1]")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("leave, exit_type", [
    ("__import__('sys').exit(4)", r"SystemExit\(4\)"),
    ("(_ for _ in ()).throw(KeyboardInterrupt())", "KeyboardInterrupt")])
def test_sys_exit_in_a_task_fails_the_job_and_keeps_the_worker(cluster, leave, exit_type):
    from fastrdd.errors import TaskExitError

    sc = cluster.sc
    pids = cluster.pids()
    with pytest.raises(TaskExitError, match=rf"partition 1 of stage \d+ raised {exit_type}"):
        sc.parallelize(range(6), 3).map(eval(f"lambda x: {leave} if x == 3 else x")).collect()
    assert sc.parallelize(range(6), 3).map(lambda x: x + 1).collect() == list(range(1, 7))
    assert cluster.pids() == pids  # no slot ended


def test_worker_killed_during_a_map_stage(cluster):
    sc = cluster.sc
    rdd = sc.parallelize(range(200), 20).map(slow_square).map(lambda x: (x % 7, x))
    import threading

    victim = 0
    timer = threading.Timer(0.3, cluster.kill, args=(victim,))
    timer.start()
    result = dict(rdd.reduceByKey(lambda a, b: a + b).collect())
    timer.join()
    expected = {}
    for x in range(200):
        expected[x * x % 7] = expected.get(x * x % 7, 0) + x * x
    assert result == expected
    cluster.start_worker(victim)
    cluster.wait_for_workers(3)


def test_worker_killed_while_others_fetch_its_outputs(cluster):
    sc = cluster.sc
    pairs = sc.parallelize([(i % 31, i) for i in range(3000)], 12)
    summed = pairs.reduceByKey(lambda a, b: a + b, 6)
    expected = sorted(summed.collect())
    holders = sc._scheduler.map_outputs[summed._shuffle_dep.shuffle_id]
    victim_pid = sc._scheduler.executors[holders[0]].info.pid
    victim = next(i for i, p in cluster.procs.items() if p.pid == victim_pid)
    cluster.kill(victim)  # its map outputs are gone; the next job must fetch them
    assert sorted(summed.mapValues(lambda v: v).collect()) == expected
    cluster.start_worker(victim)
    cluster.wait_for_workers(3)


def test_worker_killed_while_holding_cached_blocks(cluster):
    sc = cluster.sc
    cached = sc.parallelize(range(600), 12).map(lambda x: x * 3).cache()
    assert cached.sum() == 3 * sum(range(600))
    held = [w for (r, _), w in sc._scheduler.cache_locs.items() if r == cached.id()]
    pid = sc._scheduler.executors[held[0]].info.pid
    victim = next(i for i, p in cluster.procs.items() if p.pid == pid)
    cluster.kill(victim)
    assert cached.sum() == 3 * sum(range(600))
    assert cached.count() == 600
    # the web UI read the same events: the worker is lost, its blocks were cached again
    api = f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}"
    with urllib.request.urlopen(f"{api}/allexecutors", timeout=10) as r:
        lost = [e for e in json.load(r) if not e["isActive"]]
    assert pid in [e["pid"] for e in lost] and all(e["removeReason"] for e in lost)
    with urllib.request.urlopen(f"{api}/storage/rdd/{cached.id()}", timeout=10) as r:
        assert json.load(r)["numCachedPartitions"] == 12
    cluster.start_worker(victim)
    cluster.wait_for_workers(3)


def test_a_hung_worker_is_declared_lost_and_the_job_finishes(cluster):
    sc = cluster.sc
    victim = 1
    cluster.procs[victim].send_signal(signal.SIGSTOP)  # alive, but silent: no heartbeats
    try:
        started = time.monotonic()
        assert sc.parallelize(range(300), 12).map(slow_square).sum() == sum(x * x for x in range(300))
        assert time.monotonic() - started < 30
        assert cluster.procs[victim].pid not in cluster.pids()
    finally:
        cluster.kill(victim)
    cluster.start_worker(victim)
    cluster.wait_for_workers(3)


def test_replicated_blocks_survive_a_killed_worker(cluster, tmp_path):
    from fastrdd import StorageLevel

    sc = cluster.sc
    marks = str(tmp_path)

    def mark(split, iterator):
        open(os.path.join(marks, f"{split}-{os.getpid()}"), "a").close()
        return iterator

    rdd = sc.parallelize(range(90), 9).mapPartitionsWithIndex(mark)
    rdd.persist(StorageLevel.MEMORY_ONLY_2)
    assert rdd.sum() == sum(range(90)) and len(os.listdir(marks)) == 9
    sched = sc._scheduler
    keys = [(rdd.id(), s) for s in range(9)]
    assert all(sched.replica_locs[k] != sched.cache_locs[k] for k in keys)  # copies elsewhere
    key = keys[0]
    pid = sched.executors[sched.cache_locs[key]].info.pid
    victim = next(i for i, p in cluster.procs.items() if p.pid == pid)
    cluster.kill(victim)
    assert sorted(rdd.collect()) == list(range(90))
    assert len(os.listdir(marks)) == 9  # read from the copies, nothing recomputed
    cluster.start_worker(victim)
    cluster.wait_for_workers(3)
    rdd.unpersist()


def test_chaos_random_kills_during_a_multi_stage_job(cluster):
    import random
    import threading

    sc = cluster.sc
    rng = random.Random(7)
    expected = None
    for round_ in range(3):
        rdd = (sc.parallelize(range(300), 15).map(slow_square).map(lambda x: (x % 11, x))
               .reduceByKey(lambda a, b: a + b, 5).map(lambda kv: (kv[1] % 3, kv[0]))
               .groupByKey().mapValues(sorted))
        victim = rng.randrange(3)
        timer = threading.Timer(0.2 + rng.random() * 0.4, cluster.kill, args=(victim,))
        timer.start()
        result = sorted(rdd.collect())
        timer.join()
        if expected is None:
            groups = {}
            for x in range(300):
                groups[x * x % 11] = groups.get(x * x % 11, 0) + x * x
            by = {}
            for k, total in groups.items():
                by.setdefault(total % 3, []).append(k)
            expected = sorted((k, sorted(v)) for k, v in by.items())
        assert result == expected, f"round {round_}"
        cluster.start_worker(victim)
        cluster.wait_for_workers(3)


# -- security -------------------------------------------------------------------
def raw_client(endpoint, frames, wait=1.0):
    """Send ``frames`` from an unauthenticated DEALER; whatever comes back within ``wait``."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(endpoint)
    sock.send_multipart(frames)
    replies = sock.recv_multipart() if sock.poll(int(wait * 1000)) else None
    ctx.destroy(0)
    return replies


class CreateFile:
    """Unpickling this creates a file: what an attacker would send."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_unauthenticated_pickles_are_never_unpickled(cluster, tmp_path):
    sc = cluster.sc
    target = tmp_path / "pwned"
    evil = pickle.dumps(CreateFile(str(target)))
    dropped = sc._backend.security.dropped
    # the driver's port: bare pickle, pickle with a wrong tag, pickle as a forged task result
    raw_client(f"tcp://127.0.0.1:{cluster.port}", [evil])
    raw_client(f"tcp://127.0.0.1:{cluster.port}", [b"\0" * 32, evil])
    raw_client(f"tcp://127.0.0.1:{cluster.port}", [b"\0" * 32, protocol.dumps(
        protocol.TaskDone(0, ("P", evil), [], [], {}, None, (0, 0), []))])
    # a worker's block port
    address = next(iter(sc._backend.executors().values())).block_address
    assert raw_client(address, [evil]) is None
    assert raw_client(address, [b"\0" * 32, evil]) is None
    time.sleep(0.3)
    assert not target.exists()
    assert sc._backend.security.dropped >= dropped + 3
    assert sc.parallelize(range(10), 3).sum() == 45  # and the cluster still works


def test_a_wrong_version_worker_is_refused_with_both_versions(cluster):
    security = Security.for_worker("127.0.0.1", cluster.port)
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(f"tcp://127.0.0.1:{cluster.port}")
    hello = handshake.hello("elsewhere", 4242, 1, 1 << 30, "tcp://127.0.0.1:1")
    fake = hello.replace(b'"python": "%d.%d"' % sys.version_info[:2], b'"python": "2.7"')
    sock.send_multipart(security.sign(fake))
    assert sock.poll(5000)
    reply = handshake.decode(security.verify(sock.recv_multipart(), 1)[0])
    ctx.destroy(0)
    assert reply["kind"] == "refused"
    assert "python 2.7 on worker elsewhere (pid 4242)" in reply["reason"]
    assert "%d.%d on the driver" % sys.version_info[:2] in reply["reason"]
    assert len(cluster.sc._backend.executors()) == 3


def test_driver_refuses_a_public_address_without_keys(tmp_path):
    with pytest.raises(Exception, match="without keys"):
        Security.for_driver("0.0.0.0", free_port())


def test_keygen_and_curve_on_loopback(tmp_path):
    """With keys, only allow-listed workers join; a stranger's key cannot connect."""
    active = SparkContext._active_spark_context
    keys = tmp_path / "keys"
    for name in ("driver", "worker1"):
        subprocess.run([sys.executable, "-m", "fastrdd.cluster.worker", "keygen", str(keys),
                        "--name", name], check=True, env=dict(os.environ, PYTHONPATH=ROOT),
                       capture_output=True)
    assert oct(os.stat(keys / "worker1.key_secret").st_mode & 0o777) == "0o600"
    port = free_port()
    env = dict(os.environ, PYTHONPATH=ROOT)
    worker = subprocess.Popen([sys.executable, "-m", "fastrdd.cluster.worker", "--driver",
                               f"127.0.0.1:{port}", "--once", "--keys", str(keys), "--key-name",
                               "worker1", "--local-dir", str(tmp_path / "w")], env=env)
    if active is not None:
        active.stop()
    conf = (SparkConf().setMaster(f"fastrdd://127.0.0.1:{port}").set("fastrdd.cluster.keys", str(keys))
            .set("fastrdd.cluster.waitTimeout", "30"))
    sc = SparkContext(conf=conf)
    try:
        assert sc._backend.security.mode == "curve"
        assert sc.parallelize(range(100), 4).map(lambda x: (x % 3, x)).reduceByKey(
            lambda a, b: a + b).count() == 3
        # a stranger with a valid but unlisted key never gets through the handshake
        import zmq.auth

        stranger = tmp_path / "stranger"
        subprocess.run([sys.executable, "-m", "fastrdd.cluster.worker", "keygen", str(stranger),
                        "--name", "x"], check=True, env=env, capture_output=True)
        public, secret = zmq.auth.load_certificate(str(stranger / "x.key_secret"))
        server_public, _ = zmq.auth.load_certificate(str(keys / "driver.key"))
        ctx = zmq.Context()
        sock = ctx.socket(zmq.DEALER)
        sock.linger = 0
        sock.curve_publickey, sock.curve_secretkey, sock.curve_serverkey = public, secret, server_public
        sock.connect(f"tcp://127.0.0.1:{port}")
        sock.send_multipart([handshake.hello("x", 1, 1, 1, "tcp://127.0.0.1:1")])
        assert not sock.poll(1000)
        ctx.destroy(0)
        assert len(sc._backend.executors()) == 1
        # a secret key others can read is refused
        os.chmod(keys / "worker1.key_secret", 0o644)
        out = subprocess.run([sys.executable, "-m", "fastrdd.cluster.worker", "--driver",
                              f"127.0.0.1:{port}", "--once", "--keys", str(keys), "--key-name",
                              "worker1"], env=env, capture_output=True, text=True, timeout=30)
        assert out.returncode != 0 and "chmod 600" in out.stderr
    finally:
        sc.stop()
        worker.wait(10)


def test_workers_drop_a_dead_drivers_state_and_exit(tmp_path):
    port = free_port()
    env = dict(os.environ, PYTHONPATH=ROOT, FASTRDD_HOME=str(tmp_path / "home"))
    code = ("import time\nfrom fastrdd import SparkConf, SparkContext\n"
            f"sc = SparkContext(conf=SparkConf().setMaster('fastrdd://127.0.0.1:{port}')"
            ".set('fastrdd.cluster.minWorkers', '2'))\n"
            "print(sc.parallelize(range(10), 4).sum(), flush=True)\ntime.sleep(60)\n")
    driver = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                              text=True)
    deadline = time.monotonic() + 20
    while not os.path.exists(os.path.join(env["FASTRDD_HOME"], "tokens", f"{port}.token")):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    workers = [subprocess.Popen([sys.executable, "-m", "fastrdd.cluster.worker", "--driver",
                                 f"127.0.0.1:{port}", "--once", "--timeout", "2", "--local-dir",
                                 str(tmp_path / f"w{i}")], env=env) for i in range(2)]
    assert driver.stdout.readline().strip() == "45"
    driver.kill()
    driver.wait()
    driver.stdout.close()
    for w in workers:
        assert w.wait(20) == 75  # noticed the silence, dropped the state, exited
    assert not any(p.name.startswith("fastrdd-worker-") for p in tmp_path.glob("w*/*"))


def test_a_long_lived_worker_serves_one_driver_after_another(tmp_path):
    """Started before any driver, with two slots; each driver in turn gets both."""
    active = SparkContext._active_spark_context
    if active is not None:
        active.stop()
    port = free_port()
    env = dict(os.environ, PYTHONPATH=ROOT)
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "fastrdd.cluster.worker", "--driver", f"127.0.0.1:{port}",
         "--cores", "2", "--timeout", TIMEOUT, "--connect-timeout", "5",
         "--local-dir", str(tmp_path)], env=env)
    try:
        for round_ in range(2):
            conf = (SparkConf().setMaster(f"fastrdd://127.0.0.1:{port}")
                    .set("fastrdd.cluster.minWorkers", "2").set("fastrdd.cluster.waitTimeout", "60"))
            sc = SparkContext(conf=conf)
            try:
                assert sc.defaultParallelism == 2
                assert sc.parallelize(range(100), 4).map(lambda x: x + round_).sum() == \
                    sum(range(100)) + 100 * round_
            finally:
                sc.stop()
        assert supervisor.poll() is None  # still there for the next driver
    finally:
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(20) == 0


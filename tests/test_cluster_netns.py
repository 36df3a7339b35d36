"""Cluster mode between network namespaces: non-loopback addresses, CURVE on.

Two namespaces made by this test (as root), linked by a veth pair with the
private addresses 10.213.0.1 (driver) and 10.213.0.2 (workers): traffic
never leaves this machine.  Skipped, with the reason, where namespaces
cannot be made.
"""
import os
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.cluster

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DRIVER_IP, WORKER_IP = "10.213.0.1", "10.213.0.2"


def run(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


@pytest.fixture
def namespaces():
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and iproute2's `ip`")
    tag = f"fr{os.getpid() % 100000}"
    a, b = f"{tag}a", f"{tag}b"
    steps = [("netns", "add", a), ("netns", "add", b),
             ("link", "add", f"{tag}va", "type", "veth", "peer", "name", f"{tag}vb"),
             ("link", "set", f"{tag}va", "netns", a), ("link", "set", f"{tag}vb", "netns", b),
             ("-n", a, "addr", "add", f"{DRIVER_IP}/24", "dev", f"{tag}va"),
             ("-n", b, "addr", "add", f"{WORKER_IP}/24", "dev", f"{tag}vb"),
             ("-n", a, "link", "set", f"{tag}va", "up"), ("-n", b, "link", "set", f"{tag}vb", "up"),
             ("-n", a, "link", "set", "lo", "up"), ("-n", b, "link", "set", "lo", "up")]
    try:
        for step in steps:
            out = run("ip", *step)
            if out.returncode != 0:
                pytest.skip(f"cannot make network namespaces here: ip {' '.join(step)}: "
                            f"{out.stderr.strip()}")
        yield a, b
    finally:
        run("ip", "netns", "del", a)
        run("ip", "netns", "del", b)


DRIVER = f"""
import sys
from fastrdd import SparkConf, SparkContext
conf = (SparkConf().setMaster("fastrdd://{DRIVER_IP}:7077").set("fastrdd.cluster.keys", sys.argv[1])
        .set("fastrdd.cluster.minWorkers", "2").set("fastrdd.cluster.waitTimeout", "60"))
sc = SparkContext(conf=conf)
pairs = sc.parallelize([(i % 17, i) for i in range(2000)], 8)
print(sorted(pairs.reduceByKey(lambda a, b: a + b, 4).collect()) == sorted(
    (k, sum(i for i in range(2000) if i % 17 == k)) for k in range(17)))
print(sorted({{e.block_address.split("|")[0].rsplit(":", 1)[0] for e in sc._backend.executors().values()}}))
print(sc._backend.security.mode)
sc.stop()
"""


def test_workers_in_another_namespace_with_curve(namespaces, tmp_path):
    a, b = namespaces
    keys = tmp_path / "keys"
    env = dict(os.environ, PYTHONPATH=ROOT)
    for name in ("driver", "w1", "w2"):
        subprocess.run([sys.executable, "-m", "fastrdd.cluster.worker", "keygen", str(keys),
                        "--name", name], check=True, env=env, capture_output=True)
    driver = subprocess.Popen(["ip", "netns", "exec", a, sys.executable, "-c", DRIVER, str(keys)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    workers = [subprocess.Popen(
        ["ip", "netns", "exec", b, sys.executable, "-m", "fastrdd.cluster.worker", "--driver",
         f"{DRIVER_IP}:7077", "--keys", str(keys), "--key-name", name, "--bind", WORKER_IP,
         "--once", "--local-dir", str(tmp_path / name)], env=env) for name in ("w1", "w2")]
    try:
        out, err = driver.communicate(timeout=120)
    finally:
        for w in workers:
            try:
                w.wait(20)
            except subprocess.TimeoutExpired:
                w.kill()
                w.wait()
    assert driver.returncode == 0, err
    assert out.split("\n")[:3] == ["True", f"['tcp://{WORKER_IP}']", "curve"]

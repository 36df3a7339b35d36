"""The files in deploy/ cannot run here; they must parse and use only real worker options."""
import os
import pathlib
import re
import shlex
import subprocess

import pytest
import yaml

from fastrdd.cluster.worker import parse_args

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEPLOY = os.path.join(ROOT, "deploy")


def worker_args(command):
    """The arguments after ``fastrdd-worker`` in a shell command, variables made concrete."""
    command = re.sub(r"\$\{[^}]*\}|\$\w+", "7", command.replace("\\\n", " "))
    words = shlex.split(command)
    words = words[words.index("fastrdd-worker") + 1:]
    return words[:-1] if words and words[-1] == "&" else words


def test_kubernetes_manifest_is_valid_and_uses_real_worker_options():
    with open(os.path.join(DEPLOY, "kubernetes", "fastrdd.yaml")) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    kinds = {d["kind"]: d for d in docs}
    assert set(kinds) == {"Service", "Job", "Deployment"}
    for doc in docs:
        assert doc["apiVersion"] and doc["metadata"]["name"]
    service = kinds["Service"]
    port = service["spec"]["ports"][0]["port"]
    worker = kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert worker["command"] == ["fastrdd-worker"]
    args = parse_args([a.replace("$(POD_IP)", "10.0.0.1") for a in worker["args"]])
    assert (args.driver_host, args.driver_port) == (service["metadata"]["name"], port)
    assert args.keys == "/keys" and args.cores == 2
    mounts = {m["name"] for m in worker["volumeMounts"]}
    assert "keys" in mounts
    selector = kinds["Deployment"]["spec"]["selector"]["matchLabels"]
    assert selector.items() <= kinds["Deployment"]["spec"]["template"]["metadata"]["labels"].items()
    assert service["spec"]["selector"].items() <= \
        kinds["Job"]["spec"]["template"]["metadata"]["labels"].items()


def test_slurm_script_parses_and_uses_real_worker_options():
    path = os.path.join(DEPLOY, "slurm", "fastrdd.sbatch")
    assert subprocess.run(["bash", "-n", path]).returncode == 0
    text = pathlib.Path(path).read_text()
    commands = re.findall(r"^\s*fastrdd-worker (?:[^\n]*\\\n)*[^\n]*", text, re.M)
    assert len(commands) == 1
    args = parse_args(worker_args(commands[0]))
    assert args.once and args.keys == "7" and args.key_name == "worker"


def test_ssh_script_starts_and_stops_workers_with_real_options(tmp_path):
    """Run it with a stand-in ``ssh`` that records what it would run on each host."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "ssh.log"
    fake = bin_dir / "ssh"
    fake.write_text(f"#!/bin/bash\nshift\necho \"$@\" >> {log}\n")
    fake.chmod(0o755)
    hosts = tmp_path / "hosts.txt"
    hosts.write_text("# the cluster\nnode1\n\nnode2 extra\n")
    script = os.path.join(DEPLOY, "ssh", "fastrdd-cluster")
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    out = subprocess.run([script, "start", str(hosts), "node0:7077", "4", "/etc/fastrdd/keys"],
                         env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lines = log.read_text().splitlines()
    assert len(lines) == 2
    for host, line in zip(["node1", "node2"], lines):
        args = parse_args(worker_args(line.split(" > ")[0].replace("nohup ", "")))
        assert (args.driver_host, args.driver_port, args.cores) == ("node0", 7077, 4)
        assert (args.bind, args.keys, args.key_name) == (host, "/etc/fastrdd/keys", host)
    out = subprocess.run([script, "stop", str(hosts)], env=env, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.count("stopped") == 2
    assert subprocess.run([script, "bogus"], env=env, capture_output=True).returncode == 2

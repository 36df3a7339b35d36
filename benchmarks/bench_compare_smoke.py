"""Smoke test of the macro benchmark: ``python -m benchmarks.compare --quick``.

    pytest benchmarks/bench_compare_smoke.py --benchmark-disable   (as in CI)

Runs every workload on fastrdd and the ideal loop at 1 MB (one run each) in a
subprocess, as a user would, and checks that it exits cleanly, that every
answer agreed with the ideal's and that the report has its tables.  It times
nothing that is asserted: with or without ``--benchmark-disable`` the
command runs exactly once.

The peak-memory figure adds fastrdd's files on tmpfs to RSS; the tests below
check, without starting an engine, that only the directories of the sampled
process tree are counted.
"""
import os
import subprocess
import sys

from benchmarks.engines import TreeSampler, is_on_tmpfs, scratch_bytes
from benchmarks.interleave import run_rounds
from benchmarks.workloads import exact

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_quick(report):
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.compare", "--quick", "--output", str(report)],
        cwd=REPO, capture_output=True, text=True, timeout=110)
    assert proc.returncode == 0, (
        f"compare --quick failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return report.read_text()


def test_compare_quick(benchmark, tmp_path):
    report = benchmark.pedantic(run_quick, args=(tmp_path / "RESULTS.md",), rounds=1, iterations=1)
    assert "Every engine gave the ideal's answer" in report
    for title in ("word count", "log mining", "logistic regression", "reduceByKey", "groupByKey",
                  "sortByKey", "join", "PageRank"):
        assert f"| {title}" in report
    assert "speed-up, median of the rounds'" in report


def test_paired_workloads_share_rounds_and_alternate():
    """Two forms of one job run in the same rounds, in alternating order, each form's
    engines checked against that form's own ideal."""
    calls = []

    def run_one(workload, engine, k):
        calls.append((k, workload, engine))
        answer = {"pagerank": 1, "pagerank_part": 1}[workload]
        if (workload, engine) == ("pagerank_part", "fastrdd") and k == 1:
            answer = 2  # a wrong answer in round 2 stops that engine, and only it
        return {"ok": True, "summary": exact(answer, str(answer)),
                "runs": [{"job": 1.0, "total": 1.0, "marks": {}}]}

    plan = {"pagerank": ["ideal", "fastrdd"], "pagerank_part": ["ideal", "fastrdd"]}
    results = run_rounds(plan, 3, 600, run_one)
    assert calls[:8] == [
        (0, "pagerank", "ideal"), (0, "pagerank", "fastrdd"),
        (0, "pagerank_part", "ideal"), (0, "pagerank_part", "fastrdd"),
        (1, "pagerank_part", "ideal"), (1, "pagerank_part", "fastrdd"),
        (1, "pagerank", "ideal"), (1, "pagerank", "fastrdd")]
    assert ("pagerank_part", "fastrdd") not in {(w, e) for k, w, e in calls[8:]}
    assert results[("pagerank", "fastrdd")]["ok"]
    assert len(results[("pagerank", "fastrdd")]["runs"]) == 3
    bad = results[("pagerank_part", "fastrdd")]
    assert not bad["ok"] and bad["verdict"] == "WRONG"


def write_file(path, size):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return os.stat(path).st_blocks * 512


def test_scratch_bytes_counts_only_the_trees_directories(tmp_path):
    mine, other = 4242, 4343
    expected = write_file(tmp_path / f"fastrdd-local-17-{mine}-ab/worker-0/shuffle_0_1.data",
                          100_000)
    expected += write_file(tmp_path / f"fastrdd-local-17-{mine}-ab-worker-1/spill/0.bin", 5000)
    expected += write_file(tmp_path / f"fastrdd-worker-{mine}-cd/blocks/b", 7000)
    write_file(tmp_path / f"fastrdd-local-17-{other}-ef/worker-0/shuffle_0_1.data", 50_000)
    write_file(tmp_path / f"unrelated-{mine}/file", 50_000)
    assert expected > 0
    assert scratch_bytes([str(tmp_path)], {mine}) == expected
    assert scratch_bytes([str(tmp_path)], set()) == 0
    assert scratch_bytes([str(tmp_path / "gone")], {mine}) == 0


def test_sampler_adds_tmpfs_bytes_of_the_same_sample(tmp_path):
    held = write_file(tmp_path / f"fastrdd-local-17-{os.getpid()}-ab/worker-0/data", 200_000)
    sampler = TreeSampler(os.getpid(), tmpfs_roots=[str(tmp_path)])
    rss, shm = sampler.sample()
    assert shm == held and rss > 0
    assert (sampler.peak_rss, sampler.peak_shm, sampler.peak_memory) == (rss, shm, rss + shm)


def test_is_on_tmpfs_takes_the_deepest_mount(tmp_path):
    mounts = tmp_path / "mounts"
    mounts.write_text("/dev/vda / ext4 rw 0 0\n"
                      "tmpfs /dev/shm tmpfs rw 0 0\n"
                      "tmpfs /mnt/with\\040space tmpfs rw 0 0\n")
    assert is_on_tmpfs("/dev/shm", str(mounts))
    assert is_on_tmpfs("/mnt/with space/x", str(mounts))
    assert not is_on_tmpfs("/dev/shmother", str(mounts))
    assert not is_on_tmpfs("/tmp", str(mounts))

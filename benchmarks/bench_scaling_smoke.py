"""Smoke test of the size curve: ``python -m benchmarks.scaling`` at two tiny sizes.

    pytest benchmarks/bench_scaling_smoke.py --benchmark-disable   (as in CI)

Runs reduceByKey and both PageRank forms on fastrdd and the ideal loop at 1 MB
and 2 MB (one run each, inputs in a temporary directory) in a subprocess, as a
user would, and checks that it exits cleanly and that the table has a column
per size, the records line per size, the sentence on growth and PageRank's
speed-up from partitioning at each size.  Nothing it times is
asserted: whether the ratio grows at such sizes is noise.
"""
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_scaling(tmp_path):
    report = tmp_path / "RESULTS-scaling.md"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.scaling", "--sizes", "1MB,2MB", "--workloads",
         "reducebykey,pagerank,pagerank_part", "--runs", "1", "--data-root", str(tmp_path / "data"),
         "--output", str(report)],
        cwd=REPO, capture_output=True, text=True, timeout=110)
    assert proc.returncode == 0, (
        f"scaling failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    assert proc.stdout == report.read_text()
    return proc.stdout


def test_scaling_tiny(benchmark, tmp_path):
    report = benchmark.pedantic(run_scaling, args=(tmp_path,), rounds=1, iterations=1)
    assert "| workload | 1MB | 2MB |" in report
    assert "| reducebykey | " in report and "failed" not in report
    assert "- 1MB: 39,062 pairs" in report and "- 2MB: 78,125 pairs" in report
    assert "The ratio grows" in report or "The ratio does not grow" in report
    assert "PageRank's speed-up from `partitionBy` + cache" in report
    assert "x) at 1MB, " in report and "x) at 2MB." in report

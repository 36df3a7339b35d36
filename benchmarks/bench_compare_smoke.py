"""Smoke test of the macro benchmark: ``python -m benchmarks.compare --quick``.

    pytest benchmarks/bench_compare_smoke.py --benchmark-disable   (as in CI)

Runs every workload on fastrdd and the ideal loop at 1 MB (one run each) in a
subprocess, as a user would, and checks that it exits cleanly, that every
answer agreed with the ideal's and that the report has its tables.  It times
nothing that is asserted: with or without ``--benchmark-disable`` the
command runs exactly once.
"""
import os
import subprocess
import sys

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

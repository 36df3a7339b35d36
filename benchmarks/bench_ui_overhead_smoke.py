"""Smoke test of ``python -m benchmarks.ui_overhead`` (tiny sizes, one run, nothing timed)."""
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_ui_overhead_quick():
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.ui_overhead", "--mb", "0.2", "--tasks", "20",
         "--runs", "1"], cwd=REPO, capture_output=True, text=True, timeout=110)
    assert proc.returncode == 0, f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    for mode in ("off", "on", "on+viewer"):
        assert f"  {mode} " in proc.stdout

"""Scheduling costs of the local executor: start-up and per-task overhead.

    pytest benchmarks/bench_executor.py --benchmark-only     (timed)
    pytest benchmarks/bench_executor.py --benchmark-disable  (smoke, as in CI)

``test_startup_to_first_result`` is the issue's start-up figure: context
creation to the first result of ``parallelize(range(1000)).map(2x).sum()``,
in a fresh interpreter (so imports count).  ``test_per_task_overhead`` runs
empty tasks; its mean divided by the task count is the overhead per task.
"""
import subprocess
import sys

import pytest

STARTUP = (
    "import time; t = time.perf_counter()\n"
    "from fastrdd import SparkContext\n"
    "sc = SparkContext('local[2]', 'startup')\n"
    "assert sc.parallelize(range(1000)).map(lambda x: 2 * x).sum() == 999000\n"
    "print(time.perf_counter() - t)\n"
    "sc.stop()\n"
)
TASKS = 200


def run_startup():
    out = subprocess.run([sys.executable, "-c", STARTUP], check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


def test_startup_to_first_result(benchmark):
    seconds = benchmark.pedantic(run_startup, rounds=3, iterations=1)
    assert seconds > 0


@pytest.fixture(scope="module")
def context():
    from fastrdd import SparkContext

    sc = SparkContext.getOrCreate()
    if sc.master != "local[2]":
        sc.stop()
        sc = SparkContext("local[2]", "bench")
    yield sc
    sc.stop()


def test_per_task_overhead(benchmark, context):
    rdd = context.parallelize(range(TASKS), TASKS)
    result = benchmark(rdd.count)
    assert result == TASKS


def test_pipelined_chain_overhead(benchmark, context):
    """A map/filter/flatMap chain over 1M records in one partition per worker."""
    rdd = context.parallelize(range(1_000_000), 2)
    chain = rdd.map(lambda x: x + 1).filter(lambda x: x & 1).flatMap(lambda x: (x, x))
    assert benchmark(chain.count) == 1_000_000

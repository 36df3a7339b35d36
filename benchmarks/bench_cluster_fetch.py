"""Smoke run of ``benchmarks/cluster_fetch.py`` (as in CI): both paths move every byte."""
from benchmarks import cluster_fetch


def test_cluster_fetch_smoke(benchmark):
    blocks, raw = benchmark.pedantic(cluster_fetch.main, args=(["--mb", "8", "--maps", "8",
                                                                 "--runs", "1"],),
                                     rounds=1, iterations=1)
    assert blocks > 0 and raw > 0

"""Shuffle hot paths, compiled twin beside the pure-Python twin.

Run::

    python -m pytest benchmarks/bench_shuffle.py -p no:cacheprovider \\
        --benchmark-columns=mean,ops --benchmark-group-by=func,param:kind

Every timed call handles ``RECORDS`` records (``DISTINCT`` for
``bucket_dict``), so ``ops`` times that is records per second; the
``--benchmark-json`` output carries it as ``records_per_s``.  CI runs
it once with ``--benchmark-disable`` as a smoke test.

Each scenario runs for three key kinds (``kind``): ``int`` (``k``),
``str`` (``"user000123"``, ASCII, 10 bytes) and ``tuple``
(``(k, "user000123")``).  ``RECORDS`` records cycle over ``DISTINCT`` keys,
ten values a key, about what a map-side combine sees.

``portable_hash``
    ``[portable_hash(k) for k in keys]``: the hash plus a Python call each.
``bucket_pairs``
    A list of records, the compiled twin's two-phase path.
``bucket_pairs_iter``
    The same records from an iterator: the one-pass path.
``combine_pairs``, ``bucket_dict``
    The map side of ``reduceByKey(add)``: combine, then split the dict.
``merge_combiners``, ``group_pairs``
    The reduce side of ``reduceByKey`` and of ``groupByKey``.
"""
import operator

import pytest

COMPILED = "fastrdd._shuffle"
TWIN = "fastrdd._shuffle_py"

#: Records per timed call: enough to hide pytest-benchmark's per-call
#: overhead, few enough that --benchmark-disable finishes at once.
RECORDS = 10_000
#: Distinct keys among the records.
DISTINCT = 1_000
#: Reduce partitions, a typical default parallelism.
PARTITIONS = 16


@pytest.fixture(scope="module", params=["compiled", "pure"])
def impl(request):
    from fastrdd._impl import SHUFFLE_API, load

    module = load(COMPILED, TWIN, SHUFFLE_API, pure=request.param == "pure")
    if request.param == "compiled" and module.__name__ != COMPILED:
        pytest.skip(f"{COMPILED} is not built (cythonize -i -3 fastrdd/_shuffle.pyx)")
    return module


def _keys(kind):
    if kind == "int":
        return list(range(DISTINCT))
    if kind == "str":
        return [f"user{k:06d}" for k in range(DISTINCT)]
    return [(k, f"user{k:06d}") for k in range(DISTINCT)]


@pytest.fixture(scope="module", params=["int", "str", "tuple"])
def kind(request):
    return request.param


@pytest.fixture(scope="module")
def records(kind):
    keys = _keys(kind)
    return [(keys[i % DISTINCT], i) for i in range(RECORDS)]


def _report(benchmark, count=RECORDS):
    stats = getattr(benchmark, "stats", None)
    if stats is not None and stats.stats.mean:
        benchmark.extra_info["records_per_s"] = round(count / stats.stats.mean)


def test_portable_hash(benchmark, impl, records):
    keys = [k for k, _ in records]

    def run(portable_hash=impl.portable_hash):
        return [portable_hash(k) for k in keys]

    hashes = benchmark(run)
    _report(benchmark)
    assert len(set(hashes)) == DISTINCT


def test_bucket_pairs(benchmark, impl, records):
    buckets = benchmark(impl.bucket_pairs, records, PARTITIONS)
    _report(benchmark)
    assert sum(map(len, buckets)) == RECORDS


def test_bucket_pairs_iter(benchmark, impl, records):
    buckets = benchmark(lambda: impl.bucket_pairs(iter(records), PARTITIONS))
    _report(benchmark)
    assert sum(map(len, buckets)) == RECORDS


def test_combine_pairs(benchmark, impl, records):
    combined = benchmark(impl.combine_pairs, records, int, operator.add)
    _report(benchmark)
    assert len(combined) == DISTINCT


def test_bucket_dict(benchmark, impl, records):
    combined = impl.combine_pairs(records, int, operator.add)
    buckets = benchmark(impl.bucket_dict, combined, PARTITIONS)
    _report(benchmark, DISTINCT)
    assert sum(map(len, buckets)) == DISTINCT


def test_merge_combiners(benchmark, impl, records):
    merged = benchmark(impl.merge_combiners, records, operator.add)
    _report(benchmark)
    assert len(merged) == DISTINCT


def test_group_pairs(benchmark, impl, records):
    groups = benchmark(impl.group_pairs, records)
    _report(benchmark)
    assert sum(map(len, groups.values())) == RECORDS

"""Record-batch codec throughput, compiled twin beside the pure-Python twin.

Run::

    python -m pytest benchmarks/bench_serde.py -p no:cacheprovider \\
        --benchmark-columns=mean,ops --benchmark-group-by=func,param:workload

Each timed call encodes (or decodes) one batch of ``RECORDS`` records, so the
``ops`` column times ``RECORDS`` is records per second; ``records_per_s`` in
``--benchmark-json`` output has it computed.  CI runs the file once with
``--benchmark-disable`` as a smoke test.

Workloads, each a batch of ``RECORDS`` records:

``int_pairs``
    ``(i, i * 2)``: the shape of ``parallelize(range(n)).map(...)`` output.
``word_pairs``
    ``("word17", 1)``: word count before ``reduceByKey``.
``key_list``
    ``(i, [i, "x"])``: ``groupByKey``-like values, lists as msgpack ext.
``pickled``
    ``(i, {"v": i})``: one dict per record sends the batch to pickle, so
    this times the fallback the codec picks for non-plain data.
"""
import pytest

COMPILED = "fastrdd._serde"
TWIN = "fastrdd._serde_py"

#: Records per batch: large enough that per-call overhead (one Packer or
#: writer, one memoryview) is noise, small enough that --benchmark-disable
#: (one call per case, pure twin included) stays well under a second.
RECORDS = 20_000

WORKLOADS = {
    "int_pairs": lambda n: [(i, i * 2) for i in range(n)],
    "word_pairs": lambda n: [(f"word{i % 100}", 1) for i in range(n)],
    "key_list": lambda n: [(i, [i, "x"]) for i in range(n)],
    "pickled": lambda n: [(i, {"v": i}) for i in range(n)],
}


@pytest.fixture(scope="module", params=["compiled", "pure"])
def impl(request):
    from fastrdd._impl import SERDE_API, load

    module = load(COMPILED, TWIN, SERDE_API, pure=request.param == "pure")
    if request.param == "compiled" and module.__name__ != COMPILED:
        pytest.skip(f"{COMPILED} is not built (cythonize -i -3 fastrdd/_serde.pyx)")
    return module


@pytest.fixture(scope="module", params=sorted(WORKLOADS))
def workload(request):
    return request.param


def _report(benchmark):
    stats = getattr(benchmark, "stats", None)
    if stats is not None and stats.stats.mean:
        benchmark.extra_info["records_per_s"] = round(RECORDS / stats.stats.mean)


def test_dumps_batch(benchmark, impl, workload):
    records = WORKLOADS[workload](RECORDS)
    data = benchmark(impl.dumps_batch, records)
    _report(benchmark)
    assert data[:1] == (b"P" if workload == "pickled" else b"M")


def test_loads_batch(benchmark, impl, workload):
    records = WORKLOADS[workload](RECORDS)
    data = impl.dumps_batch(records)
    result = benchmark(impl.loads_batch, data)
    _report(benchmark)
    assert result == records

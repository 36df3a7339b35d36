"""Block store throughput, compiled twin beside the pure-Python twin.

Run::

    python -m pytest benchmarks/bench_blockstore.py -p no:cacheprovider \\
        --benchmark-columns=mean,ops --benchmark-group-by=func

Each timed call performs ``OPS`` store operations, so divide the reported
``ops`` column by ``OPS`` for calls, or read ``store_ops_per_s`` in
``--benchmark-json`` output.  CI runs it once with ``--benchmark-disable``
as a smoke test.

Scenarios, each over ``BLOCKS`` keys shaped like the worker's
(``("rdd", id, partition)``):

``get_hit``
    Cycling ``get`` over cached blocks: every call moves a block to the
    newest end, the worker's hot path when tasks read cached partitions.
``put_evict``
    ``put`` into a store that holds half the keys, so every put evicts one
    block: a cache under memory pressure.
``put_replace``
    ``put`` over keys already held, with no capacity: recomputed partitions.
``pin_get_unpin``
    The full read of a cached partition by a task.
"""
import pytest

COMPILED = "fastrdd._core.blockstore"
TWIN = "fastrdd._core.blockstore_py"

#: Store operations per timed call: large enough to hide pytest-benchmark's
#: per-call overhead, small enough that --benchmark-disable stays instant.
OPS = 2_000
#: Distinct keys; bigger than a CPU cache line set, small next to a real cache.
BLOCKS = 1_000


@pytest.fixture(scope="module", params=["compiled", "pure"])
def impl(request):
    from fastrdd._impl import BLOCKSTORE_API, load

    module = load(COMPILED, TWIN, BLOCKSTORE_API, pure=request.param == "pure")
    if request.param == "compiled" and module.__name__ != COMPILED:
        pytest.skip(f"{COMPILED} is not built (cythonize -i -3 fastrdd/_core/blockstore.pyx)")
    return module


KEYS = [("rdd", 3, p) for p in range(BLOCKS)]
VALUE = [0] * 8


def _report(benchmark):
    stats = getattr(benchmark, "stats", None)
    if stats is not None and stats.stats.mean:
        benchmark.extra_info["store_ops_per_s"] = round(OPS / stats.stats.mean)


def test_get_hit(benchmark, impl):
    store = impl.BlockStore()
    for key in KEYS:
        store.put(key, VALUE, 64)
    keys = (KEYS * (OPS // BLOCKS + 1))[:OPS]

    def run(get=store.get):
        for key in keys:
            get(key)

    benchmark(run)
    _report(benchmark)
    assert len(store) == BLOCKS


def test_put_evict(benchmark, impl):
    store = impl.BlockStore(capacity_bytes=64 * BLOCKS // 2)
    keys = (KEYS * (OPS // BLOCKS + 1))[:OPS]

    def run(put=store.put):
        for key in keys:
            put(key, VALUE, 64)

    benchmark(run)
    _report(benchmark)
    assert len(store) == BLOCKS // 2


def test_put_replace(benchmark, impl):
    store = impl.BlockStore()
    for key in KEYS:
        store.put(key, VALUE, 64)
    keys = (KEYS * (OPS // BLOCKS + 1))[:OPS]

    def run(put=store.put):
        for key in keys:
            put(key, VALUE, 64)

    benchmark(run)
    _report(benchmark)
    assert store.used_bytes == 64 * BLOCKS


def test_pin_get_unpin(benchmark, impl):
    store = impl.BlockStore()
    for key in KEYS:
        store.put(key, VALUE, 64)
    keys = (KEYS * (OPS // 3 // BLOCKS + 1))[: OPS // 3]

    def run(pin=store.pin, get=store.get, unpin=store.unpin):
        for key in keys:
            pin(key)
            get(key)
            unpin(key)

    benchmark(run)
    _report(benchmark)
    assert store.pin_count(KEYS[0]) == 0

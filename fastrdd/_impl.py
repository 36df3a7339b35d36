"""The one place that chooses between compiled modules and their twins.

Every compiled module (``fastrdd._shuffle``, ``fastrdd._serde``,
``fastrdd._core.blockstore``, ``fastrdd._core.iterators``, ``fastrdd._core.sums``)
has a pure-Python twin with the same public names (``_shuffle_py``, ``_serde_py``,
``_core.blockstore_py``, ``_core.iterators_py``, ``_core.sums_py``).  The rest of
the package imports hot-path functions from here, never from a twin.

``FASTRDD_PUREPYTHON=1`` forces the twins; a missing compiled module (no
compiler at install time) falls back to them silently.  A SparkContext with
``fastrdd.purepython`` set calls ``select(pure=True)`` so that the driver
uses the twins as its workers do; users therefore read ``_impl.shuffle``
(etc.) when they call, never bind a twin's function at import time.
``IMPLEMENTATION`` records what was chosen, so tests and benchmarks can
report it.
"""
import importlib
import os

#: Public names each twin pair must provide.
SHUFFLE_API = (
    "portable_hash",
    "bucket_pairs",
    "combine_pairs",
    "combine_keys",
    "merge_combiners",
    "group_pairs",
    "bucket_dict",
    "index_pairs",
    "Matches",
    "probe_join",
)
SERDE_API = ("dumps_batch", "loads_batch")
BLOCKSTORE_API = ("BlockStore",)
ITERATORS_API = ("filter_contains", "filter_prefix", "take")
SUMS_API = ("NumericSums", "sum_pairs")

PURE_ENV = "FASTRDD_PUREPYTHON"


def want_pure():
    return os.environ.get(PURE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def load(compiled, twin, names, pure=None):
    """Import ``compiled`` (or ``twin`` when forced or unavailable)."""
    module = None
    if not (want_pure() if pure is None else pure):
        try:
            module = importlib.import_module(compiled)
        except ImportError:
            module = None
    if module is None:
        module = importlib.import_module(twin)
    missing = [n for n in names if not hasattr(module, n)]
    if missing:
        raise ImportError(f"{module.__name__} lacks {missing}")
    return module


def select(pure=None):
    """Choose the twins (``pure``) or the compiled modules for this process.

    ``None`` follows ``FASTRDD_PUREPYTHON``.
    """
    global shuffle, serde, blockstore, iterators, sums, IMPLEMENTATION, COMPILED
    shuffle = load("fastrdd._shuffle", "fastrdd._shuffle_py", SHUFFLE_API, pure)
    serde = load("fastrdd._serde", "fastrdd._serde_py", SERDE_API, pure)
    blockstore = load("fastrdd._core.blockstore", "fastrdd._core.blockstore_py", BLOCKSTORE_API,
                      pure)
    iterators = load("fastrdd._core.iterators", "fastrdd._core.iterators_py", ITERATORS_API, pure)
    sums = load("fastrdd._core.sums", "fastrdd._core.sums_py", SUMS_API, pure)
    IMPLEMENTATION = {
        "shuffle": shuffle.__name__,
        "serde": serde.__name__,
        "blockstore": blockstore.__name__,
        "iterators": iterators.__name__,
        "sums": sums.__name__,
    }
    COMPILED = not any(name.endswith("_py") for name in IMPLEMENTATION.values())


select()

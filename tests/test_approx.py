"""Tests of ``fastrdd.rdd.approx``: the HyperLogLog sketch and BoundedFloat.

The sketch is deterministic (``portable_hash`` plus a fixed mixer), so the
accuracy checks below are not flaky: they either hold for these inputs or
they do not.  Their bound is three standard errors, ``3 * relative_sd``.
"""
import hashlib
import math
import os
import pickle
import subprocess
import sys

import pytest
from hypothesis import given, settings, strategies as st

from fastrdd.rdd.approx import (
    MAX_PRECISION,
    MIN_PRECISION,
    BoundedFloat,
    HyperLogLog,
    precision_for,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SETTINGS = settings(max_examples=100, deadline=None)


def within(estimate, n, relative_sd):
    return abs(estimate - n) <= 3 * relative_sd * n


# --- precision and validation ------------------------------------------------


@pytest.mark.parametrize(
    "relative_sd, p",
    [(0.5, 4), (0.27, 4), (0.26, 5), (0.1, 7), (0.05, 9), (0.02, 12), (0.01, 14), (0.005, 16),
     (0.0021, 18), (0.001, 18), (0.00002, 18), (math.inf, 4), (1, 4)],
)
def test_precision_for(relative_sd, p):
    assert precision_for(relative_sd) == p
    assert HyperLogLog(relative_sd).p == p


@pytest.mark.parametrize("relative_sd", [0.3, 0.1, 0.07, 0.05, 0.03, 0.02, 0.01, 0.005, 0.003])
def test_precision_meets_requested_error(relative_sd):
    # Unclamped: the standard error 1.04 / sqrt(m) is at most what was asked.
    p = precision_for(relative_sd)
    assert MIN_PRECISION <= p <= MAX_PRECISION
    assert 1.04 / math.sqrt(2**p) <= relative_sd
    # And it is the smallest such p Spark's formula gives.
    assert p == max(MIN_PRECISION, math.ceil(2 * math.log2(1.054 / relative_sd)))


@pytest.mark.parametrize("relative_sd", [0.000017, 0.00001, 0.0, -0.05, math.nan, -math.inf])
def test_relative_sd_too_small(relative_sd):
    with pytest.raises(ValueError, match="relativeSD should be greater than 0.000017"):
        HyperLogLog(relative_sd)
    with pytest.raises(ValueError):
        precision_for(relative_sd)


@pytest.mark.parametrize("relative_sd", ["0.05", None, [0.05], 0.05j])
def test_relative_sd_must_be_a_number(relative_sd):
    with pytest.raises(TypeError, match="relativeSD must be a real number"):
        HyperLogLog(relative_sd)


def test_sparse_limit_validation():
    with pytest.raises(ValueError, match="sparse_limit"):
        HyperLogLog(sparse_limit=-1)
    assert not HyperLogLog(sparse_limit=0).is_sparse
    assert HyperLogLog().is_sparse


# --- accuracy ---------------------------------------------------------------


@pytest.mark.parametrize("relative_sd", [0.1, 0.05, 0.02, 0.01])
@pytest.mark.parametrize("n", [0, 1, 10, 1000, 100_000])
def test_accuracy_ints(relative_sd, n):
    estimate = HyperLogLog(relative_sd).add_all(range(n)).cardinality()
    assert type(estimate) is int
    assert within(estimate, n, relative_sd), (estimate, n)


@pytest.mark.parametrize("relative_sd", [0.05, 0.02, 0.01])
@pytest.mark.parametrize("n", [0, 1, 10, 1000, 20_000])
def test_accuracy_dense_from_the_start(relative_sd, n):
    # No exact phase: the register estimate alone, small range included.
    h = HyperLogLog(relative_sd, sparse_limit=0).add_all(range(n))
    assert not h.is_sparse
    estimate = h.cardinality()
    assert within(estimate, n, relative_sd), (estimate, n)
    if n == 0:
        assert estimate == 0


def test_small_sets_are_exact():
    h = HyperLogLog(0.05)
    assert h.cardinality() == 0
    for i in range(300):
        h.add(("k", i))
        assert h.cardinality() == i + 1
    assert h.is_sparse


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(str, id="str"),
        pytest.param(lambda i: ("row", i, str(i)), id="tuple"),
        pytest.param(lambda i: str(i).encode(), id="bytes"),
        pytest.param(lambda i: i + 0.5, id="float"),
        pytest.param(lambda i: -i * 7919, id="negative"),
    ],
)
@pytest.mark.parametrize("relative_sd", [0.05, 0.01])
def test_accuracy_other_types(make, relative_sd):
    n = 20_000
    estimate = HyperLogLog(relative_sd).add_all(make(i) for i in range(n)).cardinality()
    assert within(estimate, n, relative_sd), estimate


def test_duplicates_do_not_count():
    h = HyperLogLog(0.02).add_all(i % 2000 for i in range(50_000))
    assert within(h.cardinality(), 2000, 0.02)
    again = HyperLogLog(0.02).add_all(range(2000))
    assert h == again


@pytest.mark.parametrize("sparse_limit", [None, 0])
def test_equal_values_count_once(sparse_limit):
    def sketch(values):
        return HyperLogLog(0.05, sparse_limit=sparse_limit).add_all(values)

    assert sketch([1, 1.0, True]) == sketch([1])
    assert sketch([0, 0.0, False, -0.0]) == sketch([0])
    assert sketch(["a", "a", ("a",), ("a",)]) == sketch(["a", ("a",)])
    assert sketch([1, 1.0, True, 2, "2"]).cardinality() == 3


def test_add_is_add_all():
    one = HyperLogLog()
    for i in range(1000):
        assert one.add(i) is one
    assert one == HyperLogLog().add_all(range(1000))
    gen = (i for i in range(1000))
    h = HyperLogLog(sparse_limit=10)
    assert h.add_all(gen) is h
    assert next(gen, None) is None
    assert h == HyperLogLog(sparse_limit=10).add_all(list(range(1000)))


def test_unhashable_values_raise():
    with pytest.raises(TypeError):
        HyperLogLog().add([1, 2])


# --- merging ----------------------------------------------------------------

values = st.one_of(st.integers(-(10**6), 10**6), st.text(max_size=5), st.tuples(st.integers(0, 9)))


@SETTINGS
@given(
    st.lists(values, max_size=80),
    st.lists(values, max_size=80),
    st.integers(0, 60),
    st.sampled_from([0.3, 0.05]),
)
def test_merge_is_sketch_of_union(xs, ys, sparse_limit, relative_sd):
    def sketch(vals):
        return HyperLogLog(relative_sd, sparse_limit=sparse_limit).add_all(vals)

    a, b = sketch(xs), sketch(ys)
    b_before = b.copy()
    assert a.merge(b) is a
    assert a == sketch(xs + ys)
    assert b == b_before
    assert sketch(ys).merge(sketch(xs)) == sketch(xs + ys)


@pytest.mark.parametrize("relative_sd", [0.05, 0.01, 0.002])
def test_merge_dense_sketches(relative_sd):
    # p = 9 merges in Python, p = 14 and 18 through numpy.
    parts = [range(k * 30_000, k * 30_000 + 50_000) for k in range(3)]
    merged = HyperLogLog(relative_sd)
    for part in parts:
        merged.merge(HyperLogLog(relative_sd).add_all(part))
    whole = HyperLogLog(relative_sd).add_all(range(110_000))
    assert merged == whole
    assert within(merged.cardinality(), 110_000, max(relative_sd, 0.0021))


def test_merge_sparse_into_dense_and_back():
    dense = HyperLogLog(0.05).add_all(range(5000))
    sparse = HyperLogLog(0.05).add_all(range(4990, 5010))
    assert not dense.is_sparse and sparse.is_sparse
    expected = HyperLogLog(0.05).add_all(range(5010))
    assert dense.copy().merge(sparse) == expected
    assert sparse.copy().merge(dense) == expected


def test_merge_errors():
    with pytest.raises(ValueError, match="precision 9 and 14"):
        HyperLogLog(0.05).merge(HyperLogLog(0.01))
    with pytest.raises(TypeError, match="can only merge a HyperLogLog"):
        HyperLogLog().merge({1, 2})


# --- state: copy, pickle, determinism ---------------------------------------


@pytest.mark.parametrize("n", [0, 100, 50_000])
def test_pickle_round_trip(n):
    h = HyperLogLog(0.02).add_all(range(n))
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(h, protocol))
        assert back == h
        assert back.cardinality() == h.cardinality()
        assert back.relative_sd == 0.02 and back.p == h.p
        assert back.add_all(range(n, n + 10)) == h.copy().add_all(range(n, n + 10))


def test_copy_is_independent():
    for h in (HyperLogLog().add_all("abc"), HyperLogLog(sparse_limit=0).add_all("abc")):
        c = h.copy()
        assert c == h and c is not h
        c.add_all(range(1000))
        assert h.cardinality() == 3
        assert c != h


def test_same_sketch_with_pure_python_hash(monkeypatch):
    from fastrdd._impl import SHUFFLE_API, load

    keys = [*range(-500, 500), *map(str, range(500)), ("t", 1.5), None, b"xy", 2**70]
    compiled = HyperLogLog(0.05, sparse_limit=0).add_all(keys)
    from fastrdd import _impl

    monkeypatch.setattr(_impl, "shuffle", load("", "fastrdd._shuffle_py", SHUFFLE_API, pure=True))
    assert HyperLogLog(0.05, sparse_limit=0).add_all(keys) == compiled


SKETCH_DIGEST = """
import hashlib, sys
from fastrdd.rdd.approx import HyperLogLog
h = HyperLogLog(0.05, sparse_limit=0).add_all([*map(str, range(3000)), *range(3000), ("a", "b")])
sys.stdout.write(hashlib.sha256(bytes(h._registers)).hexdigest())
"""


def test_same_sketch_in_every_process():
    # Workers run with their own PYTHONHASHSEED; str hashing must not care.
    env = dict(os.environ, PYTHONHASHSEED="12345", PYTHONPATH=ROOT)
    out = subprocess.run(
        [sys.executable, "-c", SKETCH_DIGEST], env=env, capture_output=True, text=True, check=True
    ).stdout
    here = HyperLogLog(0.05, sparse_limit=0).add_all(
        [*map(str, range(3000)), *range(3000), ("a", "b")]
    )
    assert out == hashlib.sha256(bytes(here._registers)).hexdigest()


def test_repr_and_unhashable():
    assert repr(HyperLogLog(0.05)) == "HyperLogLog(relative_sd=0.05, p=9)"
    with pytest.raises(TypeError):
        hash(HyperLogLog())
    assert HyperLogLog() != "sketch"


# --- BoundedFloat -----------------------------------------------------------


def test_bounded_float():
    b = BoundedFloat(100.0, 0.95, 95.0, 105.0)
    assert isinstance(b, float)
    assert b == 100.0
    assert repr(b) == "100.0"
    assert (b.confidence, b.low, b.high) == (0.95, 95.0, 105.0)
    assert b + 1 == 101.0 and type(b + 1) is float
    assert BoundedFloat(3, 0.5, 1, 4) == 3.0


def test_bounded_float_pickles():
    b = BoundedFloat(2.5, 0.9, 2.0, 3.0)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(b, protocol))
        assert type(back) is BoundedFloat
        assert back == 2.5
        assert (back.confidence, back.low, back.high) == (0.9, 2.0, 3.0)

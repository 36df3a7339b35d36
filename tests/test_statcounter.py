"""Tests of ``fastrdd.statcounter.StatCounter`` against PySpark's behaviour.

The oracle is the ``statistics`` module (exact rational arithmetic) and
numpy.  Three routes must agree: merging values one by one, merging
counters built on arbitrary splits of the values (what ``RDD.stats()``
does across partitions), and the oracle.
"""
import math
import pickle
import re
import statistics
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from fastrdd.statcounter import StatCounter

NAN = float("nan")
INF = float("inf")

SETTINGS = settings(max_examples=150, deadline=None)

# Bounded so that sums of squares stay finite and the oracle stays fast.
numbers = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(10**6), max_value=10**6),
)
value_lists = st.lists(numbers, max_size=60)


def state(s):
    return (s.n, s.mu, s.m2, s.maxValue, s.minValue)


def close(a, b, scale):
    """``a`` and ``b`` agree to rounding, relative to the data's scale."""
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9 * scale)


def assert_matches_reference(s, xs):
    scale = 1.0 + max((abs(x) for x in xs), default=0.0)
    floats = [float(x) for x in xs]
    assert s.count() == len(xs)
    assert type(s.count()) is int
    if not xs:
        return
    assert close(s.mean(), statistics.fmean(floats), scale)
    assert close(s.sum(), math.fsum(floats), scale * len(xs))
    assert s.min() == min(floats)
    assert s.max() == max(floats)
    assert close(s.variance(), statistics.pvariance(floats), scale**2)
    assert close(s.stdev(), statistics.pstdev(floats), scale)
    assert close(s.variance(), float(np.var(floats)), scale**2)
    if len(xs) > 1:
        assert close(s.sampleVariance(), statistics.variance(floats), scale**2)
        assert close(s.sampleStdev(), statistics.stdev(floats), scale)
        assert close(s.sampleStdev(), float(np.std(floats, ddof=1)), scale)
    else:
        assert math.isnan(s.sampleVariance())
        assert math.isnan(s.sampleStdev())


@SETTINGS
@given(value_lists)
def test_matches_reference(xs):
    assert_matches_reference(StatCounter(xs), xs)


@SETTINGS
@given(value_lists)
def test_constructor_is_merge_one_by_one(xs):
    one_by_one = StatCounter()
    for x in xs:
        assert one_by_one.merge(x) is one_by_one
    # The same arithmetic in the same order: bit-for-bit equal.
    assert state(StatCounter(xs)) == state(one_by_one)


@SETTINGS
@given(st.data())
def test_merging_partial_counters_matches(data):
    xs = data.draw(value_lists, label="xs")
    cuts = sorted(data.draw(st.lists(st.integers(0, len(xs)), max_size=6), label="cuts"))
    bounds = [0, *cuts, len(xs)]
    parts = [StatCounter(xs[a:b]) for a, b in zip(bounds, bounds[1:])]

    left = StatCounter()
    for part in parts:
        assert left.mergeStats(part) is left
    assert_matches_reference(left, xs)

    # A tree of merges, as reduce over partitions might do it.
    level = [p.copy() for p in parts]
    while len(level) > 1:
        pairs = zip(level[0::2], level[1::2])
        level = [a.mergeStats(b) for a, b in pairs] + level[len(level) - len(level) % 2 :]
    assert_matches_reference(level[0], xs)


@SETTINGS
@given(value_lists, value_lists)
def test_merge_stats_leaves_other_alone(xs, ys):
    other = StatCounter(ys)
    before = state(other)
    StatCounter(xs).mergeStats(other)
    assert state(other) == before


def test_empty():
    s = StatCounter()
    assert s.count() == 0
    assert s.mean() == 0.0 and type(s.mean()) is float
    assert s.sum() == 0.0
    assert s.min() == INF
    assert s.max() == -INF
    for stat in (s.variance, s.sampleVariance, s.stdev, s.sampleStdev):
        assert math.isnan(stat())
    assert repr(s) == "(count: 0, mean: 0.0, stdev: nan, max: -inf, min: inf)"
    assert StatCounter([]).count() == 0
    assert StatCounter(iter(())).count() == 0


def test_single_value():
    s = StatCounter([5])
    assert (s.count(), s.mean(), s.sum(), s.min(), s.max()) == (1, 5.0, 5.0, 5.0, 5.0)
    assert s.variance() == 0.0
    assert s.stdev() == 0.0
    assert math.isnan(s.sampleVariance())
    assert math.isnan(s.sampleStdev())


def test_pyspark_doc_example():
    s = StatCounter([1, 2, 3])
    assert repr(s) == "(count: 3, mean: 2.0, stdev: 0.816496580927726, max: 3.0, min: 1.0)"
    assert s.sampleStdev() == 1.0


def test_return_types_for_int_values():
    s = StatCounter([1, 2, True])
    assert type(s.count()) is int
    for value in (s.mean(), s.sum(), s.min(), s.max(), s.stdev(), s.variance()):
        assert type(value) is float
    assert s.max() == 2.0
    assert s.min() == 1.0


@pytest.mark.parametrize(
    "values",
    [
        [np.float64(1.5), np.float64(2.5)],
        [np.int64(1), np.int64(4)],
        [np.float32(0.5), np.float32(8.0)],
        [Fraction(1, 2), Fraction(3, 2)],
    ],
)
def test_real_number_types_act_as_floats(values):
    s = StatCounter(values)
    ref = StatCounter([float(v) for v in values])
    assert state(s) == state(ref)
    assert all(type(x) is float for x in (s.mean(), s.min(), s.max(), s.stdev()))
    # merge() takes the same path as the constructor.
    one = StatCounter()
    for v in values:
        one.merge(v)
    assert state(one) == state(ref)


def test_numpy_float_array_is_scalars():
    s = StatCounter(np.array([1.0, 2.0, 3.0, 4.0]))
    assert state(s) == state(StatCounter([1.0, 2.0, 3.0, 4.0]))


def test_big_ints():
    s = StatCounter([10**20, 3 * 10**20])
    assert s.mean() == 2e20
    assert s.max() == 3e20


@pytest.mark.parametrize("bad", ["3", None, [1, 2], Decimal("1.5"), 1j, object()])
def test_merge_rejects_non_numbers(bad):
    # PySpark fails too (``value - self.mu``); here the message names the value.
    with pytest.raises(TypeError, match="real numbers or numpy arrays"):
        StatCounter().merge(bad)
    with pytest.raises(TypeError):
        StatCounter([1.0, bad])


@pytest.mark.parametrize("bad", [None, 1.0, [1.0], {"n": 1}])
def test_merge_stats_rejects_non_counters(bad):
    with pytest.raises(TypeError, match="Can only merge StatCounter"):
        StatCounter([1]).mergeStats(bad)


def test_nan_sticks_to_min_and_max():
    # PySpark uses numpy.maximum/minimum, which propagate NaN.
    for values in ([1.0, NAN, 2.0], [NAN, 1.0], [1.0, NAN]):
        s = StatCounter(values)
        assert math.isnan(s.max()) and math.isnan(s.min()), values
        assert math.isnan(s.mean())
        merged = StatCounter(values[:1]).mergeStats(StatCounter(values[1:]))
        assert math.isnan(merged.max()) and math.isnan(merged.min()), values


def test_infinite_values():
    s = StatCounter([1.0, INF])
    assert s.max() == INF
    assert s.mean() == INF
    assert math.isnan(s.variance())
    assert StatCounter([-INF, 0.0]).min() == -INF


@pytest.mark.parametrize("left", [[], [4.0]])
@pytest.mark.parametrize("right", [[], [1.0, 7.0]])
def test_merge_stats_with_empty_sides(left, right):
    s = StatCounter(left).mergeStats(StatCounter(right))
    assert_matches_reference(s, left + right)
    assert s.min() == min(left + right, default=INF)
    assert s.max() == max(left + right, default=-INF)


def test_merge_stats_with_itself_doubles_weights():
    s = StatCounter([1, 3, 8])
    assert s.mergeStats(s) is s
    assert_matches_reference(s, [1, 3, 8, 1, 3, 8])
    empty = StatCounter()
    assert empty.mergeStats(empty).count() == 0


def test_merge_stats_weighting_branches():
    # The three mean formulas (one side ten times the other, or neither).
    for n_big, n_small in ((100, 3), (3, 100), (10, 10)):
        xs = [float(i) for i in range(n_big)]
        ys = [1000.0 + i for i in range(n_small)]
        assert_matches_reference(StatCounter(xs).mergeStats(StatCounter(ys)), xs + ys)


def test_copy_is_independent():
    a = StatCounter([1, 2, 3])
    b = a.copy()
    assert b is not a and type(b) is StatCounter
    assert state(a) == state(b)
    b.merge(100)
    assert a.count() == 3 and a.max() == 3.0
    a.mergeStats(StatCounter([-5]))
    assert b.count() == 4 and b.min() == 1.0


def test_pickle_round_trip():
    s = StatCounter([1.5, -2, 8])
    t = pickle.loads(pickle.dumps(s))
    assert type(t) is StatCounter
    assert state(t) == state(s)
    assert state(t.merge(4)) == state(s.merge(4))


def test_as_dict_follows_pyspark_flag():
    s = StatCounter([1.0, 2.0, 3.0, 4.0])
    d = s.asDict()
    assert set(d) == {"count", "mean", "sum", "min", "max", "stdev", "variance"}
    assert d["count"] == 4 and type(d["count"]) is int
    assert (d["mean"], d["sum"], d["min"], d["max"]) == (2.5, 10.0, 1.0, 4.0)
    # PySpark: the default reports the sample (n - 1) figures ...
    assert d["stdev"] == s.sampleStdev() == pytest.approx(1.2909944487358056)
    assert d["variance"] == s.sampleVariance()
    # ... and sample=True the population (n) ones.
    p = s.asDict(sample=True)
    assert p["stdev"] == s.stdev() == pytest.approx(1.118033988749895)
    assert p["variance"] == s.variance() == 1.25
    assert {k: p[k] for k in ("count", "mean", "sum", "min", "max")} == {
        k: d[k] for k in ("count", "mean", "sum", "min", "max")
    }


def test_as_dict_empty():
    d = StatCounter().asDict()
    assert d["count"] == 0
    assert math.isnan(d["stdev"]) and math.isnan(d["variance"])


REPR = re.compile(r"^\(count: (\d+), mean: (\S+), stdev: (\S+), max: (\S+), min: (\S+)\)$")


@SETTINGS
@given(value_lists)
def test_repr_format(xs):
    s = StatCounter(xs)
    match = REPR.match(repr(s))
    assert match, repr(s)
    assert match.groups() == (
        str(s.count()),
        str(s.mean()),
        str(s.stdev()),
        str(s.max()),
        str(s.min()),
    )


def test_numpy_arrays_as_pyspark():
    # PySpark's test_statcounter_array, number for number.
    s = StatCounter([np.array([1.0, 1.0]), np.array([2.0, 2.0]), np.array([3.0, 3.0])])
    assert s.mean().tolist() == [2.0, 2.0]
    assert s.min().tolist() == [1.0, 1.0]
    assert s.max().tolist() == [3.0, 3.0]
    assert s.sampleStdev().tolist() == [1.0, 1.0]
    d = s.asDict()
    assert d["count"] == 3
    assert d["sum"].tolist() == [6.0, 6.0]
    assert d["stdev"].tolist() == [1.0, 1.0]
    assert d["variance"].tolist() == [1.0, 1.0]
    p = s.asDict(sample=True)
    assert p["stdev"].tolist() == [0.816496580927726, 0.816496580927726]
    assert p["variance"].tolist() == [0.6666666666666666, 0.6666666666666666]


@SETTINGS
@given(st.data())
def test_numpy_arrays_elementwise(data):
    rows = data.draw(
        st.lists(
            st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=3, max_size=3),
            min_size=1,
            max_size=20,
        )
    )
    cut = data.draw(st.integers(0, len(rows)))
    arrays = [np.array(r) for r in rows]
    ref = np.array(rows)
    for s in (
        StatCounter(arrays),
        StatCounter(arrays[:cut]).mergeStats(StatCounter(arrays[cut:])),
    ):
        assert s.count() == len(rows)
        np.testing.assert_allclose(s.mean(), ref.mean(axis=0), rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(s.variance(), ref.var(axis=0), rtol=1e-9, atol=1e-6)
        np.testing.assert_array_equal(s.max(), ref.max(axis=0))
        np.testing.assert_array_equal(s.min(), ref.min(axis=0))


def test_numpy_arrays_are_not_aliased():
    source = StatCounter([np.array([1.0, 2.0])])
    before = [v.copy() if isinstance(v, np.ndarray) else v for v in state(source)]
    target = StatCounter().mergeStats(source)
    target.merge(np.array([5.0, 6.0]))
    target.mergeStats(StatCounter([np.array([-1.0, 9.0])]))
    for was, now in zip(before, state(source)):
        np.testing.assert_array_equal(was, now)
    copy = target.copy()
    copy.merge(np.array([100.0, 100.0]))
    assert target.count() == 3 and target.max().tolist() == [5.0, 9.0]


def test_scalars_then_arrays_broadcast():
    s = StatCounter([1.0, np.array([3.0, 5.0])])
    assert s.mean().tolist() == [2.0, 3.0]
    assert s.max().tolist() == [3.0, 5.0]
    s.merge(2)
    assert s.count() == 3 and s.min().tolist() == [1.0, 1.0]

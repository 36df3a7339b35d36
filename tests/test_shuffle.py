"""Tests of ``fastrdd._shuffle``: both twins, one suite.

Tests taking ``impl`` run against the compiled module and against the
pure-Python twin, comparing with plain-Python reference functions written
here (lists, ``setdefault``, no cleverness).  ``fastrdd._shuffle_py`` is
the specification, so the tests taking ``compiled`` check with Hypothesis
that the compiled module returns exactly what the twin returns, errors
included.  ``test_*_across_processes`` check what partitioning depends on
most: workers started with different ``PYTHONHASHSEED`` values agree.
"""
import collections
import datetime
import decimal
import fractions
import json
import operator
import os
import pickle
import subprocess
import sys

import pytest
from hypothesis import given, settings, strategies as st

COMPILED = "fastrdd._shuffle"
TWIN = "fastrdd._shuffle_py"

#: Hypothesis examples per property: the machine is shared, and each
#: example already covers many keys.
EXAMPLES = 150

UTC = datetime.timezone.utc


@pytest.fixture(scope="module", params=["compiled", "pure"])
def impl(request):
    """The module under test; the compiled param fails if it is not built."""
    from fastrdd._impl import SHUFFLE_API, load, want_pure

    pure = request.param == "pure"
    module = load(COMPILED, TWIN, SHUFFLE_API, pure=pure)
    if not pure and module.__name__ != COMPILED:
        if want_pure():
            pytest.skip("FASTRDD_PUREPYTHON is set and the compiled shuffle is not built")
        pytest.fail(
            f"{COMPILED} is not built; run `cythonize -i -3 fastrdd/_shuffle.pyx` "
            "(or set FASTRDD_PUREPYTHON=1 to test the twin only)"
        )
    return module


@pytest.fixture(scope="module")
def twin():
    """The specification."""
    from fastrdd._impl import SHUFFLE_API, load

    return load(COMPILED, TWIN, SHUFFLE_API, pure=True)


@pytest.fixture(scope="module")
def compiled(twin):
    """The compiled module, for comparing against the twin."""
    from fastrdd._impl import SHUFFLE_API, load, want_pure

    module = load(COMPILED, TWIN, SHUFFLE_API, pure=False)
    if module is twin:
        if want_pure():
            pytest.skip("FASTRDD_PUREPYTHON is set and the compiled shuffle is not built")
        pytest.fail(f"{COMPILED} is not built; run `cythonize -i -3 fastrdd/_shuffle.pyx`")
    return module


def outcome(func, *args):
    """What a call returns, or the type and message of what it raises."""
    try:
        return ("ok", func(*args))
    except Exception as e:  # noqa: BLE001 - the exception is the result
        return ("raised", type(e), str(e))


# -- strategies ----------------------------------------------------------------

alphabet = st.one_of(
    st.characters(),
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),  # lone surrogates
    st.sampled_from("aZ0 é€日😀"),
)
timezones = st.none() | st.just(UTC) | st.builds(
    datetime.timezone,
    st.timedeltas(min_value=datetime.timedelta(hours=-23), max_value=datetime.timedelta(hours=23)),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**200), max_value=2**200),
    st.floats(),  # NaN, infinities and -0.0 included
    st.text(alphabet, max_size=40),
    st.binary(max_size=40),
    st.binary(max_size=40).map(memoryview),
    st.complex_numbers(),
    st.decimals(allow_nan=False),
    st.just(decimal.Decimal("NaN")),
    st.fractions(),
    st.dates(),
    st.datetimes(timezones=timezones),
    st.times(timezones=timezones),
    st.timedeltas(),
)
keys = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4).map(tuple),
        st.frozensets(children, max_size=4),
    ),
    max_leaves=12,
)
#: Keys of a few hundred distinct values, so that random records repeat keys.
small_keys = st.one_of(
    st.integers(-20, 20),
    st.sampled_from([0.0, -0.0, 1.0, 2.5, True, False, None]),
    st.text("abc", max_size=2),
    st.tuples(st.integers(0, 3), st.text("ab", max_size=1)),
)
records = st.lists(st.tuples(small_keys, st.integers()), max_size=60)


def equal_variant(key):
    """A key that compares equal to ``key`` but is built differently."""
    if isinstance(key, bool):
        return int(key)
    if isinstance(key, int):
        f = float(key) if abs(key) < 2**60 else None
        return f if f is not None and f == key else decimal.Decimal(key)
    if isinstance(key, float):
        return fractions.Fraction(key) if key == key and abs(key) != float("inf") else key
    if isinstance(key, str):
        return _Str(key)
    if isinstance(key, bytes):
        return memoryview(key)
    if isinstance(key, tuple):
        items = [equal_variant(k) for k in key]
        return _Pair(*items) if len(items) == 2 else tuple(items)
    if isinstance(key, frozenset):
        return frozenset(equal_variant(k) for k in key)
    return key


class _Str(str):
    pass


_Pair = collections.namedtuple("_Pair", "first second")


# -- portable_hash: the rules --------------------------------------------------


SEED0_CHILD = """
import json, sys
keys = eval(sys.argv[1])
print(json.dumps([hash(k) for k in keys]))
"""


def builtin_hash_seed0(keys_source):
    """CPython's own ``hash`` of each key under PYTHONHASHSEED=0: the oracle
    for str and bytes, independent of both twins (PySpark's workers hash so)."""
    proc = subprocess.run([sys.executable, "-c", SEED0_CHILD, keys_source],
                          env=dict(os.environ, PYTHONHASHSEED="0"),
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_numbers_hash_like_python(impl):
    for k in [0, 1, -1, 7, 2**61, -(2**61) + 5, 10**40, 1.5, -0.0, float("inf"),
              complex(1, 2), decimal.Decimal("2.5"), fractions.Fraction(3, 7)]:
        assert impl.portable_hash(k) == hash(k), k


def test_int_keys_go_to_k_mod_n_like_pyspark(impl):
    n = 7
    buckets = impl.bucket_pairs([(k, None) for k in range(-50, 50) if k != -1], n)
    for b, bucket in enumerate(buckets):
        assert all(k % n == b for k, _ in bucket)


@pytest.mark.parametrize(
    "group",
    [
        [1, 1.0, True, decimal.Decimal(1), fractions.Fraction(1), complex(1, 0)],
        [0, 0.0, -0.0, False, decimal.Decimal("-0"), complex(0, 0)],
        [(1, "a"), (1.0, "a"), (True, _Str("a")), _Pair(1, "a")],
        [((1, 2.0), frozenset({3})), ((1.0, 2), frozenset({3.0}))],
        [frozenset({1, "a", (2, 3)}), frozenset({"a", 1.0, (2.0, 3)})],
        [b"raw", memoryview(b"raw")],
        ["text", _Str("text")],
        [datetime.datetime(2024, 1, 1, 12, tzinfo=UTC),
         datetime.datetime(2024, 1, 1, 14, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))],
        [datetime.datetime(2024, 3, 1, 1, 30), datetime.datetime(2024, 3, 1, 1, 30, fold=1)],
    ],
)
def test_equal_keys_hash_equal(impl, group):
    assert all(k == group[0] for k in group)
    assert len({impl.portable_hash(k) for k in group}) == 1


STR_KEYS_SOURCE = """[
    "", "a", "spark", "key_000123", "é", "ÿ" * 9, "日本語", "😀", "x" * 1000, "\\ud800",
    "a\\udfffb", "\\U0001F600\\ud800", "ab\\u0100" * 7, b"", b"raw", b"12345678",
    bytes(range(256)) * 300, "é" * 70000,
]"""


def test_str_and_bytes_hash_like_cpython_with_seed_0(impl):
    # The last two are long enough for the compiled twin to drop the GIL.
    keys = eval(STR_KEYS_SOURCE)  # noqa: S307 - our literal
    assert [impl.portable_hash(k) for k in keys] == builtin_hash_seed0(STR_KEYS_SOURCE)


RANDOM_STR_CHILD = """
import json, random, sys
from fastrdd import _shuffle_py as twin
assert twin._BUILTIN_IS_SEED0
rng = random.Random(11)
tops = [0x7F, 0xFF, 0xD7FF, 0xFFFF, 0x10FFFF]
for _ in range(3000):
    s = "".join(chr(rng.randint(0, rng.choice(tops))) for _ in range(rng.randint(0, 40)))
    b = s.encode("utf-8", "surrogatepass")
    assert twin._siphash13(twin._str_storage(s)) == hash(s), ascii(s)
    assert twin._siphash13(b) == hash(b), b
print("ok")
"""


def test_twin_siphash_is_cpythons_seed_0_hash():
    # Run where the builtin is the seed-0 hash, so it can serve as the oracle.
    import fastrdd

    root = os.path.dirname(os.path.dirname(os.path.abspath(fastrdd.__file__)))
    env = dict(os.environ, PYTHONHASHSEED="0", PYTHONPATH=root)
    proc = subprocess.run([sys.executable, "-c", RANDOM_STR_CHILD], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.stdout.strip() == "ok", proc.stderr


def test_hashes_fit_in_signed_64_bits(impl):
    for k in ["spark", b"x" * 9, ("a", 1, None), frozenset({"a", 2}), 10**100,
              datetime.date(2024, 2, 29)]:
        assert -(2**63) <= impl.portable_hash(k) < 2**63


@pytest.mark.parametrize(
    "make",
    [lambda: float("nan"), lambda: decimal.Decimal("NaN"), lambda: complex(1, float("nan"))],
    ids=["float", "decimal", "complex"],
)
def test_nan_keys_hash_deterministically(impl, make):
    # Since Python 3.10 hash(nan) is the object's address.
    assert impl.portable_hash(make()) == impl.portable_hash(make())


def test_tuples_are_order_sensitive_and_frozensets_are_not(impl):
    h = impl.portable_hash
    assert h((1, 2)) != h((2, 1))
    assert h(("a", "b")) != h(("b", "a"))
    assert h(frozenset(["a", "b", 3])) == h(frozenset([3, "b", "a"]))
    assert h(()) != h((None,)) != h(((),))


@pytest.mark.parametrize(
    ("key", "error"),
    [([1], TypeError), ({1: 2}, TypeError), ({1}, TypeError), (bytearray(b"x"), TypeError),
     ((1, [2]), TypeError), ((1, ("a", {2})), TypeError),
     (decimal.Decimal("sNaN"), TypeError), (memoryview(bytearray(b"x")), ValueError)],
    ids=["list", "dict", "set", "bytearray", "tuple-with-list", "tuple-with-set",
         "sNaN", "writable-view"],
)
def test_unhashable_keys_raise_like_a_dict(impl, twin, key, error):
    with pytest.raises(error):
        dict.fromkeys([key])  # the behaviour to match
    with pytest.raises(error):
        impl.portable_hash(key)
    with pytest.raises(error):
        impl.bucket_pairs([(key, 1)], 3)
    with pytest.raises(error):
        impl.group_pairs([(key, 1)])
    with pytest.raises(error):
        impl.index_pairs([(key, 1)])
    assert outcome(impl.portable_hash, key) == outcome(twin.portable_hash, key)


def nest(levels, wrap=lambda k: (k, "x")):
    key = "leaf"
    for _ in range(levels):
        key = wrap(key)
    return key


@pytest.mark.parametrize("wrap", [lambda k: (k, "x"), lambda k: frozenset({k, 1})], ids=["tuple", "frozenset"])
def test_key_nesting_limit_is_the_same_in_both_twins(impl, twin, wrap):
    limit = impl.MAX_KEY_DEPTH
    assert limit == twin.MAX_KEY_DEPTH
    deepest = nest(limit, wrap)
    assert impl.portable_hash(deepest) == twin.portable_hash(deepest)
    for levels in (limit + 1, 100_000):
        key = nest(levels, wrap)
        with pytest.raises(RecursionError, match=f"nested more than {limit} deep"):
            impl.portable_hash(key)
        with pytest.raises(RecursionError):
            impl.bucket_pairs([(key, 1)], 2)


def test_str_keys_spread_evenly(impl):
    n = 16
    sizes = [len(b) for b in impl.bucket_pairs([(f"user{i}", i) for i in range(16_000)], n)]
    expected = 16_000 / n
    chi2 = sum((s - expected) ** 2 / expected for s in sizes)
    assert chi2 < 45, sizes  # 15 degrees of freedom: p < 0.0001 above 45


def test_portable_hash_pickles_by_reference(impl):
    # Partitioners ship portable_hash to workers by name.
    assert pickle.loads(pickle.dumps(impl.portable_hash)) is impl.portable_hash
    assert impl.portable_hash.__module__ == impl.__name__


# -- portable_hash: determinism across processes -----------------------------

#: Evaluated in this process and in children started with other seeds.
KEYS_SOURCE = """[
    "spark", "", "é日😀", "\\ud800", b"bytes", b"", ("a", 1, 2.5, None),
    (("nested", b"x"), ("t",)), frozenset({"a", "b", 3}), None, True, 10**30, -7,
    float("nan"), decimal.Decimal("NaN"), datetime.date(2024, 2, 29),
    datetime.datetime(2024, 2, 29, 23, 59, 1, 7), datetime.time(8, 30),
    datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
]"""

CHILD = """
import datetime, decimal, importlib, json, sys
module = importlib.import_module(sys.argv[1])
keys = eval(sys.argv[2])
print(json.dumps({"hashes": [module.portable_hash(k) for k in keys], "builtin": hash("spark")}))
"""


def run_child(module_name, seed):
    import fastrdd

    root = os.path.dirname(os.path.dirname(os.path.abspath(fastrdd.__file__)))
    env = dict(os.environ, PYTHONHASHSEED=str(seed))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, module_name, KEYS_SOURCE],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_hashes_agree_across_processes(impl):
    here = [impl.portable_hash(k) for k in eval(KEYS_SOURCE)]  # noqa: S307 - our literal
    # Seed 0 is the one where the pure twin hands str and bytes to the builtin.
    zero, first, second = (run_child(impl.__name__, seed) for seed in (0, 1, 2))
    assert first["builtin"] != second["builtin"], "the seeds did not take effect"
    assert zero["hashes"] == first["hashes"] == second["hashes"] == here


# -- portable_hash: compiled == twin -----------------------------------------


@settings(max_examples=EXAMPLES * 3, deadline=None)
@given(key=keys)
def test_compiled_hash_matches_twin(compiled, twin, key):
    assert outcome(compiled.portable_hash, key) == outcome(twin.portable_hash, key)


class _Date(datetime.date):
    pass


class _Key:
    """A user's key type: hashed by its own ``__hash__``."""

    def __init__(self, n):
        self.n = n

    def __eq__(self, other):
        return isinstance(other, _Key) and other.n == self.n

    def __hash__(self):
        return self.n * 31


#: Keys of each type whose rules only the twin's ``_rare_key`` has (the
#: compiled module calls it), odd values and failures included.
RARE_KEYS = [
    complex(1, 2), complex(float("nan"), 1), complex(1, float("nan")), complex(float("inf"), 0),
    decimal.Decimal("2.50"), decimal.Decimal("-0"), decimal.Decimal("NaN"),
    decimal.Decimal("-Infinity"), decimal.Decimal("sNaN"),
    datetime.datetime(2024, 2, 29, 23, 59, 1, 7), datetime.datetime(2024, 3, 1, 1, 30, fold=1),
    datetime.datetime(2024, 1, 1, 12, tzinfo=UTC), datetime.date(2024, 2, 29), _Date(2024, 2, 29),
    datetime.time(8, 30, 0, 5), datetime.time(8, 30, tzinfo=UTC),
    memoryview(b"raw"), memoryview(b"abcdef")[1:4], memoryview(bytearray(b"x")),
    memoryview(b"abcd").cast("i"),
    fractions.Fraction(3, 7), datetime.timedelta(days=-1, microseconds=3), _Key(5), [1], {1},
]


@pytest.mark.parametrize("key", RARE_KEYS + [("in a tuple", k) for k in RARE_KEYS],
                         ids=lambda k: type(k).__name__)
def test_compiled_hash_of_rare_types_matches_twin(compiled, twin, key):
    assert outcome(compiled.portable_hash, key) == outcome(twin.portable_hash, key)


@settings(max_examples=EXAMPLES, deadline=None)
@given(key=keys)
def test_equal_keys_hash_equal_random(impl, key):
    other = equal_variant(key)
    if other == key:  # NaN-bearing keys are not equal to anything
        assert impl.portable_hash(other) == impl.portable_hash(key)


@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.binary(max_size=300) | st.text(alphabet, max_size=100))
def test_compiled_siphash_matches_twin(compiled, twin, data):
    assert compiled.portable_hash(data) == twin.portable_hash(data)
    assert compiled.portable_hash((data, None)) == twin.portable_hash((data, None))


def wrap_value(v):
    return [v]


def repr_length(k):
    return len(repr(k))


def append_value(c, v):
    return c + [v]


#: Mostly pairs, sometimes not: lists, pair-ish tuples, bare keys, and
#: pairs with an unhashable key.
messy_records = st.lists(
    st.one_of(
        st.tuples(small_keys, st.integers()),
        st.tuples(small_keys, st.integers()).map(list),
        st.tuples(small_keys, st.integers()).map(lambda p: _Pair(*p)),
        st.lists(small_keys, max_size=3).map(tuple),
        small_keys,
        st.tuples(st.lists(st.integers(), max_size=1), st.integers()),
    ),
    max_size=12,
)


@settings(max_examples=EXAMPLES * 2, deadline=None)
@given(recs=messy_records, n=st.integers(1, 5))
def test_compiled_pair_functions_match_twin(compiled, twin, recs, n):
    calls = [
        ("bucket_pairs", (n,)),
        ("bucket_pairs", (n, repr_length)),
        ("combine_pairs", (wrap_value, append_value)),
        ("merge_combiners", (append_value,)),
        ("group_pairs", ()),
        ("index_pairs", ()),
    ]
    for name, args in calls:
        want = outcome(getattr(twin, name), recs, *args)
        assert outcome(getattr(compiled, name), recs, *args) == want
        assert outcome(getattr(compiled, name), iter(recs), *args) == want


# -- the pair functions against plain references -----------------------------


def ref_bucket(recs, n, func):
    out = [[] for _ in range(n)]
    for rec in recs:
        out[func(rec[0]) % n].append(rec)
    return out


def ref_combine(recs, create, merge, d=None):
    d = {} if d is None else d
    for k, v in recs:
        d[k] = merge(d[k], v) if k in d else create(v)
    return d


def ref_merge(recs, merge, d=None):
    d = {} if d is None else d
    for k, c in recs:
        d[k] = merge(d[k], c) if k in d else c
    return d


def ref_group(recs, d=None):
    d = {} if d is None else d
    for k, v in recs:
        d.setdefault(k, []).append(v)
    return d


def same_placement(got, want):
    """Equal buckets holding the very same record objects."""
    return got == want and all(a is b for gb, wb in zip(got, want) for a, b in zip(gb, wb))


@settings(max_examples=EXAMPLES, deadline=None)
@given(recs=records, n=st.integers(1, 9))
def test_bucket_pairs_matches_reference(impl, twin, recs, n):
    want = ref_bucket(recs, n, twin.portable_hash)
    assert same_placement(impl.bucket_pairs(recs, n), want)  # list: two-phase path
    assert same_placement(impl.bucket_pairs(tuple(recs), n), want)
    assert same_placement(impl.bucket_pairs(iter(recs), n), want)  # one-pass path
    assert same_placement(impl.bucket_pairs(recs, n, impl.portable_hash), want)
    lists = [list(r) for r in recs]
    assert same_placement(impl.bucket_pairs(lists, n), ref_bucket(lists, n, twin.portable_hash))


@settings(max_examples=EXAMPLES, deadline=None)
@given(recs=records, n=st.integers(1, 9))
def test_bucket_pairs_with_partition_func(impl, recs, n):
    def func(k):
        return len(repr(k)) * 31 - 100  # negative too: Python's % applies

    assert same_placement(impl.bucket_pairs(recs, n, func), ref_bucket(recs, n, func))
    assert same_placement(impl.bucket_pairs(iter(recs), n, func), ref_bucket(recs, n, func))


@settings(max_examples=EXAMPLES, deadline=None)
@given(recs=records, n=st.integers(1, 9))
def test_bucket_dict_matches_reference(impl, twin, recs, n):
    d = dict(recs)
    assert impl.bucket_dict(d, n) == ref_bucket(list(d.items()), n, twin.portable_hash)
    assert impl.bucket_dict(d, n, impl.portable_hash) == impl.bucket_dict(d, n)

    def func(k):
        return len(repr(k))

    assert impl.bucket_dict(d, n, func) == ref_bucket(list(d.items()), n, func)
    assert all(type(rec) is tuple for bucket in impl.bucket_dict(d, n) for rec in bucket)


@settings(max_examples=EXAMPLES, deadline=None)
@given(recs=records, more=records)
def test_combine_pairs_matches_reference(impl, recs, more):
    def create(v):
        return [v]

    def merge_copy(c, v):
        return c + [v]

    def merge_in_place(c, v):
        c.append(v)
        return c

    assert impl.combine_pairs(recs, create, merge_copy) == ref_combine(recs, create, merge_copy)
    got = impl.combine_pairs(recs, create, merge_in_place)
    assert impl.combine_pairs(more, create, merge_in_place, got) is got
    assert got == ref_combine(recs + more, create, merge_copy)
    assert impl.combine_pairs(iter(recs), int, int.__add__) == ref_combine(recs, int, int.__add__)


@settings(max_examples=EXAMPLES, deadline=None)
@given(recs=records, more=records, value=st.sampled_from([1, 2.5, "s", (), None]))
def test_combine_keys_is_combine_pairs_of_constant_pairs(impl, recs, more, value):
    keys = [k for k, _ in recs]

    def create(v):
        return [v]

    def merge(c, v):
        return c + [v]

    assert impl.combine_keys(keys, value, create, merge) == ref_combine(
        [(k, value) for k in keys], create, merge)
    got = impl.combine_keys(iter(keys), value, create, merge)
    assert impl.combine_keys((k for k, _ in more), value, create, merge, got) is got
    assert got == ref_combine([(k, value) for k in keys + [k for k, _ in more]], create, merge)
    if value is not None:
        added = impl.combine_keys(keys, value, _same, _user_add, None, True)
        assert added == impl.combine_keys(keys, value, _same, _user_add)
        assert added == ref_combine([(k, value) for k in keys], _same, _user_add)


def _same(v):
    return v


def _user_add(a, b):
    return a + b


class _Odd:
    """``+`` that answers something no plain addition would: the promise is kept literally."""

    def __init__(self, n):
        self.n = n

    def __add__(self, other):
        return _Odd(self.n * 10 + other.n)

    def __eq__(self, other):
        return isinstance(other, _Odd) and other.n == self.n

    __hash__ = None


@pytest.mark.parametrize("values", [[1, 2, 3], [1.5, 2, True], ["a", "b"], [(1,), (2,)], [[1], [2]],
                                    [_Odd(1), _Odd(2), _Odd(3)]])
def test_merge_is_add_gives_what_the_function_gives(impl, values):
    recs = [("k", v) for v in values] + [("j", values[0])]
    expected = ref_combine(recs, _same, _user_add)
    assert impl.combine_pairs(recs, _same, _user_add, None, True) == expected
    assert impl.merge_combiners(recs, _user_add, None, True) == ref_merge(recs, _user_add)
    assert impl.combine_keys(["k", "k", "j"], values[0], _same, _user_add, None, True) == ref_combine(
        [("k", values[0]), ("k", values[0]), ("j", values[0])], _same, _user_add)


def test_failed_fast_addition_raises_from_the_users_function(impl):
    import traceback

    for call in [lambda: impl.combine_pairs([("k", 1), ("k", "x")], _same, _user_add, None, True),
                 lambda: impl.merge_combiners([("k", 1), ("k", "x")], _user_add, None, True),
                 lambda: impl.combine_keys(["k", "k"], {1}, _same, _user_add, None, True)]:
        with pytest.raises(TypeError, match="unsupported operand") as info:
            call()
        text = "".join(traceback.format_exception(info.value))
        assert "in _user_add" in text and "During handling" not in text


@settings(max_examples=EXAMPLES, deadline=None)
@given(recs=records, more=records)
def test_merge_combiners_matches_reference(impl, recs, more):
    def merge(a, b):
        return (a, b)  # keeps the order of merging visible

    assert impl.merge_combiners(recs, merge) == ref_merge(recs, merge)
    got = impl.merge_combiners(recs, merge)
    assert impl.merge_combiners(iter(more), merge, got) is got
    assert got == ref_merge(recs + more, merge)


@settings(max_examples=EXAMPLES, deadline=None)
@given(recs=records, more=records)
def test_group_pairs_matches_reference(impl, recs, more):
    assert impl.group_pairs(recs) == ref_group(recs)
    got = impl.group_pairs(recs)
    assert impl.group_pairs(iter(more), got) is got
    assert got == ref_group(recs + more)


def ref_index(recs):
    """``index_pairs`` as the join reads it: every key's values, in input order."""
    return {k: list(vs) for k, vs in ref_group(recs).items()}


def indexed_values(impl, table):
    return {k: list(w) if type(w) is impl.Matches else [w] for k, w in table.items()}


@settings(max_examples=EXAMPLES, deadline=None)
@given(recs=records, more=records)
def test_index_pairs_matches_reference(impl, recs, more):
    got = impl.index_pairs(recs)
    assert indexed_values(impl, got) == ref_index(recs)
    # a key seen once is stored as its value: no list for the unique keys of a join
    assert all((type(w) is impl.Matches) == (len(ref_group(recs)[k]) > 1) for k, w in got.items())
    assert impl.index_pairs(iter(more), got) is got
    assert indexed_values(impl, got) == ref_index(recs + more)


def test_index_pairs_keeps_list_values_apart_from_matches(impl):
    table = impl.index_pairs([("a", [1]), ("b", [2]), ("b", [3])])
    assert type(table["a"]) is list and table["a"] == [1]
    assert type(table["b"]) is impl.Matches and table["b"] == [[2], [3]]


def test_first_key_object_is_kept(impl):
    # Like a dict: 1, 1.0 and True are one key, stored as the first seen.
    for d in [impl.combine_pairs([(1, "a"), (1.0, "b"), (True, "c")], str, str.__add__),
              impl.merge_combiners([(1, "a"), (1.0, "b")], str.__add__),
              impl.group_pairs([(1, "a"), (True, "b")]),
              impl.index_pairs([(1, "a"), (True, "b")])]:
        [key] = d
        assert type(key) is int


def test_combiners_may_be_none_and_groups_need_only_append(impl):
    assert impl.combine_pairs([("a", 1), ("a", 2)], lambda v: None, lambda c, v: None) == {"a": None}
    assert impl.merge_combiners([("a", None), ("a", None)], lambda x, y: None) == {"a": None}
    groups = {"a": collections.deque([0])}
    impl.group_pairs([("a", 1), ("b", 2)], groups)
    assert groups == {"a": collections.deque([0, 1]), "b": [2]}


def test_pair_subclasses_are_pairs(impl):
    recs = [_Pair("a", 1), ["b", 2], _Pair("a", 3)]
    assert impl.group_pairs(recs) == {"a": [1, 3], "b": [2]}
    assert impl.bucket_pairs(recs, 1) == [recs]
    assert impl.bucket_pairs(recs, 1)[0][0] is recs[0]


# -- errors --------------------------------------------------------------------

BAD_RECORDS = ["abc", "ab", b"ab", (1, 2, 3), [1], (), 5, None, {1: 2}, {"k", "v"},
               list(range(1000))]


def call_each(module, recs):
    """Every pair function over ``recs``, as outcomes."""
    return [
        outcome(module.bucket_pairs, recs, 3),
        outcome(module.bucket_pairs, iter(recs), 3),
        outcome(module.bucket_pairs, recs, 3, len),
        outcome(module.combine_pairs, recs, str, str.__add__),
        outcome(module.merge_combiners, recs, list.__add__),
        outcome(module.group_pairs, recs),
        outcome(module.index_pairs, recs),
    ]


@pytest.mark.parametrize("bad", BAD_RECORDS, ids=repr)
def test_bad_record_raises_type_error_naming_it(impl, twin, bad):
    recs = [("ok", 1), bad]
    results = call_each(impl, recs)
    for result in results:
        assert result[:2] == ("raised", TypeError)
        assert result[2].startswith("expected (key, value) pairs for a pair operation, got ")
        assert type(bad).__name__ in result[2]
    assert results == call_each(twin, recs)


def test_bad_record_message(impl):
    with pytest.raises(TypeError) as info:
        impl.bucket_pairs([(1, 2), "abc"], 2)
    assert str(info.value) == "expected (key, value) pairs for a pair operation, got 'abc' (a str)"
    with pytest.raises(TypeError, match=r"got \(1, 2, 3\) \(a tuple of length 3\)"):
        impl.group_pairs([(1, 2, 3)])
    with pytest.raises(TypeError, match=r"got 5 \(an int\)"):
        impl.combine_pairs([5], list, list.__add__)


@pytest.mark.parametrize(
    ("n", "error"), [(0, ValueError), (-3, ValueError), (2.0, TypeError), ("4", TypeError), (None, TypeError)]
)
def test_bad_num_partitions(impl, twin, n, error):
    for recs in ([(1, 2)], iter([(1, 2)])):
        with pytest.raises(error):
            impl.bucket_pairs(recs, n)
    with pytest.raises(error):
        impl.bucket_dict({1: 2}, n)
    assert outcome(impl.bucket_pairs, [], n) == outcome(twin.bucket_pairs, [], n)
    assert outcome(impl.bucket_dict, {}, n) == outcome(twin.bucket_dict, {}, n)


def test_num_partitions_takes_any_index(impl):
    class Three:
        def __index__(self):
            return 3

    assert impl.bucket_pairs([(4, "x")], Three()) == [[], [(4, "x")], []]


@pytest.mark.parametrize(
    "func",
    [lambda k: 1.5, lambda k: "x", lambda k: decimal.Decimal(-1), lambda k: 10**30, lambda k: -1],
    ids=["float", "str", "decimal", "huge", "negative"],
)
def test_odd_partition_func_results_match_twin(impl, twin, func):
    recs = [(1, "a"), (2, "b")]
    assert outcome(impl.bucket_pairs, recs, 3, func) == outcome(twin.bucket_pairs, recs, 3, func)
    assert outcome(impl.bucket_dict, dict(recs), 3, func) == outcome(twin.bucket_dict, dict(recs), 3, func)


@pytest.mark.parametrize("bad", [[], {}.items(), collections.OrderedDict()], ids=repr)
def test_combiners_must_be_a_dict(impl, twin, bad):
    for func, args in [(impl.combine_pairs, (list, list.__add__)), (impl.merge_combiners, (list.__add__,))]:
        with pytest.raises(TypeError, match="combiners must be a dict or None"):
            func([("a", 1)], *args, bad)
    with pytest.raises(TypeError, match="groups must be a dict or None"):
        impl.group_pairs([("a", 1)], bad)
    with pytest.raises(TypeError, match="table must be a dict or None"):
        impl.index_pairs([("a", 1)], bad)


def test_user_function_errors_propagate(impl):
    def boom(*args):
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        impl.combine_pairs([("a", 1)], boom, boom)
    with pytest.raises(KeyError, match="boom"):
        impl.combine_pairs([("a", 1), ("a", 2)], str, boom)
    with pytest.raises(KeyError, match="boom"):
        impl.merge_combiners([("a", 1), ("a", 2)], boom)
    with pytest.raises(KeyError, match="boom"):
        impl.bucket_pairs([("a", 1)], 2, boom)
    with pytest.raises(KeyError, match="boom"):
        impl.bucket_dict({"a": 1}, 2, boom)


def test_bucket_dict_detects_changes_during_iteration(impl):
    d = {i: i for i in range(10)}

    def grow(k):
        d[k + 100] = 0
        return 0

    with pytest.raises(RuntimeError, match="changed size during iteration"):
        impl.bucket_dict(d, 2, grow)


def evil_records():
    """Records whose first key's __hash__ empties the very list being read."""
    recs = []

    class Evil:
        def __hash__(self):
            recs.clear()
            return 0

    recs.extend([(Evil(), 1), ("a", 2), ("b", 3)])
    return recs


def test_records_shrinking_during_hashing_twin(twin):
    recs = evil_records()
    first = recs[0]
    assert twin.bucket_pairs(recs, 2) == [[first], []]  # the list iterator just stops


def test_records_shrinking_during_hashing_compiled(compiled):
    # The one documented difference: the two-phase path cannot replay the
    # list iterator, so it refuses instead of reading past the end.
    with pytest.raises(RuntimeError, match="records changed size during bucket_pairs"):
        compiled.bucket_pairs(evil_records(), 2)


# -- sum_pairs: reduceByKey(add) with int keys and int or float sums in C arrays ----------
# (``fastrdd._core.sums`` and its twin ``sums_py``)


def _load_sums(pure):
    from fastrdd._impl import SUMS_API, load

    return load("fastrdd._core.sums", "fastrdd._core.sums_py", SUMS_API, pure=pure)


@pytest.fixture(scope="module")
def sums_twin():
    return _load_sums(True)


@pytest.fixture(scope="module")
def sums_compiled(sums_twin):
    from fastrdd._impl import want_pure

    module = _load_sums(False)
    if module is sums_twin:
        if want_pure():
            pytest.skip("FASTRDD_PUREPYTHON is set and fastrdd._core.sums is not built")
        pytest.fail("fastrdd._core.sums is not built; run `python setup.py build_ext --inplace`")
    return module


@pytest.fixture(scope="module", params=["compiled", "pure"])
def sums_impl(request, sums_twin):
    if request.param == "pure":
        return sums_twin
    return request.getfixturevalue("sums_compiled")

INT64 = 2 ** 63
#: keys the arrays hold (ints within int64) and keys that make them give up: big ints,
#: and floats and bools equal to int keys (one dict key with them)
sum_keys = st.one_of(st.integers(-5, 5), st.integers(-INT64, INT64 - 1), st.integers(),
                     st.sampled_from([1.0, -0.0, True, False, 2 ** 64, "a", (1, None)]))
#: values the arrays hold (ints, floats) and values that make them give up: sums leaving
#: int64, a kind that changes, bools, and types whose ``+`` is not numeric
sum_values = st.one_of(st.integers(-3, 3), st.integers(-INT64, INT64 - 1),
                       st.floats(allow_nan=False), st.sampled_from([True, 2 ** 70, 0.5]))
sum_records = st.lists(st.tuples(sum_keys, sum_values), max_size=80)


def ref_sums(recs):
    d = {}
    for k, v in recs:
        d[k] = d[k] + v if k in d else v
    return d


def same_sums(got, want):
    """Equal dicts with keys in the same order and every value of the same type."""
    assert list(got.items()) == list(want.items())
    assert [type(v) for v in got.values()] == [type(v) for v in want.values()]
    assert [type(k) for k in got] == [type(k) for k in want]


@settings(max_examples=EXAMPLES * 2, deadline=None)
@given(first=sum_records, more=sum_records)
def test_sum_pairs_matches_dict_sums(sums_impl, first, more):
    sums = sums_impl.NumericSums()
    assert sums_impl.sum_pairs(first, operator.add, sums) is sums
    assert len(sums) == len(ref_sums(first))
    sums_impl.sum_pairs(iter(more), operator.add, sums)  # a later chunk continues the table
    same_sums(sums.to_dict(), ref_sums(first + more))
    assert len(sums) == 0 and sums.to_dict() == {}  # to_dict empties the table
    same_sums(sums_impl.sum_pairs(more, operator.add, sums).to_dict(), ref_sums(more))


def test_sum_pairs_keeps_int_and_float_sums_exact(sums_impl):
    big = INT64 - 1
    cases = [
        [(1, big), (1, 1)],                         # leaves int64: a Python int from then on
        [(1, -INT64), (1, -1)],
        [(7, 0.1), (7, 0.2), (8, -0.0), (8, 0.0)],  # C double addition is Python's
        [(1, 1), (1, 0.5)],                         # int then float: float
        [(1, 1), (True, 1), (1.0, 2)],             # one key, the first object kept
        [(2, True), (2, True)],                     # bools sum to an int
    ]
    for recs in cases:
        same_sums(sums_impl.sum_pairs(recs, operator.add, sums_impl.NumericSums()).to_dict(),
                  ref_sums(recs))


def test_sum_pairs_grows_past_many_keys(sums_impl):
    recs = [(k * 7919 - 50_000, k) for k in range(5000)] * 3
    same_sums(sums_impl.sum_pairs(recs, operator.add, sums_impl.NumericSums()).to_dict(), ref_sums(recs))


def test_sum_pairs_calls_the_users_add_for_other_types(sums_impl):
    seen = []

    def add(a, b):
        seen.append((a, b))
        return a + b

    a, b = fractions.Fraction(1, 3), fractions.Fraction(1, 6)  # a user-level + (not built in)
    got = sums_impl.sum_pairs([("x", a), ("x", b)], add, sums_impl.NumericSums()).to_dict()
    assert got == {"x": fractions.Fraction(1, 2)} and seen == [(a, b)]


def test_compiled_sum_pairs_matches_twin(sums_compiled, sums_twin):
    for recs in ([("ok", 1), "bad"], [(1, 2), (1, "s")], [(1, 2), (1, 3)], [(1, None), (1, 2)]):
        assert (outcome(lambda r: sums_compiled.sum_pairs(r, operator.add, sums_compiled.NumericSums())
                        .to_dict(), recs)
                == outcome(lambda r: sums_twin.sum_pairs(r, operator.add, sums_twin.NumericSums())
                           .to_dict(), recs))
    for module in (sums_compiled, sums_twin):
        with pytest.raises(TypeError):
            module.sum_pairs([(1, 2)], operator.add, {})


@settings(max_examples=EXAMPLES * 2, deadline=None)
@given(recs=st.lists(st.tuples(st.integers(-3, 40), st.sampled_from([1, 2.5, "s", None])),
                     max_size=60),
       fail_at=st.one_of(st.none(), st.integers(0, 60)))
def test_sum_pairs_reads_ahead_but_fails_in_record_order(sums_compiled, sums_twin, recs,
                                                          fail_at):
    """The compiled loop reads records ahead (to overlap its table lookups), yet the first
    bad record is the one that fails, before an error the input raises further on, and a
    record is never added twice or lost when the arrays give up mid-batch."""

    def records():
        for i, rec in enumerate(recs):
            if i == fail_at:
                raise ValueError(f"input broke at {i}")
            yield rec

    def run(module):
        return module.sum_pairs(records(), operator.add, module.NumericSums()).to_dict()

    got, want = outcome(run, sums_compiled), outcome(run, sums_twin)
    assert got == want
    if got[0] == "ok":
        same_sums(got[1], want[1])


@settings(max_examples=EXAMPLES * 2, deadline=None)
@given(recs=sum_records, n=st.integers(1, 9))
def test_sums_buckets_are_bucket_dict_of_the_sums(sums_impl, recs, n):
    """``buckets``: the map side's placement by ``portable_hash`` (negative keys, -1 whose
    hash is -2, keys past the hash modulus 2**61 - 1), straight from the C arrays."""
    from fastrdd._shuffle_py import bucket_dict

    sums = sums_impl.sum_pairs(recs, operator.add, sums_impl.NumericSums())
    got = sums.buckets(n)
    want = bucket_dict(ref_sums(recs), n)
    assert got == want
    assert [[tuple(map(type, r)) for r in b] for b in got] == [
        [tuple(map(type, r)) for r in b] for b in want]
    assert len(sums) == 0 and sums.buckets(n) == [[] for _ in range(n)]  # the table is empty


def test_sums_buckets_edges(sums_impl):
    import gc

    keys = [-1, -2, 2 ** 61 - 1, 2 ** 61, -(2 ** 61) + 1, -(2 ** 61), INT64 - 1, -INT64, 0, 7]
    recs = [(k, 1.5) for k in keys]
    for n in (1, 2, 3, 7, 64):
        sums = sums_impl.sum_pairs(recs, operator.add, sums_impl.NumericSums())
        assert sums.buckets(n) == [[(k, 1.5) for k in keys if hash(k) % n == b] for b in range(n)]
    sums = sums_impl.sum_pairs([(3, 1)], operator.add, sums_impl.NumericSums())
    [[record]] = sums.buckets(1)
    assert not gc.is_tracked(record) or sums_impl.__name__.endswith("_py")
    for bad, error in ((0, ValueError), (-1, ValueError), (2.0, TypeError)):
        sums = sums_impl.sum_pairs([(3, 1)], operator.add, sums_impl.NumericSums())
        with pytest.raises(error):
            sums.buckets(bad)


# -- probe_join: the streamed side of a hash join against index_pairs's table -----------

def ref_probe(left, right, keep_left):
    groups = ref_group(right)
    out = []
    for k, v in left:
        if k in groups:
            out += [(k, (v, w)) for w in groups[k]]
        elif keep_left:
            out.append((k, (v, None)))
    return out


@settings(max_examples=EXAMPLES, deadline=None)
@given(left=records, right=records, keep_left=st.booleans())
def test_probe_join_matches_reference(impl, left, right, keep_left):
    table = impl.index_pairs(right)
    got = list(impl.probe_join(iter(left), table, keep_left))
    assert got == ref_probe(left, right, keep_left)
    assert [type(k) for k, _ in got] == [type(k) for k, _ in ref_probe(left, right, keep_left)]


def test_probe_join_reads_pairs_as_unpacking_does(impl, twin):
    table = impl.index_pairs([("a", 1), ("x", 2)])
    # any iterable of two is a pair, as ``k, v = record`` reads it (PySpark's join too)
    assert list(impl.probe_join(["ab", ["x", "y"], _Pair("a", "c")], table)) == [
        ("a", ("b", 1)), ("x", ("y", 2)), ("a", ("c", 1))]
    for bad in ["abc", 5, None, (1, 2, 3)]:
        with pytest.raises(TypeError, match=r"expected \(key, value\) pairs"):
            list(impl.probe_join([("a", 0), bad], table))
    with pytest.raises(TypeError):
        impl.probe_join([], [("a", 1)])

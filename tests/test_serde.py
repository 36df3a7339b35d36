"""Tests of ``fastrdd._serde``: both twins, one suite.

Every test that takes ``impl`` runs against the compiled module and against
the pure-Python twin, which is the specification.  ``twins`` gives both at
once, for the checks that the compiled module writes exactly the bytes the
specification writes, and that each reads what the other wrote.

Round trips are compared with :func:`assert_same`, which is stricter than
``==``: every value must come back with its exact type (a tuple a tuple,
``True`` not ``1``, ``1.0`` not ``1``), NaN equals NaN, and ``-0.0`` keeps
its sign.
"""
import collections
import enum
import gc
import math
import pickle
import weakref

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

COMPILED = "fastrdd._serde"
TWIN = "fastrdd._serde_py"


@pytest.fixture(scope="module", params=["compiled", "pure"])
def impl(request):
    """The module under test; the compiled param fails if it is not built."""
    from fastrdd._impl import SERDE_API, load, want_pure

    pure = request.param == "pure"
    module = load(COMPILED, TWIN, SERDE_API, pure=pure)
    if not pure and module.__name__ != COMPILED:
        if want_pure():
            pytest.skip("FASTRDD_PUREPYTHON is set and the compiled codec is not built")
        pytest.fail(
            f"{COMPILED} is not built; run `cythonize -i -3 fastrdd/_serde.pyx` "
            "(or set FASTRDD_PUREPYTHON=1 to test the twin only)"
        )
    return module


@pytest.fixture(scope="module")
def twins():
    """``(compiled, pure)``, for the checks that compare the two."""
    from fastrdd._impl import SERDE_API, load, want_pure

    compiled = load(COMPILED, TWIN, SERDE_API, pure=False)
    if compiled.__name__ != COMPILED:
        if want_pure():
            pytest.skip("FASTRDD_PUREPYTHON is set and the compiled codec is not built")
        pytest.fail(f"{COMPILED} is not built; run `cythonize -i -3 fastrdd/_serde.pyx`")
    return compiled, load(COMPILED, TWIN, SERDE_API, pure=True)


#: Examples are checked for correctness, not speed: no per-example deadline,
#: and no too_slow health check, which trips on a busy CI machine.
RELAXED = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_same(expected, actual, where="batch"):
    """Equal and of exactly the same type, all the way down (NaN-aware)."""
    assert type(actual) is type(expected), f"{where}: {type(actual)} != {type(expected)}"
    if isinstance(expected, float):
        if math.isnan(expected):
            assert math.isnan(actual), f"{where}: {actual!r} != nan"
        else:
            assert actual == expected, f"{where}: {actual!r} != {expected!r}"
            assert math.copysign(1.0, actual) == math.copysign(1.0, expected), f"{where}: sign of zero"
    elif isinstance(expected, dict):
        assert list(actual) == list(expected), f"{where}: keys {list(actual)} != {list(expected)}"
        for key in expected:
            assert_same(expected[key], actual[key], f"{where}[{key!r}]")
    elif isinstance(expected, (tuple, list)):
        assert len(actual) == len(expected), f"{where}: length {len(actual)} != {len(expected)}"
        for i, (e, a) in enumerate(zip(expected, actual)):
            assert_same(e, a, f"{where}[{i}]")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def roundtrip(impl, records):
    data = impl.dumps_batch(records)
    assert type(data) is bytes
    assert_same(records, impl.loads_batch(data))
    return data


def nest(depth, kinds=(tuple, list)):
    """``depth`` containers inside each other, alternating ``kinds``."""
    value = "leaf"
    for level in range(depth):
        value = kinds[level % len(kinds)]([value])
    return value


# -- strategies ---------------------------------------------------------------

# Every boundary where msgpack changes int encoding, and the range ends.
EDGE_INTS = [
    0, 1, -1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32,
    2**63 - 1, 2**63, 2**64 - 1,
    -32, -33, -128, -129, -32768, -32769, -(2**31), -(2**31) - 1, -(2**63),
]  # fmt: skip
EDGE_FLOATS = [0.0, -0.0, 1.0, math.nan, math.inf, -math.inf, 5e-324, 1.7976931348623157e308]

plain_ints = st.integers(-(2**63), 2**64 - 1) | st.sampled_from(EDGE_INTS)
plain_floats = st.floats() | st.sampled_from(EDGE_FLOATS)
# st.text() leaves out surrogates (category Cs), so these are all UTF-8 safe.
plain_scalars = st.none() | st.booleans() | plain_ints | plain_floats | st.text() | st.binary()
plain_values = st.recursive(
    plain_scalars,
    lambda kids: st.lists(kids, max_size=5) | st.lists(kids, max_size=5).map(tuple),
    max_leaves=15,
)
plain_records = plain_values | st.tuples(plain_scalars, plain_values)
plain_batches = st.lists(plain_records, max_size=20)
# Small batches for the fuzz tests, where many cheap examples beat a few big ones.
small_batches = st.lists(plain_records, min_size=1, max_size=5)


class Word(str):
    pass


class Count(int):
    pass


class Ratio(float):
    pass


class Pair(tuple):
    pass


class Items(list):
    pass


class Blob(bytes):
    pass


class Color(enum.IntEnum):
    RED = 1


Point = collections.namedtuple("Point", "x y")


class Opaque:
    """A user object: only pickle can carry it."""

    def __init__(self, value):
        self.value = value

    def __eq__(self, other):
        return type(other) is Opaque and other.value == self.value

    __hash__ = None


surrogate_text = st.text(alphabet=st.characters(categories=["Cs"]), min_size=1, max_size=3)
non_plain_values = st.one_of(
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=3),
    st.frozensets(st.integers(), max_size=3),
    st.integers(min_value=2**64) | st.integers(max_value=-(2**63) - 1),
    st.text().map(Word),
    plain_ints.map(Count),
    st.floats().map(Ratio),
    st.lists(plain_values, max_size=3).map(Pair),
    st.lists(plain_values, max_size=3).map(Items),
    st.binary().map(Blob),
    st.binary().map(bytearray),
    st.complex_numbers(allow_nan=False),
    st.just(Color.RED),
    st.tuples(plain_values, plain_values).map(lambda xy: Point(*xy)),
    st.integers().map(Opaque),
    surrogate_text,
    st.tuples(st.text(), surrogate_text),
    plain_values.map(lambda v: (v, [{"nested": v}])),
)


@st.composite
def batches_with_one_non_plain(draw):
    records = draw(plain_batches)
    odd = draw(non_plain_values)
    records.insert(draw(st.integers(0, len(records))), odd)
    return records


# -- the public surface ------------------------------------------------------


def test_twins_export_the_same_names(twins):
    compiled, pure = twins
    assert compiled.__all__ == pure.__all__
    for name in compiled.__all__:
        assert hasattr(compiled, name) and hasattr(pure, name), name
        if not callable(getattr(pure, name)):
            assert getattr(compiled, name) == getattr(pure, name), name


def test_tags_and_constants(impl):
    assert impl.MSGPACK_TAG == b"M"
    assert impl.PICKLE_TAG == b"P"
    assert impl.LIST_EXT_CODE == 1
    assert impl.MAX_DEPTH == 100


# -- the wire format, byte for byte ------------------------------------------


@pytest.mark.parametrize(
    "records, expected",
    [
        ([], b"M\x90"),
        ([("a", 1), ("b", 2)], b"M\x92\x92\xa1a\x01\x92\xa1b\x02"),
        ([(None, True, False)], b"M\x91\x93\xc0\xc3\xc2"),
        ([1.0], b"M\x91\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00"),
        ([b"\x00"], b"M\x91\xc4\x01\x00"),
        # A list is ext type 1 around the array of its items: fixext 2 here.
        ([[1]], b"M\x91\xd5\x01\x91\x01"),
        ([[]], b"M\x91\xd4\x01\x90"),
        ([((), [()])], b"M\x91\x92\x90\xd5\x01\x91\x90"),
        ([-1, -33, 2**64 - 1], b"M\x93\xff\xd0\xdf\xcf" + b"\xff" * 8),
    ],
)
def test_golden_bytes(impl, records, expected):
    assert impl.dumps_batch(records) == expected
    assert_same(records, impl.loads_batch(expected))


def test_pickle_batch_is_protocol_5(impl):
    data = impl.dumps_batch([{"a": 1}])
    assert data[:1] == b"P"
    assert data[1:3] == b"\x80\x05"
    assert pickle.loads(data[1:]) == [{"a": 1}]


def test_msgpack_payload_is_standard_msgpack(impl):
    """Any msgpack reader can decode a batch; lists show up as ExtType."""
    data = impl.dumps_batch([("k", [1, 2]), ("j", (3,))])
    decoded = msgpack.unpackb(data[1:], use_list=False)
    assert decoded == (("k", msgpack.ExtType(1, b"\x92\x01\x02")), ("j", (3,)))


# -- round trips -------------------------------------------------------------


def test_empty_batch(impl):
    assert impl.loads_batch(impl.dumps_batch([])) == []


@RELAXED
@given(plain_batches)
def test_plain_batches_use_msgpack_and_round_trip(impl, records):
    assert roundtrip(impl, records)[:1] == b"M"


@RELAXED
@given(batches_with_one_non_plain())
def test_one_non_plain_record_sends_the_batch_to_pickle(impl, records):
    assert roundtrip(impl, records)[:1] == b"P"


@pytest.mark.parametrize("value", EDGE_INTS + EDGE_FLOATS, ids=repr)
def test_edge_scalars_use_msgpack(impl, value):
    assert roundtrip(impl, [value, (value,), [value]])[:1] == b"M"


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1, 2**100, -(2**100)], ids=repr)
def test_ints_outside_msgpack_range_use_pickle(impl, value):
    assert roundtrip(impl, [(1, 2), ("k", value)])[:1] == b"P"


def test_types_are_kept_exactly(impl):
    records = [
        (True, 1, 1.0, "1", b"1", None),
        [False, 0, 0.0, "", b"", None],
        ((), [], ((),), [[]], ([],), [()]),
        (1, (2, [3, (4, [5])])),
    ]
    assert roundtrip(impl, records)[:1] == b"M"


def test_records_holding_lists_stay_tracked_by_the_gc(impl):
    """A tuple may be untracked only if it cannot be part of a cycle."""
    records = [(1, "a"), (1, [2]), ((1, 2), 3), ((1, [2]), 3), [()]]
    loaded = impl.loads_batch(impl.dumps_batch(records))
    assert gc.is_tracked(loaded[1]) and gc.is_tracked(loaded[3]) and gc.is_tracked(loaded[4])
    record = loaded[1]
    marker = Opaque(0)
    record[1].extend([marker, record])  # tuple -> list -> tuple: a cycle
    alive = weakref.ref(marker)
    del record, loaded, marker
    gc.collect()
    assert alive() is None, "the cycle through a decoded tuple was not collected"


@pytest.mark.parametrize(
    "odd",
    [
        Word("w"),
        Count(3),
        Ratio(0.5),
        Pair((1, 2)),
        Items([1, 2]),
        Blob(b"b"),
        Color.RED,
        Point(1, "y"),
        Point(x=[1.5], y=(None,)),
        bytearray(b"ba"),
        {"k": 1},
        {1, 2},
        3j,
        Opaque(7),
    ],
    ids=lambda v: type(v).__name__,
)
def test_subclasses_and_other_types_round_trip_through_pickle(impl, odd):
    data = roundtrip(impl, [("key", 1), ("key", odd)])
    assert data[:1] == b"P"
    assert type(impl.loads_batch(data)[1][1]) is type(odd)


def test_classes_made_in_a_function_go_to_cloudpickle(impl):
    """pickle refuses them; cloudpickle writes them by value, pickle.loads reads them."""
    Key = collections.namedtuple("Key", "x y")

    class Local:
        def __init__(self, v):
            self.v = v

    data = impl.dumps_batch([(Key(1, 2), Local(3))])
    assert data[:1] == b"P" and b"cloudpickle" in data
    (key, value), = pickle.loads(data[1:])
    assert type(key) is Key and key == (1, 2) and type(value) is Local and value.v == 3


def test_classes_of_main_are_written_by_value(impl):
    """A class of ``__main__`` pickles by reference here, but a worker has another __main__."""
    import sys

    main = sys.modules["__main__"]
    Script = type("Script", (), {"__module__": "__main__", "__qualname__": "Script"})
    main.Script = Script
    try:
        data = impl.dumps_batch([Script()])
    finally:
        del main.Script
    assert data[:1] == b"P"
    assert type(pickle.loads(data[1:])[0]) is Script  # no __main__.Script to look up now


def test_importable_types_keep_plain_pickle(impl):
    records = [collections.OrderedDict(a=1), collections.Counter("ab")]
    assert impl.dumps_batch(records) == b"P" + pickle.dumps(records, protocol=5)


def test_what_neither_pickle_takes_raises(impl):
    import threading

    with pytest.raises(TypeError, match="lock"):
        impl.dumps_batch([threading.Lock()])


@pytest.mark.parametrize("text", ["\ud800", "ok\udfffok", "\udc80"], ids=repr)
def test_lone_surrogates_fall_back_to_pickle(impl, text):
    for records in ([text], [("k", text)], [(1, [2, [text]])], [("a", 1)] * 50 + [text]):
        assert roundtrip(impl, records)[:1] == b"P"


@pytest.mark.parametrize("kinds", [(tuple,), (list,), (tuple, list)], ids=["tuple", "list", "mixed"])
def test_nesting_up_to_max_depth_uses_msgpack(impl, kinds):
    deep = nest(impl.MAX_DEPTH, kinds)
    assert roundtrip(impl, [deep, ("k", 1)])[:1] == b"M"
    deeper = nest(impl.MAX_DEPTH + 1, kinds)
    assert roundtrip(impl, [deeper])[:1] == b"P"
    assert roundtrip(impl, [("k", deep)])[:1] == b"P"


def test_any_iterable_of_records(impl):
    records = [(i, str(i)) for i in range(5)]
    assert impl.loads_batch(impl.dumps_batch(iter(records))) == records
    assert impl.loads_batch(impl.dumps_batch(tuple(records))) == records


@pytest.mark.parametrize("n", [0, 1, 15, 16, 31, 32, 255, 256, 65535, 65536])
def test_lengths_at_every_header_boundary(impl, n):
    records = [
        "s" * n,
        "é" * (n // 2),
        b"b" * n,
        tuple(range(n)),
        list(range(n)),
        [None] * n,
    ]
    assert roundtrip(impl, records)[:1] == b"M"


def list_with_payload(size):
    """A list whose ext payload (the msgpack array of its items) is ``size`` bytes."""
    for nones in range(16):
        for blob in [None] + list(range(max(size - 8, 0), size)):
            items = [None] * nones if blob is None else [b"x" * blob] + [None] * nones
            if len(msgpack.packb(items)) == size:
                return items
    raise AssertionError(f"no list with a {size}-byte payload")


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 8, 15, 16, 17, 255, 256, 257, 65535, 65536, 65537])
def test_list_payloads_at_every_ext_header_boundary(twins, size):
    """fixext 1/2/4/8/16 and ext 8/16/32, on both sides of each limit."""
    compiled, pure = twins
    items = list_with_payload(size)
    records = [items, ("k", items), [items]]
    data = pure.dumps_batch(records)
    assert msgpack.ExtType(1, msgpack.packb(items)) == msgpack.unpackb(data[1:])[0]
    assert compiled.dumps_batch(records) == data
    assert_same(records, compiled.loads_batch(data))
    assert_same(records, pure.loads_batch(data))


# -- the two twins agree -----------------------------------------------------


@settings(RELAXED, max_examples=150)
@given(st.one_of(plain_batches, batches_with_one_non_plain()))
def test_compiled_writes_the_bytes_of_the_specification(twins, records):
    compiled, pure = twins
    data = pure.dumps_batch(records)
    assert compiled.dumps_batch(records) == data
    assert_same(records, compiled.loads_batch(data))


@RELAXED
@given(st.lists(st.sampled_from(EDGE_INTS) | plain_ints, max_size=40))
def test_every_int_width_matches_msgpack(twins, ints):
    compiled, pure = twins
    records = [tuple(ints), ints]
    assert compiled.dumps_batch(records) == pure.dumps_batch(records)


# -- input buffers -----------------------------------------------------------


def test_accepts_bytes_bytearray_and_memoryview(impl):
    records = [("a", 1), ("b", [2.5])]
    for records in (records, [{"pickled": True}]):
        data = impl.dumps_batch(records)
        assert impl.loads_batch(data) == records
        assert impl.loads_batch(bytearray(data)) == records
        assert impl.loads_batch(memoryview(data)) == records
        # A view into the middle of a larger buffer, as a block store hands out.
        framed = b"head" + data + b"tail"
        assert impl.loads_batch(memoryview(framed)[4 : 4 + len(data)]) == records


def test_releases_the_buffer(impl):
    for records in ([("a", 1)], [{"b": 2}]):
        buf = bytearray(impl.dumps_batch(records))
        assert impl.loads_batch(buf) == records
        buf.extend(b"more")  # raises BufferError if a view were still held
        view = memoryview(buf)
        impl.loads_batch(view[: len(buf) - 4])
        view.release()
        buf.clear()


def test_non_contiguous_buffer_is_a_type_error(impl):
    data = impl.dumps_batch([("a", 1)])
    with pytest.raises(TypeError, match="contiguous"):
        impl.loads_batch(memoryview(data * 2)[::2])


def test_non_buffer_is_a_type_error(impl):
    with pytest.raises(TypeError):
        impl.loads_batch("M\x90")


# -- errors ------------------------------------------------------------------


@pytest.mark.parametrize("empty", [b"", bytearray(), memoryview(b"")], ids=["bytes", "bytearray", "memoryview"])
def test_empty_input_is_a_value_error(impl, empty):
    with pytest.raises(ValueError, match="empty record batch"):
        impl.loads_batch(empty)


@pytest.mark.parametrize("data", [b"X", b"m\x90", b"\x90", b"\x80\x05"], ids=repr)
def test_unknown_tag_is_a_value_error(impl, data):
    with pytest.raises(ValueError, match="unknown record batch tag"):
        impl.loads_batch(data)


@pytest.mark.parametrize(
    "payload",
    [
        b"",  # no array at all
        b"\x92\x01",  # array of 2, one item
        b"\x91\x01\x02",  # extra bytes after the batch
        b"\x05",  # not an array
        b"\x91\xa3ab",  # str cut short
        b"\x91\xcd\x01",  # uint16 cut short
        b"\x91\x81\x01\x02",  # a map
        b"\x91\xd4\x03\x90",  # ext type 3
        b"\x91\xd4\x01\x05",  # list payload that is not an array
        b"\x91\xa2\xff\xfe",  # invalid UTF-8
        b"\x91\xdd\xff\xff\xff\xff",  # absurd array length
    ],
    ids=repr,
)
def test_corrupt_msgpack_is_a_value_error(impl, payload):
    with pytest.raises(ValueError):
        impl.loads_batch(b"M" + payload)


@settings(RELAXED, max_examples=200)
@given(small_batches, st.data())
def test_damaged_batches_fail_cleanly(impl, records, data):
    """Truncated or altered bytes: a list or a ValueError, never a crash."""
    encoded = bytearray(impl.dumps_batch(records))
    if data.draw(st.booleans(), label="truncate"):
        del encoded[data.draw(st.integers(1, len(encoded)), label="cut") :]
    else:
        at = data.draw(st.integers(1, len(encoded) - 1), label="at") if len(encoded) > 1 else 0
        encoded[at] = data.draw(st.integers(0, 255), label="byte")
    try:
        result = impl.loads_batch(bytes(encoded))
    except ValueError:
        return
    assert type(result) is list


@settings(RELAXED, max_examples=200)
@given(st.binary(max_size=64))
def test_random_bytes_fail_cleanly(impl, junk):
    try:
        result = impl.loads_batch(b"M" + junk)
    except ValueError:
        return
    assert type(result) is list

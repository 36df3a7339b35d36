"""Hash partitioning and map-side combine: the pure-Python twin.

This module is the specification; ``fastrdd/_shuffle.pyx`` must give the
same results for every input (``tests/test_shuffle.py`` checks that with
hypothesis).  The rest of the package reaches either twin through
``fastrdd._impl``, never directly.

Where the functions sit in a shuffle::

    map task:    records --combine_pairs--> {k: c} --bucket_dict--> [[(k, c)], ...]
                 records --bucket_pairs-----------------------------> [[(k, v)], ...]
    reduce task: [(k, c)] --merge_combiners--> {k: c}
                 [(k, v)] --group_pairs------> {k: [v, ...]}
    hash join:   [(k, w)] --index_pairs------> {k: w, k2: Matches([w, ...])}
    reduceByKey(add), either side: [(k, v)] --_core.sums.sum_pairs--> {k: sum}

``portable_hash``
    Decides which reduce partition a key goes to, so it must agree between
    worker processes that were started with different ``PYTHONHASHSEED``
    values, and keys that are equal as dict keys must hash equal (``1``,
    ``1.0`` and ``True`` are one key, as are ``0``, ``0.0``, ``-0.0`` and
    ``False``).  The rules, first match wins:

    ========================== ==============================================
    ``None``                   ``0`` (``hash(None)`` is its address before 3.12)
    ``str`` (and subclasses)   ``_hash_bytes`` of CPython's own storage of it:
                               Latin-1 when every code point is below 256,
                               else UTF-16-LE below 65536, else UTF-32-LE
                               (lone surrogates kept as they are)
    ``bytes`` (and subclasses) ``_hash_bytes`` of the bytes themselves
    ``tuple`` (and subclasses) PySpark's order-sensitive combination of the
                               items, always >= 0
    ``frozenset``              order-independent combination of the items
    float or Decimal NaN       ``0``: since 3.10 a NaN hashes by address
    complex with a NaN part    ``hash`` of it with the NaN parts set to 0.0
    naive ``datetime``,        ``_hash_bytes`` of the packed fields CPython
    ``date``, naive ``time``   hashes (year as two big-endian bytes, then one
                               byte a field, microseconds as three); aware
                               ones keep ``hash``, which is computed from the
                               UTC offset arithmetic
    ``memoryview``             as the bytes it shows (it equals them)
    anything else              builtin ``hash(obj)``: numbers hash by value
                               in CPython, deterministically, so an int key
                               ``k`` lands in partition ``k % n`` as in
                               PySpark.  User classes rely on workers
                               running with a fixed ``PYTHONHASHSEED``.
    ========================== ==============================================

    Every row but the frozenset one gives what PySpark's ``portable_hash``
    gives in its workers, which run with ``PYTHONHASHSEED=0`` unless the
    driver's environment sets another seed: so a key lands in the partition
    PySpark puts it in.  ``_hash_bytes(b)`` is CPython's ``hash`` of bytes
    under that seed, computed here for any seed: SipHash-1-3 with an
    all-zero key, ``0`` for empty input and ``-2`` for ``-1``.  Where this
    process itself runs with ``PYTHONHASHSEED=0`` (probed at import) the
    builtin ``hash`` is that function and is used instead.

    ``_hash_tuple`` is PySpark's scheme: ``h = 0x345678``, then
    ``h = (h ^ item_hash) * 1000003`` per item, then ``h ^= len``, all modulo
    ``2**64`` (a negative item hash enters as its two's complement), and
    finally the sign bit cleared (PySpark masks with ``sys.maxsize``).
    ``frozenset`` sums ``mix64(item_hash)`` modulo ``2**64`` (addition does
    not care about order), adds ``len``, and finishes with ``mix64``, where
    ``mix64(x)`` is ``y ^ (y >> 32)`` with ``y = x * 0x9E3779B97F4A7C15 mod
    2**64``.  Every result fits in a signed 64-bit int.  Keys nested more
    than ``MAX_KEY_DEPTH`` containers deep raise ``RecursionError``.

Pair validation
    Every function taking ``records`` wants ``(key, value)`` pairs: a tuple
    or list of length 2.  Anything else raises ``TypeError`` naming the
    record, because ``k, v = "ab"`` would otherwise silently make a pair.

Combiner dicts
    ``combiners`` and ``groups`` must be exact ``dict`` objects, so that the
    compiled twin can use the dict C API and both twins still agree.
"""
import datetime
import decimal
import operator
import reprlib
import struct

__all__ = [
    "portable_hash",
    "bucket_pairs",
    "bucket_dict",
    "combine_pairs",
    "combine_keys",
    "merge_combiners",
    "group_pairs",
    "index_pairs",
    "Matches",
    "probe_join",
]

_M64 = (1 << 64) - 1
_SIGN = 1 << 63
_TWO64 = 1 << 64
#: Odd (so multiplying is a bijection mod 2**64), with its bits spread
#: evenly: 2**64 divided by the golden ratio, as in Fibonacci hashing.
_MIX = 0x9E3779B97F4A7C15
#: PySpark's tuple hash masks with sys.maxsize: results are never negative.
_MAXSIZE = (1 << 63) - 1
#: SipHash's v0..v3 before any input, for the all-zero key of PYTHONHASHSEED=0.
_SIP_INIT = (0x736F6D6570736575, 0x646F72616E646F6D, 0x6C7967656E657261, 0x7465646279746573)
_TUPLE_SEED = 0x345678
_TUPLE_MULT = 1000003
#: Keys with tuples or frozensets nested deeper than this raise
#: RecursionError.  A fixed limit (instead of the interpreter's) makes both
#: twins fail on exactly the same keys; real keys are a few levels deep.
MAX_KEY_DEPTH = 100
#: Marks "key not seen yet"; None cannot, since a combiner may be None.
_MISSING = object()

# Local aliases: these run once per record, and a global lookup of a
# module attribute is measurably slower than a module-global name.
_unpack_words = struct.unpack_from
_index = operator.index
_Decimal = decimal.Decimal
_datetime = datetime.datetime
_date = datetime.date
_time = datetime.time


def _mix64(x):
    x = (x * _MIX) & _M64
    return x ^ (x >> 32)


def _sip_round(v0, v1, v2, v3):
    """One SipRound on the four 64-bit state words."""
    v0 = (v0 + v1) & _M64
    v2 = (v2 + v3) & _M64
    v1 = ((v1 << 13 | v1 >> 51) & _M64) ^ v0
    v3 = ((v3 << 16 | v3 >> 48) & _M64) ^ v2
    v0 = (v0 << 32 | v0 >> 32) & _M64
    v2 = (v2 + v1) & _M64
    v0 = (v0 + v3) & _M64
    v1 = ((v1 << 17 | v1 >> 47) & _M64) ^ v2
    v3 = ((v3 << 21 | v3 >> 43) & _M64) ^ v0
    v2 = (v2 << 32 | v2 >> 32) & _M64
    return v0, v1, v2, v3


def _siphash13(b):
    """CPython's ``hash(b)`` for bytes under ``PYTHONHASHSEED=0`` (SipHash-1-3, zero key)."""
    n = len(b)
    if not n:
        return 0
    v0, v1, v2, v3 = _SIP_INIT
    full = n & ~7
    words = list(_unpack_words(f"<{full >> 3}Q", b, 0)) if full else []
    words.append(((n & 0xFF) << 56) | int.from_bytes(b[full:], "little"))
    for m in words:  # one compression round a word
        v3 ^= m
        v0, v1, v2, v3 = _sip_round(v0, v1, v2, v3)
        v0 ^= m
    v2 ^= 0xFF
    for _ in range(3):  # finalisation rounds
        v0, v1, v2, v3 = _sip_round(v0, v1, v2, v3)
    x = v0 ^ v1 ^ v2 ^ v3
    if x & _SIGN:
        x -= _TWO64
    return -2 if x == -1 else x


def _str_storage(s):
    """The bytes CPython hashes for ``s``: its canonical storage, little-endian."""
    top = ord(max(s)) if s else 0
    if top < 0x100:
        return s.encode("latin-1")
    if top < 0x10000:
        return s.encode("utf-16-le", "surrogatepass")
    return s.encode("utf-32-le", "surrogatepass")


#: Probes of the builtin hash: equal to _siphash13 only when this process
#: runs with PYTHONHASHSEED=0 (as fastrdd's local workers do), and then the
#: builtin, in C, computes the same function far faster.
_BUILTIN_IS_SEED0 = (hash(b"fastrdd:probe") == _siphash13(b"fastrdd:probe")
                     and hash("\u0100\U00010000") == _siphash13(_str_storage("\u0100\U00010000")))

if _BUILTIN_IS_SEED0:
    _hash_bytes = bytes.__hash__
    _hash_str = str.__hash__
else:
    _hash_bytes = _siphash13

    def _hash_str(s):
        return _siphash13(_str_storage(s))


def _check_depth(depth):
    if depth >= MAX_KEY_DEPTH:
        raise RecursionError(
            f"portable_hash: key has tuples or frozensets nested more than "
            f"{MAX_KEY_DEPTH} deep"
        )


def _hash_tuple(t, depth):
    _check_depth(depth)
    depth += 1
    h = _TUPLE_SEED
    for item in t:
        h = ((h ^ (_hash_item(item, depth) & _M64)) * _TUPLE_MULT) & _M64
    return (h ^ len(t)) & _MAXSIZE


def _hash_frozenset(s, depth):
    _check_depth(depth)
    depth += 1
    acc = 0
    for item in s:
        acc += _mix64(_hash_item(item, depth) & _M64)
    x = _mix64((acc + len(s)) & _M64)
    return x - _TWO64 if x & _SIGN else x


def portable_hash(obj):
    """Hash ``obj`` the same way in every process, whatever PYTHONHASHSEED.

    Equal dict keys hash equal; see the module docstring for the rules.
    Raises ``TypeError`` for unhashable objects, as a dict would, and
    ``RecursionError`` for keys nested more than ``MAX_KEY_DEPTH`` deep.

    >>> portable_hash(7), portable_hash(7.0), portable_hash(None)
    (7, 7, 0)
    >>> portable_hash(True) == portable_hash(1)
    True
    >>> portable_hash("spark") == portable_hash("spark")
    True
    """
    cls = type(obj)
    if cls is int:
        return hash(obj)
    if cls is str:
        return _hash_str(obj)
    return _hash_item(obj, 0)


def _hash_item(obj, depth):
    # portable_hash for an object ``depth`` containers down.
    cls = type(obj)
    if cls is int:
        return hash(obj)
    if cls is str:
        return _hash_str(obj)
    if cls is tuple:
        return _hash_tuple(obj, depth)
    if obj is None:
        return 0
    return _hash_other(obj, depth)


def _hash_other(obj, depth):
    # Subclasses of the common types, and frozensets; the compiled twin has
    # these lines too, compiled, and also asks _rare_key about the rest.
    if isinstance(obj, float):
        return 0 if obj != obj else hash(obj)
    if isinstance(obj, int):
        return hash(obj)
    if isinstance(obj, str):
        return _hash_str(obj)
    if isinstance(obj, bytes):
        return _hash_bytes(obj)
    if isinstance(obj, tuple):
        return _hash_tuple(obj, depth)
    if isinstance(obj, frozenset):
        return _hash_frozenset(obj, depth)
    key = _rare_key(obj)
    return key if type(key) is int else _hash_item(key, 0)


def _rare_key(obj):
    """The hash of a key of a rare type (an int), or the tuple or bytes it hashes as.

    The one copy of the rare types' rules: the compiled twin calls it too
    (these keys are too rare for a compiled copy to pay) and hashes a tuple
    or bytes answer itself, at depth 0 as here.
    """
    if isinstance(obj, complex):
        if obj != obj:
            re, im = obj.real, obj.imag
            return hash(complex(0.0 if re != re else re, 0.0 if im != im else im))
        return hash(obj)
    if isinstance(obj, _Decimal):
        return 0 if obj.is_qnan() else hash(obj)  # hash raises for sNaN
    # Naive dates and times: the bytes CPython's datetime module hashes (its
    # objects' packed data), so the result is hash(obj) under seed 0.
    if isinstance(obj, _datetime):
        if obj.utcoffset() is None:
            us = obj.microsecond
            return bytes((obj.year >> 8, obj.year & 0xFF, obj.month, obj.day, obj.hour,
                          obj.minute, obj.second, us >> 16, (us >> 8) & 0xFF, us & 0xFF))
        return hash(obj)
    if isinstance(obj, _date):
        return bytes((obj.year >> 8, obj.year & 0xFF, obj.month, obj.day))
    if isinstance(obj, _time):
        if obj.utcoffset() is None:
            us = obj.microsecond
            return bytes((obj.hour, obj.minute, obj.second, us >> 16, (us >> 8) & 0xFF, us & 0xFF))
        return hash(obj)
    if isinstance(obj, memoryview):
        hash(obj)  # raises for writable or non-byte views, as a dict would
        return obj.tobytes()
    return hash(obj)


def _bad_pair(rec):
    what = type(rec).__name__
    what = ("an " if what[:1] in "aeiouAEIOU" else "a ") + what
    if isinstance(rec, (tuple, list)):
        what += f" of length {len(rec)}"
    return TypeError(
        f"expected (key, value) pairs for a pair operation, got "
        f"{reprlib.repr(rec)} ({what})"
    )


def _check_partitions(num_partitions):
    n = _index(num_partitions)  # TypeError for floats and other non-ints
    if n < 1:
        raise ValueError(f"num_partitions must be at least 1, got {n}")
    return n


def _check_dict(d, name):
    if d is None:
        return {}
    if type(d) is not dict:
        raise TypeError(f"{name} must be a dict or None, got a {type(d).__name__}")
    return d


def bucket_pairs(records, num_partitions, partition_func=None):
    """Split ``(key, value)`` records into ``num_partitions`` lists.

    A record goes to list ``partition_func(key) % num_partitions``
    (``portable_hash`` when ``partition_func`` is None), keeping input
    order within each list.  Records are placed as they are, not copied.

    >>> bucket_pairs([(1, "a"), (2, "b"), (3, "c"), (5, "d")], 2)
    [[(2, 'b')], [(1, 'a'), (3, 'c'), (5, 'd')]]
    """
    num_partitions = _check_partitions(num_partitions)
    if partition_func is None:
        partition_func = portable_hash
    buckets = [[] for _ in range(num_partitions)]
    appends = [b.append for b in buckets]
    for rec in records:
        if not (isinstance(rec, (tuple, list)) and len(rec) == 2):
            raise _bad_pair(rec)
        appends[partition_func(rec[0]) % num_partitions](rec)
    return buckets


def bucket_dict(d, num_partitions, partition_func=None):
    """Split a dict into ``num_partitions`` lists of ``(key, value)`` tuples.

    Same placement as ``bucket_pairs`` over ``d.items()``; used on the dict
    that ``combine_pairs`` builds.

    >>> bucket_dict({1: "a", 2: "b", 3: "c"}, 2)
    [[(2, 'b')], [(1, 'a'), (3, 'c')]]
    """
    num_partitions = _check_partitions(num_partitions)
    if partition_func is None:
        partition_func = portable_hash
    buckets = [[] for _ in range(num_partitions)]
    appends = [b.append for b in buckets]
    for k, v in d.items():
        appends[partition_func(k) % num_partitions]((k, v))
    return buckets


def combine_pairs(records, create_combiner, merge_value, combiners=None, merge_is_add=False):
    """Map-side combine: fold values into one combiner per key.

    The first value of a key becomes ``create_combiner(v)``; later ones are
    folded in with ``merge_value(c, v)``.  Pass ``combiners`` (a dict) to
    continue an earlier call; it is updated and returned.  ``merge_is_add``
    promises that ``merge_value(c, v)`` is ``c + v`` (``specialize.py``): the
    compiled twin then adds without calling it where ``c`` and ``v`` are of
    built-in types (whose ``+`` runs no user code).

    >>> combine_pairs([("a", 1), ("b", 2), ("a", 3)], lambda v: [v],
    ...               lambda c, v: c + [v])
    {'a': [1, 3], 'b': [2]}
    """
    d = _check_dict(combiners, "combiners")
    missing = _MISSING
    for rec in records:
        if not (isinstance(rec, (tuple, list)) and len(rec) == 2):
            raise _bad_pair(rec)
        k = rec[0]
        c = d.get(k, missing)
        if c is missing:
            d[k] = create_combiner(rec[1])
        else:
            d[k] = merge_value(c, rec[1])
    return d


def merge_combiners(records, merge_combiners, combiners=None, merge_is_add=False):
    """Reduce-side combine of ``(key, combiner)`` records.

    The first combiner of a key is stored as it is; later ones are merged
    with ``merge_combiners(c1, c2)``.  ``combiners`` continues a dict;
    ``merge_is_add`` is as in ``combine_pairs``.

    >>> merge_combiners([("a", 1), ("b", 2), ("a", 3)], lambda x, y: x + y)
    {'a': 4, 'b': 2}
    """
    d = _check_dict(combiners, "combiners")
    merge = merge_combiners
    missing = _MISSING
    for rec in records:
        if not (isinstance(rec, (tuple, list)) and len(rec) == 2):
            raise _bad_pair(rec)
        k = rec[0]
        c = d.get(k, missing)
        if c is missing:
            d[k] = rec[1]
        else:
            d[k] = merge(c, rec[1])
    return d


def combine_keys(keys, value, create_combiner, merge_value, combiners=None, merge_is_add=False):
    """``combine_pairs`` of ``(k, value)`` for every ``k`` of ``keys``, no pair built.

    For pairs made by ``map(lambda x: (x, value))`` (see ``specialize.py``).

    >>> combine_keys(["a", "b", "a"], 1, lambda v: v, lambda c, v: c + v)
    {'a': 2, 'b': 1}
    """
    d = _check_dict(combiners, "combiners")
    missing = _MISSING
    for k in keys:
        c = d.get(k, missing)
        if c is missing:
            d[k] = create_combiner(value)
        else:
            d[k] = merge_value(c, value)
    return d


def group_pairs(records, groups=None):
    """Group ``(key, value)`` records into ``{key: [values in input order]}``.

    ``groups`` continues an earlier dict; its values need an ``append``.

    >>> group_pairs([("a", 1), ("b", 2), ("a", 3)])
    {'a': [1, 3], 'b': [2]}
    """
    d = _check_dict(groups, "groups")
    missing = _MISSING
    for rec in records:
        if not (isinstance(rec, (tuple, list)) and len(rec) == 2):
            raise _bad_pair(rec)
        k = rec[0]
        values = d.get(k, missing)
        if values is missing:
            d[k] = [rec[1]]
        else:
            values.append(rec[1])
    return d


class Matches(list):
    """The values of a key seen more than once by ``index_pairs``, in input order."""

    __slots__ = ()


def index_pairs(records, table=None):
    """The build side of a hash join: ``{key: value}``, a key's values in a ``Matches``
    list only when it has several.

    Most join keys are unique on one side; a list per key would cost an
    allocation (and a tracked object for the garbage collector) per record.
    ``table`` continues an earlier dict; read a value with ``type(v) is Matches``.

    >>> index_pairs([("a", 1), ("b", 2), ("a", 3)])
    {'a': [1, 3], 'b': 2}
    """
    d = _check_dict(table, "table")
    missing = _MISSING
    for rec in records:
        if not (isinstance(rec, (tuple, list)) and len(rec) == 2):
            raise _bad_pair(rec)
        k = rec[0]
        found = d.get(k, missing)
        if found is missing:
            d[k] = rec[1]
        elif type(found) is Matches:
            found.append(rec[1])
        else:
            d[k] = Matches((found, rec[1]))
    return d


def probe_join(left, table, keep_left=False):
    """The matches of a hash join's streamed side against ``index_pairs``'s table:
    ``(k, (v, w))`` for every value ``w`` the table holds for the key of each pair
    ``(k, v)`` of ``left``, in order; ``(k, (v, None))`` for a key it lacks when
    ``keep_left`` (a left outer join), else nothing for it.

    >>> list(probe_join([(1, "a"), (2, "b")], index_pairs([(1, "x"), (1, "y")]), True))
    [(1, ('a', 'x')), (1, ('a', 'y')), (2, ('b', None))]
    """
    if not isinstance(table, dict):
        raise TypeError(f"table must be a dict, not {type(table).__name__}")
    return _probe_join(iter(left), table, keep_left)


def _probe_join(left, table, keep_left):
    missing = _MISSING
    for rec in left:
        try:
            k, v = rec  # any iterable of two, as unpacking reads it
        except (TypeError, ValueError):
            raise _bad_pair(rec) from None
        w = table.get(k, missing)
        if w is missing:
            if keep_left:
                yield k, (v, None)
        elif type(w) is Matches:
            for x in w:
                yield k, (v, x)
        else:
            yield k, (v, w)

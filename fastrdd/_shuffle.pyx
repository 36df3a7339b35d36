# cython: language_level=3, embedsignature=True
"""Hash partitioning and map-side combine, compiled.

The specification is the pure-Python twin, ``fastrdd/_shuffle_py.py``: its
module docstring gives the hash scheme and the pair rules, and this module
must return the same results for every input.  What is different here is
only how the work is done:

* ``portable_hash`` dispatches on the exact type first (int, str, tuple,
  None, float) in C, and hands every other type to ``_hash_other``, which
  mirrors the twin's rules for subclasses of those, bytes and frozensets.
  The rarer types (complex, Decimal, dates and times, memoryview, anything
  else) have their rules written once, in the twin's ``_rare_key``, which
  this module calls and whose tuple or bytes answer it hashes in C.
* ``str`` keys are hashed without building a ``bytes`` object: on a
  little-endian machine CPython's canonical storage of a string (one, two or
  four bytes a code point) is exactly the bytes the twin hashes, so SipHash
  runs over the string's buffer; elsewhere the twin's encoding is built.
* SipHash-1-3 with the all-zero key (CPython's ``hash`` of bytes under
  ``PYTHONHASHSEED=0``) is C code in this file; inputs of ``_NOGIL_BYTES``
  or more are hashed with the GIL released.
* The pair loops read tuples and lists of length 2 through the C API and
  only fall back to ``rec[0]``/``rec[1]`` for subclasses.
* ``bucket_pairs`` over a list or tuple with the default hash works in two
  phases (hash every record, then fill lists of exactly the right size).
  The one behaviour that differs from the twin comes from this: if a key's
  ``__hash__`` changes the length of the very list being split, the twin's
  list iterator follows the change, while this raises ``RuntimeError``.
"""
cimport cython
from cpython.dict cimport PyDict_GetItemWithError
from cpython.list cimport (PyList_Append, PyList_GET_ITEM, PyList_GET_SIZE, PyList_New,
                           PyList_SET_ITEM)
from cpython.mem cimport PyMem_Calloc, PyMem_Free, PyMem_Malloc
from cpython.number cimport PyIndex_Check, PyNumber_Add, PyNumber_AsSsize_t, PyNumber_Index
from cpython.object cimport Py_TYPE, PyObject
from cpython.ref cimport Py_INCREF
from cpython.sequence cimport PySequence_Fast_GET_ITEM, PySequence_Fast_GET_SIZE
from cpython.unicode cimport PyUnicode_DATA, PyUnicode_GET_LENGTH, PyUnicode_KIND
from libc.stdint cimport INT32_MAX, int32_t, int64_t, uint8_t, uint32_t, uint64_t

import reprlib

#: the twin's rules for rare key types, imported on first use: a worker
#: whose keys are all common types never pays the twin's import
cdef object _rare_key = None

cdef extern from "Python.h":
    bint PyTuple_CheckExact(object o)
    bint PyList_CheckExact(object o)
    bint PyLong_CheckExact(object o)
    bint PyFloat_CheckExact(object o)
    bint PyUnicode_CheckExact(object o)
    bint PyBytes_CheckExact(object o)

cdef extern from *:
    """
    /* Strings made by the legacy (pre-3.12) C API may not be in canonical
       form yet; from 3.12 on every string is, and the macro is deprecated. */
    static CYTHON_INLINE int fastrdd_unicode_ready(PyObject *o) {
    #if PY_VERSION_HEX < 0x030C0000
        return PyUnicode_READY(o);
    #else
        (void)o;
        return 0;
    #endif
    }
    """
    int fastrdd_unicode_ready(object o) except -1

cdef extern from *:
    """
    /* SipHash-1-3 with an all-zero key: CPython's hash of bytes when it runs
       with PYTHONHASHSEED=0, which is how PySpark's workers run.  Words are
       assembled byte by byte, so the result is the same on any machine. */
    #define FASTRDD_ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
    #define FASTRDD_SIPROUND(v0, v1, v2, v3) do { \
        v0 += v1; v2 += v3; v1 = FASTRDD_ROTL(v1, 13) ^ v0; v3 = FASTRDD_ROTL(v3, 16) ^ v2; \
        v0 = FASTRDD_ROTL(v0, 32); \
        v2 += v1; v0 += v3; v1 = FASTRDD_ROTL(v1, 17) ^ v2; v3 = FASTRDD_ROTL(v3, 21) ^ v0; \
        v2 = FASTRDD_ROTL(v2, 32); } while (0)
    static int64_t fastrdd_siphash13(const uint8_t *p, Py_ssize_t n) {
        uint64_t v0 = 0x736f6d6570736575ULL, v1 = 0x646f72616e646f6dULL;
        uint64_t v2 = 0x6c7967656e657261ULL, v3 = 0x7465646279746573ULL;
        uint64_t m, last = (uint64_t)n << 56;
        int64_t h;
        int i;
        if (n == 0) return 0;
        for (; n >= 8; n -= 8, p += 8) {
            m = 0;
            for (i = 7; i >= 0; i--) m = (m << 8) | p[i];
            v3 ^= m; FASTRDD_SIPROUND(v0, v1, v2, v3); v0 ^= m;
        }
        for (i = (int)n - 1; i >= 0; i--) last |= (uint64_t)p[i] << (8 * i);
        v3 ^= last; FASTRDD_SIPROUND(v0, v1, v2, v3); v0 ^= last;
        v2 ^= 0xff;
        FASTRDD_SIPROUND(v0, v1, v2, v3);
        FASTRDD_SIPROUND(v0, v1, v2, v3);
        FASTRDD_SIPROUND(v0, v1, v2, v3);
        h = (int64_t)(v0 ^ v1 ^ v2 ^ v3);
        return h == -1 ? -2 : h;
    }
    """
    int64_t fastrdd_siphash13(const uint8_t *p, Py_ssize_t n) noexcept nogil
    int PY_LITTLE_ENDIAN

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

# Constants of the hash scheme; the twin's docstring explains each.
cdef uint64_t _MIX = 0x9E3779B97F4A7C15ULL
cdef uint64_t _TUPLE_SEED = 0x345678
cdef uint64_t _TUPLE_MULT = 1000003
cdef uint64_t _MAXSIZE = 0x7FFFFFFFFFFFFFFFULL
cdef int _MAX_KEY_DEPTH = 100
MAX_KEY_DEPTH = _MAX_KEY_DEPTH

#: From this many bytes on (tens of microseconds of SipHash) the hash runs
#: without the GIL, so other threads get to run; below it, releasing and
#: retaking the GIL would cost a noticeable share of the hash.
cdef Py_ssize_t _NOGIL_BYTES = 1 << 16

cdef object _short_repr = reprlib.repr

#: Marks "key not seen yet"; None cannot, since a combiner may be None.
cdef object _MISSING = object()


# ---------------------------------------------------------------- hashing

cdef inline uint64_t _mix64(uint64_t x) noexcept nogil:
    x *= _MIX
    return x ^ (x >> 32)


cdef int64_t _hash_buffer(const uint8_t *p, Py_ssize_t n) noexcept:
    cdef int64_t h
    if n >= _NOGIL_BYTES:
        with nogil:
            h = fastrdd_siphash13(p, n)
        return h
    return fastrdd_siphash13(p, n)


cdef int64_t _hash_str(object s) except? -1:
    cdef int kind
    fastrdd_unicode_ready(s)
    kind = PyUnicode_KIND(s)
    if kind == 1 or PY_LITTLE_ENDIAN:
        return _hash_buffer(<const uint8_t *>PyUnicode_DATA(s), PyUnicode_GET_LENGTH(s) * kind)
    b = s.encode("utf-16-le" if kind == 2 else "utf-32-le", "surrogatepass")
    return _hash_bytes(<bytes>b)


cdef int64_t _hash_bytes(bytes b) except? -1:
    return _hash_buffer(<const uint8_t *><char *>b, len(b))


cdef int _check_depth(int depth) except -1:
    # Our own counter, not Py_EnterRecursiveCall: that one's limit is the
    # interpreter's, which the twin reaches at a different depth (two Python
    # frames a level), and right at that limit Cython's traceback code loses
    # the RecursionError (seen as "returned a result with an exception set").
    if depth >= _MAX_KEY_DEPTH:
        raise RecursionError(
            f"portable_hash: key has tuples or frozensets nested more than "
            f"{_MAX_KEY_DEPTH} deep"
        )
    return 0


@cython.boundscheck(False)
@cython.wraparound(False)
cdef int64_t _hash_tuple(tuple t, int depth) except? -1:
    cdef uint64_t h = _TUPLE_SEED
    cdef Py_ssize_t i, n = len(t)
    _check_depth(depth)
    for i in range(n):
        h = (h ^ <uint64_t>_phash(t[i], depth + 1)) * _TUPLE_MULT
    return <int64_t>((h ^ <uint64_t>n) & _MAXSIZE)


cdef int64_t _hash_frozenset(frozenset s, int depth) except? -1:
    cdef uint64_t acc = 0
    _check_depth(depth)
    for item in s:
        acc += _mix64(<uint64_t>_phash(item, depth + 1))
    return <int64_t>_mix64(acc + <uint64_t>len(s))


cdef inline int64_t _phash(object obj, int depth) except? -1:
    cdef type cls = type(obj)
    cdef double x
    if cls is int:
        return hash(obj)
    if cls is str:
        return _hash_str(obj)
    if cls is tuple:
        return _hash_tuple(<tuple>obj, depth)
    if obj is None:
        return 0
    if cls is float:
        x = obj
        return 0 if x != x else hash(obj)
    return _hash_other(obj, depth)


cdef int64_t _hash_other(object obj, int depth) except? -1:
    # Subclasses of the common types, and frozensets; keep in step with
    # _shuffle_py._hash_other.
    if isinstance(obj, float):
        return 0 if obj != obj else hash(obj)
    if isinstance(obj, int):
        return hash(obj)
    if isinstance(obj, str):
        return _hash_str(obj)
    if isinstance(obj, bytes):
        return _hash_bytes(<bytes>obj)
    if isinstance(obj, tuple):
        return _hash_tuple(<tuple>obj, depth)
    if isinstance(obj, frozenset):
        return _hash_frozenset(<frozenset>obj, depth)
    global _rare_key
    if _rare_key is None:
        from fastrdd._shuffle_py import _rare_key
    key = _rare_key(obj)
    return key if type(key) is int else _phash(key, 0)


def portable_hash(obj):
    """Hash ``obj`` the same way in every process, whatever PYTHONHASHSEED.

    Equal dict keys hash equal; the rules are in ``fastrdd._shuffle_py``.
    Raises ``TypeError`` for unhashable objects, as a dict would, and
    ``RecursionError`` for keys nested more than ``MAX_KEY_DEPTH`` deep.

    >>> portable_hash(7), portable_hash(7.0), portable_hash(None)
    (7, 7, 0)
    >>> portable_hash(True) == portable_hash(1)
    True
    >>> portable_hash("spark") == portable_hash("spark")
    True
    """
    return _phash(obj, 0)


# ---------------------------------------------------------------- pairs

cdef object _bad_pair(object rec):
    what = type(rec).__name__
    what = ("an " if what[:1] in "aeiouAEIOU" else "a ") + what
    if isinstance(rec, (tuple, list)):
        what += f" of length {len(rec)}"
    return TypeError(
        f"expected (key, value) pairs for a pair operation, got "
        f"{_short_repr(rec)} ({what})"
    )


cdef object _as_pair_slow(object rec):
    if isinstance(rec, (tuple, list)) and len(rec) == 2:
        return (rec[0], rec[1])
    raise _bad_pair(rec)


cdef inline object _as_pair(object rec):
    """``rec`` itself when it is a tuple or list of 2, else a 2-tuple of its
    items; raises TypeError for anything that is not a pair.  Either way the
    result can be read with PySequence_Fast_GET_ITEM."""
    if PyTuple_CheckExact(rec) or PyList_CheckExact(rec):
        if PySequence_Fast_GET_SIZE(rec) == 2:
            return rec
    return _as_pair_slow(rec)


cdef Py_ssize_t _check_partitions(object num_partitions) except -1:
    cdef object n = PyNumber_Index(num_partitions)  # TypeError for non-ints
    if n < 1:
        raise ValueError(f"num_partitions must be at least 1, got {n}")
    return n


cdef dict _check_dict(object d, str name):
    if d is None:
        return {}
    if type(d) is not dict:
        raise TypeError(f"{name} must be a dict or None, got a {type(d).__name__}")
    return <dict>d


cdef inline Py_ssize_t _bucket_of(int64_t h, Py_ssize_t n) noexcept:
    # Python's modulo: the result has the sign of the divisor.
    cdef Py_ssize_t r = <Py_ssize_t>(h % <int64_t>n)
    return r + n if r < 0 else r


cdef Py_ssize_t _list_index(object i, Py_ssize_t n) except -1:
    """The bucket that ``buckets[i]`` would pick, with list's own errors.

    ``partition_func(key) % n`` is an int in [0, n) for any sane function,
    but the twin indexes a list with it, so odd results fail (or wrap) the
    same way here instead of reading out of bounds.
    """
    cdef Py_ssize_t b
    if not PyIndex_Check(i):
        raise TypeError(
            "list indices must be integers or slices, not "
            + Py_TYPE(i).tp_name.decode()
        )
    b = PyNumber_AsSsize_t(i, IndexError)
    if b < 0:
        b += n
    if b < 0 or b >= n:
        raise IndexError("list index out of range")
    return b


@cython.boundscheck(False)
@cython.wraparound(False)
cdef list _bucket_sequence(object seq, Py_ssize_t n):
    """bucket_pairs with portable_hash over an exact list or tuple, in two
    phases: hash and validate every record (user code may run and raise
    here), then place the records into lists of exactly the right size.

    Growing the lists by appending instead is 20-60% slower and leaves up
    to 1/8 of each list's slots unused.  The price is four bytes a record
    for the duration of the call.
    """
    cdef:
        Py_ssize_t m = PySequence_Fast_GET_SIZE(seq)
        Py_ssize_t i, b
        int32_t *ids = NULL      # bucket of record i, from phase 1
        Py_ssize_t *fill = NULL  # records per bucket, then next free slot
        list buckets = [None] * n
        object rec, pair, key, bucket
    ids = <int32_t *>PyMem_Malloc(max(m, 1) * sizeof(int32_t))
    fill = <Py_ssize_t *>PyMem_Calloc(n, sizeof(Py_ssize_t))
    try:
        if ids is NULL or fill is NULL:
            raise MemoryError(f"cannot allocate the bucket ids of {m} records")
        for i in range(m):
            if i >= PySequence_Fast_GET_SIZE(seq):
                raise RuntimeError("records changed size during bucket_pairs")
            rec = <object>PySequence_Fast_GET_ITEM(seq, i)
            pair = _as_pair(rec)
            key = <object>PySequence_Fast_GET_ITEM(pair, 0)
            b = _bucket_of(_phash(key, 0), n)
            ids[i] = <int32_t>b
            fill[b] += 1
        if PySequence_Fast_GET_SIZE(seq) != m:
            raise RuntimeError("records changed size during bucket_pairs")
        for b in range(n):
            buckets[b] = PyList_New(fill[b])
            fill[b] = 0
        # No Python code runs from here on, so seq cannot change under us.
        for i in range(m):
            b = ids[i]
            bucket = buckets[b]
            rec = <object>PySequence_Fast_GET_ITEM(seq, i)
            Py_INCREF(rec)  # PyList_SET_ITEM steals a reference
            PyList_SET_ITEM(bucket, fill[b], rec)
            fill[b] += 1
    finally:
        PyMem_Free(ids)
        PyMem_Free(fill)
    return buckets


@cython.boundscheck(False)
@cython.wraparound(False)
def bucket_pairs(records, num_partitions, partition_func=None):
    """Split ``(key, value)`` records into ``num_partitions`` lists.

    A record goes to list ``partition_func(key) % num_partitions``
    (``portable_hash`` when ``partition_func`` is None), keeping input
    order within each list.  Records are placed as they are, not copied.

    >>> bucket_pairs([(1, "a"), (2, "b"), (3, "c"), (5, "d")], 2)
    [[(2, 'b')], [(1, 'a'), (3, 'c'), (5, 'd')]]
    """
    cdef Py_ssize_t n = _check_partitions(num_partitions)
    cdef object n_obj
    cdef list buckets
    cdef object rec, pair, key
    cdef Py_ssize_t b
    cdef bint fast = partition_func is None or partition_func is portable_hash
    if fast and (PyList_CheckExact(records) or PyTuple_CheckExact(records)) and n <= INT32_MAX:
        return _bucket_sequence(records, n)
    # Any other iterable, or a user's partition_func: one pass, appending.
    n_obj = n
    buckets = [[] for _ in range(n)]
    for rec in records:
        pair = _as_pair(rec)
        key = <object>PySequence_Fast_GET_ITEM(pair, 0)
        if fast:
            b = _bucket_of(_phash(key, 0), n)
        else:
            b = _list_index(partition_func(key) % n_obj, n)
        PyList_Append(buckets[b], rec)
    return buckets


@cython.boundscheck(False)
@cython.wraparound(False)
def bucket_dict(d, num_partitions, partition_func=None):
    """Split a dict into ``num_partitions`` lists of ``(key, value)`` tuples.

    Same placement as ``bucket_pairs`` over ``d.items()``; used on the dict
    that ``combine_pairs`` builds.

    >>> bucket_dict({1: "a", 2: "b", 3: "c"}, 2)
    [[(2, 'b')], [(1, 'a'), (3, 'c')]]
    """
    cdef Py_ssize_t n = _check_partitions(num_partitions)
    cdef object n_obj = n
    cdef list buckets = [[] for _ in range(n)]
    cdef object k, v
    cdef Py_ssize_t b
    cdef bint fast = partition_func is None or partition_func is portable_hash
    for k, v in d.items():
        if fast:
            b = _bucket_of(_phash(k, 0), n)
        else:
            b = _list_index(partition_func(k) % n_obj, n)
        PyList_Append(buckets[b], (k, v))
    return buckets


cdef inline bint _adds_in_c(object x):
    """``x`` is of a built-in type whose ``+`` with another such runs no user code."""
    return (PyLong_CheckExact(x) or PyFloat_CheckExact(x) or PyUnicode_CheckExact(x)
            or PyBytes_CheckExact(x) or PyList_CheckExact(x) or PyTuple_CheckExact(x))


cdef inline object _merge(object merge, object c, object v, bint is_add):
    """``merge(c, v)``; ``c + v`` in C when the caller promises that is what it does
    and both are of built-in types, so that no user code (``__add__``) runs twice."""
    if is_add and PyLong_CheckExact(c) and PyLong_CheckExact(v):
        return PyNumber_Add(c, v)  # int + int: fails only on MemoryError, no handler needed
    if is_add and _adds_in_c(c) and _adds_in_c(v):
        try:
            return PyNumber_Add(c, v)
        except Exception:
            pass
    # the user's own function: on the fast path's failure (which ran no user
    # code) it raises the same error again, now with the user's line
    return merge(c, v)


def combine_pairs(records, create_combiner, merge_value, combiners=None, bint merge_is_add=False):
    """Map-side combine: fold values into one combiner per key.

    The first value of a key becomes ``create_combiner(v)``; later ones are
    folded in with ``merge_value(c, v)``.  Pass ``combiners`` (a dict) to
    continue an earlier call; it is updated and returned.  ``merge_is_add``
    promises that ``merge_value(c, v)`` is ``c + v``: it is then done in C.

    >>> combine_pairs([("a", 1), ("b", 2), ("a", 3)], lambda v: [v],
    ...               lambda c, v: c + [v])
    {'a': [1, 3], 'b': [2]}
    """
    cdef dict d = _check_dict(combiners, "combiners")
    cdef object rec, pair, k, v, c
    cdef PyObject *found
    for rec in records:
        # k, v and c are references of our own: the user's functions (and
        # k.__eq__) may change rec or d while we use them.
        pair = _as_pair(rec)
        k = <object>PySequence_Fast_GET_ITEM(pair, 0)
        v = <object>PySequence_Fast_GET_ITEM(pair, 1)
        found = PyDict_GetItemWithError(d, k)
        if found is NULL:
            d[k] = create_combiner(v)
        else:
            c = <object>found
            d[k] = _merge(merge_value, c, v, merge_is_add)
    return d


def combine_keys(keys, value, create_combiner, merge_value, combiners=None, bint merge_is_add=False):
    """``combine_pairs`` of ``(k, value)`` for every ``k`` of ``keys``, no pair built.

    >>> combine_keys(["a", "b", "a"], 1, lambda v: v, lambda c, v: c + v)
    {'a': 2, 'b': 1}
    """
    cdef dict d = _check_dict(combiners, "combiners")
    cdef object k, c
    cdef PyObject *found
    for k in keys:
        found = PyDict_GetItemWithError(d, k)
        if found is NULL:
            d[k] = create_combiner(value)
        else:
            c = <object>found
            d[k] = _merge(merge_value, c, value, merge_is_add)
    return d


def merge_combiners(records, merge_combiners, combiners=None, bint merge_is_add=False):
    """Reduce-side combine of ``(key, combiner)`` records.

    The first combiner of a key is stored as it is; later ones are merged
    with ``merge_combiners(c1, c2)``.  ``combiners`` continues a dict;
    ``merge_is_add`` is as in ``combine_pairs``.

    >>> merge_combiners([("a", 1), ("b", 2), ("a", 3)], lambda x, y: x + y)
    {'a': 4, 'b': 2}
    """
    cdef dict d = _check_dict(combiners, "combiners")
    cdef object rec, pair, k, v, c
    cdef PyObject *found
    for rec in records:
        pair = _as_pair(rec)
        k = <object>PySequence_Fast_GET_ITEM(pair, 0)
        v = <object>PySequence_Fast_GET_ITEM(pair, 1)
        found = PyDict_GetItemWithError(d, k)
        if found is NULL:
            d[k] = v
        else:
            c = <object>found
            d[k] = _merge(merge_combiners, c, v, merge_is_add)
    return d


def group_pairs(records, groups=None):
    """Group ``(key, value)`` records into ``{key: [values in input order]}``.

    ``groups`` continues an earlier dict; its values need an ``append``.

    >>> group_pairs([("a", 1), ("b", 2), ("a", 3)])
    {'a': [1, 3], 'b': [2]}
    """
    cdef dict d = _check_dict(groups, "groups")
    cdef object rec, pair, k, v, values
    cdef PyObject *found
    for rec in records:
        pair = _as_pair(rec)
        k = <object>PySequence_Fast_GET_ITEM(pair, 0)
        v = <object>PySequence_Fast_GET_ITEM(pair, 1)
        found = PyDict_GetItemWithError(d, k)
        if found is NULL:
            d[k] = [v]
        else:
            values = <object>found
            if PyList_CheckExact(values):
                PyList_Append(values, v)
            else:
                values.append(v)
    return d


class Matches(list):
    """The values of a key seen more than once by ``index_pairs``, in input order."""

    __slots__ = ()


def index_pairs(records, table=None):
    """The build side of a hash join: ``{key: value}``, a key's values in a ``Matches``
    list only when it has several (no list, and no object for the garbage collector
    to track, per unique key).  ``table`` continues an earlier dict.

    >>> index_pairs([("a", 1), ("b", 2), ("a", 3)])
    {'a': [1, 3], 'b': 2}
    """
    cdef dict d = _check_dict(table, "table")
    cdef object rec, pair, k, v, found_value
    cdef object matches = Matches
    cdef PyObject *found
    for rec in records:
        pair = _as_pair(rec)
        k = <object>PySequence_Fast_GET_ITEM(pair, 0)
        v = <object>PySequence_Fast_GET_ITEM(pair, 1)
        found = PyDict_GetItemWithError(d, k)
        if found is NULL:
            d[k] = v
        else:
            found_value = <object>found
            if type(found_value) is matches:
                PyList_Append(found_value, v)
            else:
                d[k] = matches((found_value, v))
    return d


cdef object _unpacked_pair(object rec):
    """``rec`` as ``k, v = rec`` reads it (any iterable of two, as the join's Python
    code always took), ready for PySequence_Fast_GET_ITEM."""
    if (PyTuple_CheckExact(rec) or PyList_CheckExact(rec)) and PySequence_Fast_GET_SIZE(rec) == 2:
        return rec
    try:
        pair = tuple(rec)
    except TypeError:
        raise _bad_pair(rec) from None
    if len(pair) != 2:
        raise _bad_pair(rec)
    return pair


@cython.final
cdef class probe_join:
    """The matches of a hash join's streamed side against ``index_pairs``'s table:
    ``(k, (v, w))`` for every value ``w`` the table holds for the key of each pair
    ``(k, v)`` of ``left``, in order; ``(k, (v, None))`` for a key it lacks when
    ``keep_left`` (a left outer join), else nothing for it.

    >>> list(probe_join([(1, "a"), (2, "b")], index_pairs([(1, "x"), (1, "y")]), True))
    [(1, ('a', 'x')), (1, ('a', 'y')), (2, ('b', None))]
    """
    cdef:
        object left       # the streamed side's records
        dict table
        bint keep_left
        object key        # the pair whose several matches are being returned
        object value
        object matches    # its matches (a Matches list), or None
        Py_ssize_t next_match

    def __cinit__(self, left, dict table not None, bint keep_left=False):
        self.left = iter(left)
        self.table = table
        self.keep_left = keep_left
        self.matches = None

    def __iter__(self):
        return self

    def __next__(self):
        cdef object rec, pair, k, v, w
        cdef PyObject *found
        cdef object matches_type = Matches
        if self.matches is not None:
            if self.next_match < PyList_GET_SIZE(self.matches):
                w = <object>PyList_GET_ITEM(self.matches, self.next_match)
                self.next_match += 1
                return (self.key, (self.value, w))
            self.matches = self.key = self.value = None
        for rec in self.left:
            pair = _unpacked_pair(rec)
            k = <object>PySequence_Fast_GET_ITEM(pair, 0)
            v = <object>PySequence_Fast_GET_ITEM(pair, 1)
            found = PyDict_GetItemWithError(self.table, k)
            if found is NULL:
                if self.keep_left:
                    return (k, (v, None))
                continue
            w = <object>found
            if type(w) is matches_type:
                if PyList_GET_SIZE(w) == 0:
                    continue
                self.key, self.value, self.matches, self.next_match = k, v, w, 1
                return (k, (v, <object>PyList_GET_ITEM(w, 0)))
            return (k, (v, w))
        raise StopIteration

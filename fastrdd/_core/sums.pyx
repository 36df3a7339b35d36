# cython: language_level=3, embedsignature=True
"""The sums of ``reduceByKey(add)`` over int keys, in C arrays: compiled.

The specification is the twin, ``fastrdd/_core/sums_py.py`` (a dict).  Here
int keys with int or float sums are kept in C arrays until a record does not
fit; then everything moves into a dict and ``_shuffle.merge_combiners`` goes
on with it, so results, value types and key order are the dict's.
"""
cimport cython
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.sequence cimport PySequence_Fast_GET_ITEM, PySequence_Fast_GET_SIZE
from libc.stdint cimport INT32_MAX, int32_t, int64_t, uint64_t

from itertools import chain

from fastrdd._shuffle import bucket_dict, merge_combiners

cdef extern from "Python.h":
    bint PyTuple_CheckExact(object o)
    bint PyList_CheckExact(object o)
    bint PyLong_CheckExact(object o)
    bint PyFloat_CheckExact(object o)
    long long PyLong_AsLongLongAndOverflow(object o, int *overflow) except? -1
    double PyFloat_AS_DOUBLE(object o)
    void PyObject_GC_UnTrack(void *op)

cdef extern from *:
    void __builtin_prefetch(const void *addr) noexcept nogil

__all__ = ["NumericSums", "sum_pairs"]

cdef extern from *:
    """
    static CYTHON_INLINE int fastrdd_add_overflows(int64_t a, int64_t b, int64_t *out) {
        return __builtin_add_overflow(a, b, out);
    }
    """
    int fastrdd_add_overflows(int64_t a, int64_t b, int64_t *out) noexcept nogil

cdef enum:
    _SUMS_UNSET = 0   # no value yet
    _SUMS_INT = 1     # every value an exact int within int64
    _SUMS_FLOAT = 2   # every value an exact float

cdef enum:
    #: records ``sum_pairs`` reads ahead, so that their table lookups overlap
    _READ_AHEAD = 16


cdef union Number:
    int64_t i
    double f


cdef struct Entry:
    # a key beside its sum: one cache line serves the comparison and the update
    int64_t key
    Number sum


#: CPython's modulus for the hash of an int (``sys.hash_info.modulus``, 64-bit builds)
cdef uint64_t _INT_HASH_MODULUS = (<uint64_t>1 << 61) - 1


cdef inline int64_t _int_hash(int64_t key) noexcept nogil:
    """``hash(key)``, which ``portable_hash`` takes for an int."""
    cdef uint64_t magnitude = <uint64_t>key if key >= 0 else -(<uint64_t>key)
    cdef int64_t h = <int64_t>(magnitude % _INT_HASH_MODULUS)
    if key < 0:
        h = -h
    return -2 if h == -1 else h


cdef inline Py_ssize_t _bucket_of(int64_t h, Py_ssize_t n) noexcept nogil:
    # Python's modulo: the result has the sign of the divisor.
    cdef Py_ssize_t r = <Py_ssize_t>(h % <int64_t>n)
    return r + n if r < 0 else r


cdef inline uint64_t _slot(int64_t key, Py_ssize_t mask) noexcept nogil:
    cdef uint64_t h = <uint64_t>key * 0x9E3779B97F4A7C15ULL
    return (h ^ (h >> 29)) & <uint64_t>mask


@cython.final
cdef class NumericSums:
    """The combiners of ``reduceByKey(add)`` over int keys and int or float values, kept
    in C arrays until a record does not fit.

    A dict of Python objects costs four cache misses per update on a big key set
    (its index, its entry, the key object, the value object) and a new value
    object; here an update is two (the index and the entry, which holds the key
    and its sum) and allocates nothing, and ``sum_pairs`` overlaps the misses of
    several records.  Entries are kept in insertion order, as a dict's, and the
    first record that does not fit (a key that is not an exact int in int64, a
    value of another kind, an int sum that would leave int64) moves everything
    into a dict, where the record and all later ones go: the results are those
    of the dict.
    """
    cdef Entry *entries
    cdef int32_t *index      # slot -> entry, -1 when free
    cdef Py_ssize_t count    # entries in use
    cdef Py_ssize_t capacity # entries allocated
    cdef Py_ssize_t mask     # slots - 1 (slots: a power of 2, at least 2 x capacity)
    cdef int kind
    cdef dict fallback       # None while the arrays serve

    def __cinit__(self):
        self.capacity = 0
        self.mask = -1
        self.fallback = None

    def __dealloc__(self):
        PyMem_Free(self.entries)
        PyMem_Free(self.index)

    def __len__(self):
        return len(self.fallback) if self.fallback is not None else self.count

    cdef int _grow(self) except -1:
        cdef Py_ssize_t capacity = max(1024, 2 * self.capacity), slots = 2 * capacity, i
        cdef uint64_t slot
        cdef Entry *entries
        if capacity > INT32_MAX // 2:
            raise MemoryError("too many keys for one table")
        entries = <Entry *>PyMem_Realloc(self.entries, capacity * sizeof(Entry))
        if entries is NULL:
            raise MemoryError()
        self.entries = entries
        index = <int32_t *>PyMem_Malloc(slots * sizeof(int32_t))
        if index is NULL:
            raise MemoryError()
        for i in range(slots):
            index[i] = -1
        for i in range(self.count):
            slot = _slot(entries[i].key, slots - 1)
            while index[slot] >= 0:
                slot = (slot + 1) & <uint64_t>(slots - 1)
            index[slot] = <int32_t>i
        PyMem_Free(self.index)
        self.index = index
        self.capacity, self.mask = capacity, slots - 1
        return 0

    cdef inline void _prefetch_index(self, object k) noexcept:
        """Start loading the index slot of ``k``, if it is a key the arrays can hold."""
        cdef int overflow = 0
        cdef int64_t key
        if self.mask < 0 or not PyLong_CheckExact(k):
            return
        key = PyLong_AsLongLongAndOverflow(k, &overflow)
        if overflow:  # only a hint: _add decides what fits
            return
        __builtin_prefetch(&self.index[_slot(key, self.mask)])

    cdef inline void _prefetch_entry(self, object k) noexcept:
        """Start loading the entry that ``k``'s index slot names (its slot is loaded)."""
        cdef int overflow = 0
        cdef int64_t key
        cdef int32_t entry
        if self.mask < 0 or not PyLong_CheckExact(k):
            return
        key = PyLong_AsLongLongAndOverflow(k, &overflow)
        if overflow:
            return
        entry = self.index[_slot(key, self.mask)]
        if entry >= 0:
            __builtin_prefetch(&self.entries[entry])

    cdef inline bint _add(self, object k, object v) except -1:
        """Fold ``(k, v)`` into the arrays; False (nothing changed) when it does not fit."""
        cdef int overflow = 0
        cdef int64_t key, iv = 0, total
        cdef double fv = 0.0
        cdef uint64_t slot
        cdef int32_t entry
        cdef Entry *e
        if not PyLong_CheckExact(k):
            return False
        key = PyLong_AsLongLongAndOverflow(k, &overflow)
        if overflow:
            return False
        if PyLong_CheckExact(v) and self.kind != _SUMS_FLOAT:
            iv = PyLong_AsLongLongAndOverflow(v, &overflow)
            if overflow:
                return False
            self.kind = _SUMS_INT  # set before the first _grow: no array exists until then
        elif PyFloat_CheckExact(v) and self.kind != _SUMS_INT:
            fv = PyFloat_AS_DOUBLE(v)
            self.kind = _SUMS_FLOAT
        else:
            return False
        if self.count == self.capacity:
            self._grow()
        slot = _slot(key, self.mask)
        while True:
            entry = self.index[slot]
            if entry < 0:
                self.index[slot] = <int32_t>self.count
                e = &self.entries[self.count]
                e.key = key
                if self.kind == _SUMS_INT:
                    e.sum.i = iv
                else:
                    e.sum.f = fv
                self.count += 1
                return True
            e = &self.entries[entry]
            if e.key == key:
                if self.kind == _SUMS_INT:
                    if fastrdd_add_overflows(e.sum.i, iv, &total):
                        return False
                    e.sum.i = total
                else:
                    e.sum.f += fv
                return True
            slot = (slot + 1) & <uint64_t>self.mask

    cdef dict _give_up(self):
        """Move every sum into a dict, in insertion order, and serve from it from now on."""
        cdef dict d = {}
        cdef Py_ssize_t i
        if self.kind == _SUMS_INT:
            for i in range(self.count):
                d[self.entries[i].key] = self.entries[i].sum.i
        else:
            for i in range(self.count):
                d[self.entries[i].key] = self.entries[i].sum.f
        self.fallback = d
        self._free_arrays()
        return d

    cdef void _free_arrays(self) noexcept:
        PyMem_Free(self.entries)
        PyMem_Free(self.index)
        self.entries = NULL
        self.index = NULL
        self.count = self.capacity = 0
        self.mask = -1

    def to_dict(self):
        """The sums as ``{key: sum}`` in first-seen order; the table is then empty."""
        cdef dict d = self.fallback if self.fallback is not None else self._give_up()
        self.fallback = None
        self.kind = _SUMS_UNSET
        return d

    def buckets(self, num_partitions):
        """``bucket_dict(self.to_dict(), num_partitions)`` (``portable_hash`` placement),
        built from the arrays without the dict; the table is then empty.

        >>> sums = sum_pairs([(1, 2.0), (2, 1.0), (3, 4.0)], lambda a, b: a + b, NumericSums())
        >>> sums.buckets(2)
        [[(2, 1.0)], [(1, 2.0), (3, 4.0)]]
        """
        cdef Py_ssize_t n, i
        cdef list out
        cdef tuple rec
        if self.fallback is not None or type(num_partitions) is not int or num_partitions < 1:
            return bucket_dict(self.to_dict(), num_partitions)  # its checks and errors
        n = num_partitions
        out = [[] for _ in range(n)]
        for i in range(self.count):
            if self.kind == _SUMS_INT:
                rec = (self.entries[i].key, self.entries[i].sum.i)
            else:
                rec = (self.entries[i].key, self.entries[i].sum.f)
            PyObject_GC_UnTrack(<void *>rec)  # an int and a number: never in a cycle
            out[_bucket_of(_int_hash(self.entries[i].key), n)].append(rec)
        self._free_arrays()
        self.kind = _SUMS_UNSET
        return out


def sum_pairs(records, merge, NumericSums sums not None):
    """``combine_pairs(records, identity, merge, ...)`` where ``merge`` is a plain ``+``
    (``specialize.is_plain_add``), folding into ``sums``; returns ``sums``.

    Once a record does not fit, it and the rest go to ``merge_combiners`` of
    the compiled shuffle module (the dict's ``+``, pair checks and errors).

    Records are read ``_READ_AHEAD`` at a time and the table lines of their keys
    loaded before any is added: on a key set larger than the caches, the loads
    of a batch overlap instead of each record waiting for its own two.

    >>> sum_pairs([(1, 2), (3, 4), (1, 5)], lambda a, b: a + b, NumericSums()).to_dict()
    {1: 7, 3: 4}
    """
    cdef object rec, it = iter(records), failure = None
    cdef list ahead = []
    cdef Py_ssize_t i, n
    if sums.fallback is None:
        while True:
            try:
                for rec in it:
                    ahead.append(rec)
                    if _is_pair(rec):
                        sums._prefetch_index(<object>PySequence_Fast_GET_ITEM(rec, 0))
                    if len(ahead) == _READ_AHEAD:
                        break
            except BaseException as e:
                # the records read before it come first, as they would one at a time
                failure, it = e, (_raise(error) for error in (e,))
            n = len(ahead)
            for i in range(n):
                rec = ahead[i]
                if _is_pair(rec):
                    sums._prefetch_entry(<object>PySequence_Fast_GET_ITEM(rec, 0))
            for i in range(n):
                rec = ahead[i]
                if not (_is_pair(rec) and sums._add(<object>PySequence_Fast_GET_ITEM(rec, 0),
                                                    <object>PySequence_Fast_GET_ITEM(rec, 1))):
                    sums._give_up()
                    it = chain(ahead[i:], it)
                    break
            else:
                if failure is not None:
                    raise failure
                if n < _READ_AHEAD:
                    return sums
                del ahead[:]
                continue
            break
    merge_combiners(it, merge, sums.fallback, True)
    return sums


def _raise(error):
    raise error


cdef inline bint _is_pair(object rec) noexcept:
    return ((PyTuple_CheckExact(rec) or PyList_CheckExact(rec))
            and PySequence_Fast_GET_SIZE(rec) == 2)

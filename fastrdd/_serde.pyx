# cython: language_level=3, embedsignature=True
"""Record-batch serialization, compiled twin of ``fastrdd._serde_py``.

``fastrdd._serde_py`` is the specification: its docstring describes the wire
format, and it produces it with msgpack's own ``Packer``.  This module writes
and reads the same subset of msgpack directly, and must produce the same bytes
for the same input; the tests check that on random batches.

Why not msgpack's compiled ``Packer`` here too: on a batch of small tuples
it alone runs at about 7M records/s (its generic dispatch, per value), a
plainness scan must come before it, and lists need a conversion pass.
Writing the bytes ourselves lets one pass of exact-type checks do all three,
at 15-35M records/s:

    records --(exact-type dispatch, C)--> _Writer buffer --> b"M..." bytes
       | first record that is not plain (or msgpack would refuse it)
       +--> b"P" + pickle.dumps(records, protocol=5)
                  (cloudpickle when pickle refuses them or names __main__)

and the reader builds tuples and lists straight from the bytes, with no
``ext_hook`` round trip into Python for lists.

No Python code can run while a batch is written: only exact built-in types
are touched, and nothing the GC tracks is allocated until an error ends the
pass (a GC run could call finalizers that mutate a list).  So tuple and list
items are read as borrowed pointers.  The encoding rules mirror msgpack's
(smallest header for each length, smallest int form, floats always 64-bit),
which is what keeps the twins identical.

The reader untracks each decoded tuple of scalars from the cyclic GC, as
CPython would at its first collection; otherwise every collection that a
large batch's own allocations trigger traverses all of its fresh tuples.
"""
cimport cython
from cpython.bool cimport PyBool_Check
from cpython.buffer cimport PyBUF_READ, PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_CheckExact, PyFloat_FromDouble
from cpython.list cimport PyList_CheckExact, PyList_GET_ITEM, PyList_GET_SIZE, PyList_New, PyList_SET_ITEM
from cpython.long cimport PyLong_CheckExact, PyLong_FromLong, PyLong_FromLongLong, PyLong_FromUnsignedLongLong
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.memoryview cimport PyMemoryView_FromMemory
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_CheckExact, PyTuple_GET_ITEM, PyTuple_GET_SIZE, PyTuple_New, PyTuple_SET_ITEM
from cpython.unicode cimport PyUnicode_AsUTF8AndSize, PyUnicode_CheckExact, PyUnicode_DecodeUTF8
from libc.stdint cimport int8_t, int16_t, int32_t, int64_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy, memmove

import pickle

__all__ = [
    "LIST_EXT_CODE",
    "MAX_DEPTH",
    "MSGPACK_TAG",
    "PICKLE_TAG",
    "dumps_batch",
    "loads_batch",
]

cdef extern from "Python.h":
    # Redeclared without Cython's ``except? -1``: on an exact int they cannot
    # fail (the unsigned one is only called once the value is known to fit),
    # and the common value -1 would otherwise cost a PyErr_Occurred() call.
    long long PyLong_AsLongLongAndOverflow(object pylong, int *overflow) noexcept
    unsigned long long PyLong_AsUnsignedLongLong(object pylong) noexcept
    int PyObject_GC_IsTracked(object op) noexcept
    void PyObject_GC_UnTrack(void *op) noexcept

cdef enum:
    _MAX_DEPTH = 100
    _LIST_EXT_CODE = 1
    _MSGPACK_TAG_BYTE = 0x4D  # b"M"
    _PICKLE_TAG_BYTE = 0x50   # b"P"
    # Largest header we write (ext 32: marker, 4-byte length, type code).
    # A list's payload is written after a gap this wide, then slid back.
    _MAX_EXT_HEADER = 6
    # Writer's first allocation per record; it doubles when short.  A small
    # (key, value) pair takes 3-20 bytes, so this rarely regrows and rarely
    # wastes much.
    _BYTES_PER_RECORD_GUESS = 16

#: First byte of a batch coded with msgpack.
MSGPACK_TAG = b"M"
#: First byte of a batch coded with pickle (protocol 5).
PICKLE_TAG = b"P"
#: msgpack ext type code that marks a ``list`` (tuples are plain arrays).
LIST_EXT_CODE = _LIST_EXT_CODE
#: Deepest container nesting still coded with msgpack.  Real records are a
#: few levels deep; the limit only exists to bound recursion.
MAX_DEPTH = _MAX_DEPTH

cdef int _PICKLE_PROTOCOL = 5
# Upper end of msgpack's int range; only consulted for ints >= 2**63.
cdef object _INT_MAX = 2**64 - 1
# msgpack lengths are 32-bit; a longer str/bytes/tuple/list is refused
# (ValueError, as msgpack's Packer does) and the batch goes to pickle.
cdef Py_ssize_t _LEN_MAX = 0xFFFFFFFF

# cdef aliases: a module global costs a dict lookup per use; these are bound
# once at import.
cdef object _pickle_dumps = pickle.dumps
cdef object _pickle_loads = pickle.loads
#: how pickle names the module of a class or function defined in a script
cdef bytes _MAIN_MODULE = b"__main__"


# ---------------------------------------------------------------- writing --

@cython.final
cdef class _Writer:
    """A growable byte buffer that one ``dumps_batch`` call writes into."""
    cdef:
        unsigned char *data  # owned; PyMem_Malloc'ed in __cinit__
        Py_ssize_t size      # bytes written so far
        Py_ssize_t cap       # bytes allocated

    def __cinit__(self, Py_ssize_t cap):
        if cap < 64:
            cap = 64
        self.data = <unsigned char *>PyMem_Malloc(cap)
        if self.data == NULL:
            raise MemoryError(f"cannot allocate {cap} bytes to serialize a record batch")
        self.cap = cap
        self.size = 0

    def __dealloc__(self):
        PyMem_Free(self.data)

    cdef int grow(self, Py_ssize_t extra) except -1:
        cdef:
            Py_ssize_t cap = self.cap * 2
            unsigned char *data
        if cap < self.size + extra:
            cap = self.size + extra
        data = <unsigned char *>PyMem_Realloc(self.data, cap)
        if data == NULL:
            raise MemoryError(f"cannot grow a record batch buffer to {cap} bytes")
        self.data = data
        self.cap = cap
        return 0

    cdef inline unsigned char *reserve(self, Py_ssize_t extra) except NULL:
        """Make room for ``extra`` bytes; return where they go."""
        if self.size + extra > self.cap:
            self.grow(extra)
        return self.data + self.size


cdef inline void _be16(unsigned char *p, uint16_t v) noexcept nogil:
    p[0] = <unsigned char>(v >> 8)
    p[1] = <unsigned char>v


cdef inline void _be32(unsigned char *p, uint32_t v) noexcept nogil:
    p[0] = <unsigned char>(v >> 24)
    p[1] = <unsigned char>(v >> 16)
    p[2] = <unsigned char>(v >> 8)
    p[3] = <unsigned char>v


cdef inline void _be64(unsigned char *p, uint64_t v) noexcept nogil:
    _be32(p, <uint32_t>(v >> 32))
    _be32(p + 4, <uint32_t>v)


cdef inline int _write_uint(_Writer w, uint64_t v) except -1:
    """Smallest msgpack form of a non-negative int, as msgpack picks it."""
    cdef unsigned char *p = w.reserve(9)
    if v < 0x80:
        p[0] = <unsigned char>v
        w.size += 1
    elif v <= 0xFF:
        p[0] = 0xCC
        p[1] = <unsigned char>v
        w.size += 2
    elif v <= 0xFFFF:
        p[0] = 0xCD
        _be16(p + 1, <uint16_t>v)
        w.size += 3
    elif v <= 0xFFFFFFFF:
        p[0] = 0xCE
        _be32(p + 1, <uint32_t>v)
        w.size += 5
    else:
        p[0] = 0xCF
        _be64(p + 1, v)
        w.size += 9
    return 0


cdef inline int _write_int(_Writer w, int64_t v) except -1:
    cdef unsigned char *p
    if v >= 0:
        return _write_uint(w, <uint64_t>v)
    p = w.reserve(9)
    if v >= -32:
        p[0] = <unsigned char>(<int8_t>v)  # negative fixint 0xE0..0xFF
        w.size += 1
    elif v >= -128:
        p[0] = 0xD0
        p[1] = <unsigned char>(<int8_t>v)
        w.size += 2
    elif v >= -32768:
        p[0] = 0xD1
        _be16(p + 1, <uint16_t>(<int16_t>v))
        w.size += 3
    elif v >= -2147483648:
        p[0] = 0xD2
        _be32(p + 1, <uint32_t>(<int32_t>v))
        w.size += 5
    else:
        p[0] = 0xD3
        _be64(p + 1, <uint64_t>v)
        w.size += 9
    return 0


cdef inline int _write_header(_Writer w, Py_ssize_t n, unsigned char fix,
                              Py_ssize_t fix_max, unsigned char m8,
                              unsigned char m16, unsigned char m32) except -1:
    """Length header: fix form up to ``fix_max``, then 8/16/32-bit forms.

    ``m8 == 0`` means the type has no 8-bit form (arrays).
    """
    cdef unsigned char *p = w.reserve(5)
    if n <= fix_max:
        p[0] = fix | <unsigned char>n
        w.size += 1
    elif m8 and n <= 0xFF:
        p[0] = m8
        p[1] = <unsigned char>n
        w.size += 2
    elif n <= 0xFFFF:
        p[0] = m16
        _be16(p + 1, <uint16_t>n)
        w.size += 3
    else:
        p[0] = m32
        _be32(p + 1, <uint32_t>n)
        w.size += 5
    return 0


cdef inline int _write_raw(_Writer w, const char *src, Py_ssize_t n,
                           bint is_str) except -1:
    cdef unsigned char *p
    if n > _LEN_MAX:
        raise ValueError(f"{'str' if is_str else 'bytes'} of {n} bytes exceeds msgpack's 4 GiB limit")
    if is_str:
        _write_header(w, n, 0xA0, 31, 0xD9, 0xDA, 0xDB)
    else:
        _write_header(w, n, 0xC4, -1, 0xC4, 0xC5, 0xC6)
    p = w.reserve(n)
    memcpy(p, src, n)
    w.size += n
    return 0


cdef int _write_big_int(_Writer w, object x) except -1:
    """An int outside int64: msgpack still takes it up to 2**64 - 1."""
    if x < 0 or x > _INT_MAX:
        return 0
    _write_uint(w, PyLong_AsUnsignedLongLong(x))
    return 1


@cython.boundscheck(False)
@cython.wraparound(False)
cdef int _write(_Writer w, object x, int depth) except -1:
    """Append ``x``; return 1, or 0 if ``x`` is not plain (nothing to undo:
    the caller drops the whole buffer)."""
    cdef:
        int overflow = 0
        long long v
        double d
        uint64_t bits
        const char *s
        Py_ssize_t i, n, start, payload, head
        unsigned char *p
        PyObject *item
    if PyLong_CheckExact(x):
        # Not Cython's ``v = x``: its OverflowError for a big int would
        # allocate, and an allocation may run the cyclic GC and with it
        # arbitrary finalizers while we hold borrowed pointers.
        v = PyLong_AsLongLongAndOverflow(x, &overflow)
        if overflow == 0:
            _write_int(w, v)
            return 1
        return _write_big_int(w, x)
    if PyUnicode_CheckExact(x):
        # Raises UnicodeEncodeError (a ValueError) on lone surrogates.
        s = PyUnicode_AsUTF8AndSize(x, &n)
        _write_raw(w, s, n, True)
        return 1
    if PyTuple_CheckExact(x):
        if depth >= _MAX_DEPTH:
            return 0
        n = PyTuple_GET_SIZE(x)
        if n > _LEN_MAX:
            raise ValueError(f"tuple of {n} items exceeds msgpack's array limit")
        _write_header(w, n, 0x90, 15, 0, 0xDC, 0xDD)
        for i in range(n):
            item = PyTuple_GET_ITEM(x, i)
            if not _write(w, <object>item, depth + 1):
                return 0
        return 1
    if PyFloat_CheckExact(x):
        d = PyFloat_AS_DOUBLE(x)
        memcpy(&bits, &d, 8)
        p = w.reserve(9)
        p[0] = 0xCB
        _be64(p + 1, bits)
        w.size += 9
        return 1
    if x is None:
        p = w.reserve(1)
        p[0] = 0xC0
        w.size += 1
        return 1
    if PyBool_Check(x):  # bool cannot be subclassed: this check is exact
        p = w.reserve(1)
        p[0] = 0xC3 if x is True else 0xC2
        w.size += 1
        return 1
    if PyBytes_CheckExact(x):
        _write_raw(w, PyBytes_AS_STRING(x), PyBytes_GET_SIZE(x), False)
        return 1
    if PyList_CheckExact(x):
        if depth >= _MAX_DEPTH:
            return 0
        n = PyList_GET_SIZE(x)
        if n > _LEN_MAX:
            raise ValueError(f"list of {n} items exceeds msgpack's array limit")
        # Leave room for the widest ext header, write the payload (an array
        # of the items), then write the real header and slide the payload
        # back against it.
        w.reserve(_MAX_EXT_HEADER)
        start = w.size
        w.size += _MAX_EXT_HEADER
        _write_header(w, n, 0x90, 15, 0, 0xDC, 0xDD)
        for i in range(n):
            item = PyList_GET_ITEM(x, i)
            if not _write(w, <object>item, depth + 1):
                return 0
        payload = w.size - start - _MAX_EXT_HEADER
        p = w.data + start
        head = 1
        if payload == 1:  # fixext 1, 2, 4, 8, 16
            p[0] = 0xD4
        elif payload == 2:
            p[0] = 0xD5
        elif payload == 4:
            p[0] = 0xD6
        elif payload == 8:
            p[0] = 0xD7
        elif payload == 16:
            p[0] = 0xD8
        elif payload <= 0xFF:
            p[0] = 0xC7
            p[1] = <unsigned char>payload
            head = 2
        elif payload <= 0xFFFF:
            p[0] = 0xC8
            _be16(p + 1, <uint16_t>payload)
            head = 3
        elif payload <= _LEN_MAX:
            p[0] = 0xC9
            _be32(p + 1, <uint32_t>payload)
            head = 5
        else:
            raise ValueError(f"list of {payload} bytes exceeds msgpack's ext limit")
        p[head] = _LIST_EXT_CODE
        head += 1
        if head != _MAX_EXT_HEADER:
            memmove(p + head, p + _MAX_EXT_HEADER, payload)
        w.size = start + head + payload
        return 1
    return 0


cdef bytes _pickled(list batch):
    # pickle, or cloudpickle for a batch pickle refuses or that names
    # __main__: the twin's ``_pickled`` says why
    cdef bytes data
    try:
        data = _pickle_dumps(batch, protocol=_PICKLE_PROTOCOL)
    except Exception:
        return PICKLE_TAG + _by_value(batch)
    if _MAIN_MODULE in data:
        return PICKLE_TAG + _by_value(batch)
    return PICKLE_TAG + data


cdef bytes _by_value(list batch):
    import cloudpickle

    return cloudpickle.dumps(batch, protocol=_PICKLE_PROTOCOL)


@cython.boundscheck(False)
@cython.wraparound(False)
def dumps_batch(records):
    """Serialize a list of records to one tagged ``bytes`` object.

    msgpack is used when every record is plain (see ``fastrdd._serde_py``),
    pickle protocol 5 otherwise.  Any iterable is accepted; it is read once
    into a list.

    >>> dumps_batch([("a", 1), ("b", 2)])
    b'M\\x92\\x92\\xa1a\\x01\\x92\\xa1b\\x02'
    >>> loads_batch(dumps_batch([("a", [1.5, None])]))
    [('a', [1.5, None])]
    """
    cdef:
        list batch
        Py_ssize_t i, n
        _Writer w
    batch = records if type(records) is list else list(records)
    n = PyList_GET_SIZE(batch)
    if n > _LEN_MAX:
        return _pickled(batch)
    w = _Writer(1 + 5 + n * _BYTES_PER_RECORD_GUESS)
    w.data[0] = _MSGPACK_TAG_BYTE
    w.size = 1
    try:
        _write_header(w, n, 0x90, 15, 0, 0xDC, 0xDD)
        for i in range(n):
            if not _write(w, <object>PyList_GET_ITEM(batch, i), 0):
                return _pickled(batch)
    except ValueError:
        # A value msgpack refuses although its type is plain: a str with
        # lone surrogates (not UTF-8 encodable) or an item over msgpack's
        # 4 GiB limit.  pickle takes both.
        return _pickled(batch)
    return PyBytes_FromStringAndSize(<char *>w.data, w.size)


# ---------------------------------------------------------------- reading --

cdef struct _Reader:
    const unsigned char *pos  # next byte to read
    const unsigned char *end  # one past the last byte of this (sub)payload
    const unsigned char *base  # start of the payload, for error offsets


cdef inline uint16_t _ld16(const unsigned char *p) noexcept nogil:
    return (<uint16_t>p[0] << 8) | p[1]


cdef inline uint32_t _ld32(const unsigned char *p) noexcept nogil:
    return ((<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16)
            | (<uint32_t>p[2] << 8) | p[3])


cdef inline uint64_t _ld64(const unsigned char *p) noexcept nogil:
    return (<uint64_t>_ld32(p) << 32) | _ld32(p + 4)


cdef inline double _f32(uint32_t bits) noexcept nogil:
    cdef float f
    memcpy(&f, &bits, 4)
    return f


cdef object _corrupt(_Reader *r, str what):
    return ValueError(
        f"corrupt record batch at payload offset {r.pos - r.base}: {what}; "
        "the data was not written by dumps_batch or was cut short"
    )


cdef inline const unsigned char *_take(_Reader *r, Py_ssize_t n) except NULL:
    """Consume ``n`` bytes; return where they start."""
    cdef const unsigned char *p = r.pos
    if r.end - p < n:
        raise _corrupt(r, f"needs {n} more bytes, has {r.end - p}")
    r.pos = p + n
    return p


cdef Py_ssize_t _array_len(_Reader *r) except -1:
    cdef unsigned char b = _take(r, 1)[0]
    cdef Py_ssize_t n
    if (b & 0xF0) == 0x90:
        n = b & 0x0F
    elif b == 0xDC:
        n = _ld16(_take(r, 2))
    elif b == 0xDD:
        n = _ld32(_take(r, 4))
    else:
        r.pos -= 1
        raise _corrupt(r, f"expected an array, found type byte 0x{b:02x}")
    # Every item takes at least one byte: a bigger count is a corrupt
    # length, and must not turn into a huge allocation.
    if n > r.end - r.pos:
        raise _corrupt(r, f"array of {n} items in {r.end - r.pos} bytes")
    return n


cdef list _read_list(_Reader *r, Py_ssize_t n, int depth):
    cdef:
        list out = PyList_New(n)
        Py_ssize_t i
        object item
    for i in range(n):
        item = _read(r, depth)
        Py_INCREF(item)  # PyList_SET_ITEM steals a reference
        PyList_SET_ITEM(out, i, item)
    return out


cdef tuple _read_tuple(_Reader *r, Py_ssize_t n, int depth):
    cdef:
        tuple out = PyTuple_New(n)
        Py_ssize_t i
        object item
        bint atomic = True
    for i in range(n):
        item = _read(r, depth)
        if atomic and (PyList_CheckExact(item) or (
                PyTuple_CheckExact(item) and PyObject_GC_IsTracked(item))):
            atomic = False
        Py_INCREF(item)  # PyTuple_SET_ITEM steals a reference
        PyTuple_SET_ITEM(out, i, item)
    if atomic and n:
        # A tuple of scalars (or of such tuples) cannot be in a reference
        # cycle.  CPython untracks these itself, but only when a collection
        # first visits them; a big batch of fresh tuples would otherwise be
        # traversed by every collection its own allocations trigger.
        PyObject_GC_UnTrack(<PyObject *>out)
    return out


cdef object _read_ext(_Reader *r, Py_ssize_t size, int depth):
    cdef:
        int8_t code = <int8_t>_take(r, 1)[0]
        _Reader sub
        object out
    if code != _LIST_EXT_CODE:
        raise ValueError(
            f"unknown msgpack ext type {code} in a record batch; "
            f"dumps_batch only writes ext type {_LIST_EXT_CODE} (list)"
        )
    if depth >= _MAX_DEPTH:
        raise _corrupt(r, f"containers nested deeper than {_MAX_DEPTH}")
    sub.base = r.base
    sub.pos = _take(r, size)
    sub.end = r.pos
    out = _read_list(&sub, _array_len(&sub), depth + 1)
    if sub.pos != sub.end:
        raise _corrupt(&sub, "extra bytes after a list")
    return out


cdef object _read(_Reader *r, int depth):
    cdef:
        unsigned char b = _take(r, 1)[0]
        Py_ssize_t n
        double d
        uint64_t bits
        const unsigned char *p
    if b < 0x80:
        return PyLong_FromLong(b)
    if b >= 0xE0:
        return PyLong_FromLong(<int8_t>b)
    if (b & 0xE0) == 0xA0:
        n = b & 0x1F
        p = _take(r, n)
        return PyUnicode_DecodeUTF8(<char *>p, n, NULL)
    if (b & 0xF0) == 0x90:
        if depth >= _MAX_DEPTH:
            raise _corrupt(r, f"containers nested deeper than {_MAX_DEPTH}")
        n = b & 0x0F
        if n > r.end - r.pos:
            raise _corrupt(r, f"array of {n} items in {r.end - r.pos} bytes")
        return _read_tuple(r, n, depth + 1)
    if b == 0xC0:
        return None
    if b == 0xC2:
        return False
    if b == 0xC3:
        return True
    if b == 0xCB:
        bits = _ld64(_take(r, 8))
        memcpy(&d, &bits, 8)
        return PyFloat_FromDouble(d)
    if b == 0xCC:
        return PyLong_FromLong(_take(r, 1)[0])
    if b == 0xCD:
        return PyLong_FromLong(_ld16(_take(r, 2)))
    if b == 0xCE:
        return PyLong_FromUnsignedLongLong(_ld32(_take(r, 4)))
    if b == 0xCF:
        return PyLong_FromUnsignedLongLong(_ld64(_take(r, 8)))
    if b == 0xD0:
        return PyLong_FromLong(<int8_t>_take(r, 1)[0])
    if b == 0xD1:
        return PyLong_FromLong(<int16_t>_ld16(_take(r, 2)))
    if b == 0xD2:
        return PyLong_FromLong(<int32_t>_ld32(_take(r, 4)))
    if b == 0xD3:
        return PyLong_FromLongLong(<int64_t>_ld64(_take(r, 8)))
    if b == 0xD9 or b == 0xDA or b == 0xDB:
        n = (_take(r, 1)[0] if b == 0xD9 else
             _ld16(_take(r, 2)) if b == 0xDA else _ld32(_take(r, 4)))
        p = _take(r, n)
        return PyUnicode_DecodeUTF8(<char *>p, n, NULL)
    if b == 0xC4 or b == 0xC5 or b == 0xC6:
        n = (_take(r, 1)[0] if b == 0xC4 else
             _ld16(_take(r, 2)) if b == 0xC5 else _ld32(_take(r, 4)))
        p = _take(r, n)
        return PyBytes_FromStringAndSize(<char *>p, n)
    if b == 0xDC or b == 0xDD:
        if depth >= _MAX_DEPTH:
            raise _corrupt(r, f"containers nested deeper than {_MAX_DEPTH}")
        r.pos -= 1
        return _read_tuple(r, _array_len(r), depth + 1)
    if 0xD4 <= b <= 0xD8:
        return _read_ext(r, 1 << (b - 0xD4), depth)
    if b == 0xC7 or b == 0xC8 or b == 0xC9:
        n = (_take(r, 1)[0] if b == 0xC7 else
             _ld16(_take(r, 2)) if b == 0xC8 else _ld32(_take(r, 4)))
        return _read_ext(r, n, depth)
    if b == 0xCA:
        # float 32: never written by dumps_batch, read like msgpack does.
        return PyFloat_FromDouble(_f32(_ld32(_take(r, 4))))
    r.pos -= 1
    raise _corrupt(r, f"msgpack type byte 0x{b:02x} is never written by dumps_batch")


cdef list _read_batch(const unsigned char *data, Py_ssize_t size):
    cdef:
        _Reader r
        list out
    r.base = data
    r.pos = data
    r.end = data + size
    out = _read_list(&r, _array_len(&r), 0)
    if r.pos != r.end:
        raise _corrupt(&r, f"{r.end - r.pos} extra bytes after the last record")
    return out


def loads_batch(data):
    """Deserialize a batch written by :func:`dumps_batch`; return a list.

    ``data`` may be ``bytes``, ``bytearray``, ``memoryview`` or any other
    C-contiguous buffer.  It is read in place (no copy of the payload), and
    the buffer is released before returning, so a ``bytearray`` can be
    resized afterwards.

    Raises ``ValueError`` for empty input, an unknown tag or a corrupt
    payload, and ``TypeError`` for a non-contiguous buffer.
    """
    cdef:
        Py_buffer buf
        const unsigned char *p
        unsigned char tag
        object payload
    try:
        PyObject_GetBuffer(data, &buf, PyBUF_SIMPLE)
    except BufferError as e:
        raise TypeError(
            "loads_batch needs a C-contiguous buffer; "
            "pass bytes(view) for a strided memoryview"
        ) from e
    try:
        if buf.len == 0:
            raise ValueError(
                "cannot load an empty record batch: expected a tag byte "
                "b'M' (msgpack) or b'P' (pickle) written by dumps_batch"
            )
        p = <const unsigned char *>buf.buf
        tag = p[0]
        if tag == _MSGPACK_TAG_BYTE:
            return _read_batch(p + 1, buf.len - 1)
        if tag == _PICKLE_TAG_BYTE:
            payload = PyMemoryView_FromMemory(<char *>p + 1, buf.len - 1, PyBUF_READ)
            try:
                return _pickle_loads(payload)
            finally:
                # The view points into ``buf``: make sure nothing can use it
                # once the buffer is released below.
                payload.release()
        raise ValueError(
            f"unknown record batch tag {bytes([tag])!r}: expected b'M' "
            "(msgpack) or b'P' (pickle); the data was not written by "
            "dumps_batch"
        )
    finally:
        PyBuffer_Release(&buf)

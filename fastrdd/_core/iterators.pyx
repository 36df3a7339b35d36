# cython: language_level=3, embedsignature=True
"""Record iterators for recognised narrow operators, and the chunking of records, compiled.

The specification is the twin, ``fastrdd/_core/iterators_py.py``.  Here the
loop runs in C: no generator frame is resumed and no Python function is
called per record, only the C-level test (``PySequence_Contains``,
``PyUnicode_Tailmatch``) on a value read from the cell at each record.
"""
cimport cython
from cpython.object cimport PyObject

cdef extern from "Python.h":
    const Py_ssize_t PY_SSIZE_T_MAX
    int PySequence_Contains(object o, object value) except? -1
    Py_ssize_t PyUnicode_Tailmatch(object s, object sub, Py_ssize_t start, Py_ssize_t end,
                                   int direction) except? -1
    bint PyUnicode_CheckExact(object o)
    bint PyBytes_CheckExact(object o)
    bint PyCell_Check(object o)
    PyObject *PyCell_GET(object cell)
    bint PyTuple_CheckExact(object o)
    bint PyObject_IS_GC(object o)
    bint PyObject_GC_IsTracked(object o)
    void PyObject_GC_UnTrack(void *op)
    Py_ssize_t PyTuple_GET_SIZE(object t)
    PyObject *PyTuple_GET_ITEM(object t, Py_ssize_t i)

__all__ = ["filter_contains", "filter_prefix", "take"]


cdef int _user_test(object fallback, object s) except -1:
    """The user's own predicate, where the C test does not apply."""
    try:
        return bool(fallback(s))
    except StopIteration as e:  # would end the partition silently (PEP 479's case)
        raise RuntimeError("generator raised StopIteration") from e


cdef object _checked_cell(object cell):
    if not PyCell_Check(cell):  # PyCell_GET trusts its argument
        raise TypeError(f"expected a cell, got {type(cell).__name__}")
    return cell


@cython.final
cdef class filter_contains:
    """The items ``s`` of ``iterator`` for which ``needle in s``, ``needle`` held by ``cell``.

    >>> from types import CellType
    >>> list(filter_contains(["ab", "b", "ca"], CellType("a"), lambda s: "a" in s))
    ['ab', 'ca']
    """
    cdef:
        object iterator   # the parent's records
        object cell       # holds ``needle``: a constant, or the user's captured variable
        object fallback   # the user's function: decides where the C test could run user code

    def __cinit__(self, iterator, cell, fallback):
        self.iterator = iter(iterator)
        self.cell = _checked_cell(cell)
        self.fallback = fallback

    def __iter__(self):
        return self

    def __next__(self):
        cdef object s, needle
        cdef PyObject *held
        for s in self.iterator:
            held = PyCell_GET(self.cell)
            needle = <object>held if held is not NULL else None  # unbound: the user's NameError
            if ((PyUnicode_CheckExact(s) and PyUnicode_CheckExact(needle))
                    or (PyBytes_CheckExact(s) and PyBytes_CheckExact(needle))):
                if PySequence_Contains(s, needle):
                    return s
            elif _user_test(self.fallback, s):
                return s
        raise StopIteration


@cython.final
cdef class filter_prefix:
    """The items ``s`` of ``iterator`` for which ``s.startswith(prefix)``, ``prefix`` held by ``cell``.

    >>> from types import CellType
    >>> list(filter_prefix(["ERROR a", "INFO b"], CellType("ERROR"), lambda s: s.startswith("ERROR")))
    ['ERROR a']
    """
    cdef:
        object iterator   # the parent's records
        object cell       # holds ``prefix``: a constant, or the user's captured variable
        object fallback   # the user's function: for records or prefixes that are not exactly str

    def __cinit__(self, iterator, cell, fallback):
        self.iterator = iter(iterator)
        self.cell = _checked_cell(cell)
        self.fallback = fallback

    def __iter__(self):
        return self

    def __next__(self):
        cdef object s, prefix
        cdef PyObject *held
        for s in self.iterator:
            held = PyCell_GET(self.cell)
            prefix = <object>held if held is not NULL else None  # unbound, as above
            if PyUnicode_CheckExact(prefix) and PyUnicode_CheckExact(s):
                if PyUnicode_Tailmatch(s, prefix, 0, PY_SSIZE_T_MAX, -1):
                    return s
            elif _user_test(self.fallback, s):
                return s
        raise StopIteration


cdef bint _untrack_if_atomic(object rec, int depth) noexcept:
    """Untrack ``rec`` if it is a tuple whose items cannot hold a reference cycle:
    no container but tuples untracked in turn (a few levels deep).  The rule is
    CPython's own (``_PyTuple_MaybeUntrack``); True when ``rec`` is untracked now."""
    cdef Py_ssize_t i
    cdef object item
    if not PyTuple_CheckExact(rec):
        return False
    if not PyObject_GC_IsTracked(rec):
        return True
    if depth == 0:
        return False
    for i in range(PyTuple_GET_SIZE(rec)):
        item = <object>PyTuple_GET_ITEM(rec, i)
        if PyObject_IS_GC(item) and not _untrack_if_atomic(item, depth - 1):
            return False
    PyObject_GC_UnTrack(<PyObject *>rec)
    return True


cdef enum:
    # tuple nesting that ``take`` looks into: ``(k, (v, w))`` is two levels
    _UNTRACK_DEPTH = 4


def take(iterator, Py_ssize_t size):
    """A list of the next ``size`` items of ``iterator`` (fewer at its end).

    A tuple of scalars (a ``(key, value)`` record of ints, strs...) is taken
    out of the cyclic collector's lists as it arrives, as CPython does to it
    anyway, but only when a collection first walks it: a chunk held in
    memory (65536 records on a shuffle's map side) would otherwise be walked
    by the collections its own allocations trigger, 4% of a join's time.

    >>> take(iter([(1, "a"), (2, "b"), (3, "c")]), 2)
    [(1, 'a'), (2, 'b')]
    """
    cdef list out = []
    cdef object rec
    if size <= 0:
        return out
    for rec in iterator:
        _untrack_if_atomic(rec, _UNTRACK_DEPTH)
        out.append(rec)
        size -= 1
        if size == 0:
            break
    return out

# cython: language_level=3, embedsignature=True
"""Record iterators for recognised narrow operators, compiled.

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

__all__ = ["filter_contains", "filter_prefix"]


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

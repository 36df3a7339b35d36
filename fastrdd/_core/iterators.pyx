# cython: language_level=3, embedsignature=True
"""Record iterators for recognised narrow operators, compiled.

The specification is the twin, ``fastrdd/_core/iterators_py.py``.  Here the
loop runs in C: no generator frame is resumed and no Python function is
called per record, only the C-level test (``PySequence_Contains``).
"""
cimport cython
from cpython.object cimport PyObject

cdef extern from "Python.h":
    int PySequence_Contains(object o, object value) except? -1
    PyObject* PyIter_Next(object o) except? NULL

__all__ = ["filter_contains"]


@cython.final
cdef class filter_contains:
    """The items ``s`` of ``iterator`` for which ``needle in s``.

    >>> list(filter_contains(["ab", "b", "ca"], "a", lambda s: "a" in s))
    ['ab', 'ca']
    """
    cdef:
        object iterator   # the parent's records
        object needle     # the constant or captured value of ``needle in s``
        object fallback   # the user's function, called where the test raises

    def __cinit__(self, iterator, needle, fallback):
        self.iterator = iter(iterator)
        self.needle = needle
        self.fallback = fallback

    def __iter__(self):
        return self

    cdef int _call_fallback(self, object s) except -1:
        try:
            return bool(self.fallback(s))
        except StopIteration as e:  # would end the partition silently (PEP 479's case)
            raise RuntimeError("generator raised StopIteration") from e

    def __next__(self):
        cdef object s
        cdef int found
        for s in self.iterator:
            try:
                found = PySequence_Contains(s, self.needle)
            except Exception:
                found = self._call_fallback(s)
            if found:
                return s
        raise StopIteration

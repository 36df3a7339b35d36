# cython: language_level=3, embedsignature=True
"""Record iterators for recognised narrow operators, compiled.

The specification is the twin, ``fastrdd/_core/iterators_py.py``.  Here the
loop runs in C: no generator frame is resumed and no Python function is
called per record, only the C-level test (``PySequence_Contains``,
``PyUnicode_Tailmatch``).
"""
cimport cython

cdef extern from "Python.h":
    const Py_ssize_t PY_SSIZE_T_MAX
    int PySequence_Contains(object o, object value) except? -1
    Py_ssize_t PyUnicode_Tailmatch(object s, object sub, Py_ssize_t start, Py_ssize_t end,
                                   int direction) except? -1
    bint PyUnicode_CheckExact(object o)

__all__ = ["filter_contains", "filter_prefix"]


cdef int _user_test(object fallback, object s) except -1:
    """The user's own predicate, where the C test does not apply or raised."""
    try:
        return bool(fallback(s))
    except StopIteration as e:  # would end the partition silently (PEP 479's case)
        raise RuntimeError("generator raised StopIteration") from e


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

    def __next__(self):
        cdef object s
        cdef int found
        for s in self.iterator:
            try:
                found = PySequence_Contains(s, self.needle)
            except Exception:
                found = _user_test(self.fallback, s)
            if found:
                return s
        raise StopIteration


@cython.final
cdef class filter_prefix:
    """The items ``s`` of ``iterator`` for which ``s.startswith(prefix)``.

    >>> list(filter_prefix(["ERROR a", "INFO b"], "ERROR", lambda s: s.startswith("ERROR")))
    ['ERROR a']
    """
    cdef:
        object iterator   # the parent's records
        object prefix     # the constant or captured value of ``s.startswith(prefix)``
        object fallback   # the user's function: for records that are not exactly str
        bint plain        # prefix is exactly a str

    def __cinit__(self, iterator, prefix, fallback):
        self.iterator = iter(iterator)
        self.prefix = prefix
        self.fallback = fallback
        self.plain = PyUnicode_CheckExact(prefix)

    def __iter__(self):
        return self

    def __next__(self):
        cdef object s
        for s in self.iterator:
            if self.plain and PyUnicode_CheckExact(s):
                if PyUnicode_Tailmatch(s, self.prefix, 0, PY_SSIZE_T_MAX, -1):
                    return s
            elif _user_test(self.fallback, s):
                return s
        raise StopIteration

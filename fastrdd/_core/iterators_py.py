"""Record iterators for recognised narrow operators: the pure-Python twin.

This module is the specification of ``fastrdd/_core/iterators.pyx``.  The
engine uses them in place of a generator that calls a user function whose
bytecode ``specialize.py`` recognised.  Each takes that function's operand
as a cell, read at each record as the function reads it, and the function
itself, as ``fallback``.  The fast test runs only where it can run no user
code (exact ``str`` and ``bytes``); ``fallback`` decides every other record,
so an error is raised by the user's own code, with the user's line in the
traceback, and nothing user-made runs twice.
"""

from itertools import islice

__all__ = ["filter_contains", "filter_prefix", "take"]


def filter_contains(iterator, cell, fallback):
    """The items ``s`` of ``iterator`` for which ``needle in s``, ``needle`` held by ``cell``.

    ``fallback`` is the user's ``lambda s: needle in s``.

    >>> from types import CellType
    >>> list(filter_contains(["ab", "b", "ca"], CellType("a"), lambda s: "a" in s))
    ['ab', 'ca']
    """
    for s in iterator:
        try:
            needle = cell.cell_contents
        except ValueError:  # unbound: not a str, so ``fallback`` runs (and raises NameError)
            needle = None
        kind = type(s)
        if (kind is str or kind is bytes) and type(needle) is kind:
            if needle in s:
                yield s
        elif fallback(s):
            yield s


def filter_prefix(iterator, cell, fallback):
    """The items ``s`` of ``iterator`` for which ``s.startswith(prefix)``, ``prefix`` held by ``cell``.

    ``fallback`` is the user's ``lambda s: s.startswith(prefix)``; it decides
    for every item that is not exactly a ``str`` (or when ``prefix`` is not).

    >>> from types import CellType
    >>> list(filter_prefix(["ERROR a", "INFO b"], CellType("ERROR"), lambda s: s.startswith("ERROR")))
    ['ERROR a']
    """
    for s in iterator:
        try:
            prefix = cell.cell_contents
        except ValueError:  # unbound, as above
            prefix = None
        if type(prefix) is str and type(s) is str:
            if s.startswith(prefix):
                yield s
        elif fallback(s):
            yield s


def take(iterator, size):
    """A list of the next ``size`` items of ``iterator`` (fewer at its end).

    The compiled twin also takes each tuple of scalars out of the cyclic
    collector's reach as it arrives (CPython would at its first collection);
    Python code cannot, and no result differs.

    >>> take(iter([(1, "a"), (2, "b"), (3, "c")]), 2)
    [(1, 'a'), (2, 'b')]
    """
    return list(islice(iterator, max(size, 0)))

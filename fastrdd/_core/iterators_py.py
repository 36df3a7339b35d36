"""Record iterators for recognised narrow operators: the pure-Python twin.

This module is the specification of ``fastrdd/_core/iterators.pyx``.  The
engine uses them in place of a generator that calls a user function whose
bytecode ``specialize.py`` recognised; each takes that function too, as
``fallback``, and calls it where the fast test raises, so that an error is
raised by the user's own code, with the user's line in the traceback.
"""

__all__ = ["filter_contains", "filter_prefix"]


def filter_contains(iterator, needle, fallback):
    """The items ``s`` of ``iterator`` for which ``needle in s``.

    ``fallback`` is the user's ``lambda s: needle in s``.

    >>> list(filter_contains(["ab", "b", "ca"], "a", lambda s: "a" in s))
    ['ab', 'ca']
    """
    for s in iterator:
        try:
            found = needle in s
        except Exception:
            found = fallback(s)
        if found:
            yield s


def filter_prefix(iterator, prefix, fallback):
    """The items ``s`` of ``iterator`` for which ``s.startswith(prefix)``.

    ``fallback`` is the user's ``lambda s: s.startswith(prefix)``; it decides
    for every item that is not exactly a ``str`` (or when ``prefix`` is not).

    >>> list(filter_prefix(["ERROR a", "INFO b"], "ERROR", lambda s: s.startswith("ERROR")))
    ['ERROR a']
    """
    plain = type(prefix) is str
    for s in iterator:
        if plain and type(s) is str:
            if s.startswith(prefix):
                yield s
        elif fallback(s):
            yield s

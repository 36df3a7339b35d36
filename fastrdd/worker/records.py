"""Per-record helpers of pair operations.

They run on every record of pair-RDD pipelines, so each is one plain
generator (a generator over another generator costs a second frame resume
per record); a record that is not a (key, value) pair fails with its value
named.  So the four-line pair check is written out in each loop, here and
in ``RDD.mapValues`` and ``worker/join.py``'s tagging (the join's probe is
compiled: ``_shuffle.probe_join``): iterating
``pairs`` instead, or calling a checker per record, measured about twice
as slow (``keys_of`` over 1M pairs: 28 ms inline, 50-95 ms shared).  What
they share is the error, ``not_a_pair``.
"""

__all__ = ["not_a_pair", "pairs", "keys_of", "values_of"]


def not_a_pair(record):
    return TypeError(
        f"expected (key, value) pairs for a pair operation, got {record!r:.200} "
        f"(a {type(record).__name__})")


def pairs(iterator):
    """Yield (key, value) from ``iterator``, naming the first record that is not a pair."""
    for record in iterator:
        try:
            k, v = record
        except (TypeError, ValueError):
            raise not_a_pair(record) from None
        yield k, v


def keys_of(_, iterator):
    for record in iterator:
        try:
            k, _v = record
        except (TypeError, ValueError):
            raise not_a_pair(record) from None
        yield k


def values_of(_, iterator):
    for record in iterator:
        try:
            _k, v = record
        except (TypeError, ValueError):
            raise not_a_pair(record) from None
        yield v


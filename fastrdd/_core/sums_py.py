"""The sums of ``reduceByKey(add)``: the pure-Python twin, and the specification.

``sum_pairs`` folds ``(key, value)`` records into a ``NumericSums`` as
``combine_pairs(records, identity, merge)`` would (the first value of a key as
it is, later ones added with ``merge``, a plain ``+``); ``to_dict`` gives the
sums in first-seen order.  The compiled twin, ``sums.pyx``, keeps int keys with
int or float sums in C arrays until a record does not fit, with the same results.
"""
from fastrdd._shuffle_py import bucket_dict, merge_combiners

__all__ = ["NumericSums", "sum_pairs"]


class NumericSums:
    """The combiners of a ``reduceByKey(add)`` (``sum_pairs``), ``to_dict`` at the end.

    Here a dict; the compiled twin keeps int keys with int or float sums in C
    arrays until a record does not fit, with the same results.
    """

    __slots__ = ("sums",)

    def __init__(self):
        self.sums = {}

    def __len__(self):
        return len(self.sums)

    def to_dict(self):
        """The sums as ``{key: sum}`` in first-seen order; the table is then empty."""
        sums, self.sums = self.sums, {}
        return sums

    def buckets(self, num_partitions):
        """``bucket_dict(self.to_dict(), num_partitions)``: the sums as ``(key, sum)``
        lists, placed by ``portable_hash``; the table is then empty.

        >>> sums = sum_pairs([(1, 2.0), (2, 1.0), (3, 4.0)], lambda a, b: a + b, NumericSums())
        >>> sums.buckets(2)
        [[(2, 1.0)], [(1, 2.0), (3, 4.0)]]
        """
        return bucket_dict(self.to_dict(), num_partitions)


def sum_pairs(records, merge, sums):
    """``combine_pairs(records, identity, merge, ...)`` where ``merge`` is a plain ``+``
    (``specialize.is_plain_add``), folding into ``sums``; returns ``sums``.

    >>> sum_pairs([(1, 2), (3, 4), (1, 5)], lambda a, b: a + b, NumericSums()).to_dict()
    {1: 7, 3: 4}
    """
    if not isinstance(sums, NumericSums):
        raise TypeError(f"sums must be a NumericSums, not {type(sums).__name__}")
    merge_combiners(records, merge, sums.sums)
    return sums

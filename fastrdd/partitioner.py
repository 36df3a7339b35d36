"""Partitioners: which reduce partition a key goes to.

``portable_hash`` is deterministic across processes without a fixed
PYTHONHASHSEED and keeps keys that compare equal together (1, 1.0 and True
are one key), so map tasks in different workers agree on placement.
"""
from fastrdd import _impl

__all__ = ["Partitioner", "portable_hash"]



def portable_hash(x):
    """A hash of ``x`` that every process agrees on (PySpark's ``portable_hash``).

    >>> portable_hash(None), portable_hash(1) == portable_hash(1.0) == portable_hash(True)
    (0, True)
    """
    return _impl.shuffle.portable_hash(x)


class Partitioner:
    """Maps a key to ``partitionFunc(key) % numPartitions``.

    Two partitioners are equal when they have the same number of partitions
    and the same function; an RDD partitioned by an equal partitioner needs
    no shuffle for a key-based operation.

    >>> p = Partitioner(4, portable_hash)
    >>> p(6), p == Partitioner(4, portable_hash), p == Partitioner(2, portable_hash)
    (2, True, False)
    """

    def __init__(self, numPartitions, partitionFunc):
        self.numPartitions = numPartitions
        self.partitionFunc = partitionFunc

    def __eq__(self, other):
        return (
            isinstance(other, Partitioner)
            and self.numPartitions == other.numPartitions
            and self.partitionFunc == other.partitionFunc
        )

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash((self.numPartitions, id(self.partitionFunc)))

    def __call__(self, k):
        return self.partitionFunc(k) % self.numPartitions

    def __repr__(self):
        name = getattr(self.partitionFunc, "__name__", repr(self.partitionFunc))
        return f"Partitioner({self.numPartitions}, {name})"

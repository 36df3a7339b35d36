"""cogroup and the joins, built as PySpark builds them.

Each side's values are tagged with the side they come from, the tagged RDDs
are unioned and grouped by key (one shuffle, or none when both sides are
already partitioned alike), and each key's group is split back by tag.
The join's number of partitions is therefore the union's: the sum of both
sides' partitions unless given, as in PySpark.
"""
from functools import reduce as _reduce

from .resultiterable import ResultIterable

__all__ = ["cogroup", "join"]


def cogroup(rdds, numPartitions):
    count = len(rdds)
    tagged = [rdd.mapPartitionsWithIndex(_tagger(i), True) for i, rdd in enumerate(rdds)]
    union = _reduce(lambda a, b: a.union(b), tagged)

    def dispatch(seq):
        bufs = [[] for _ in range(count)]
        for n, v in seq:
            bufs[n].append(v)
        return tuple(ResultIterable(vs) for vs in bufs)

    return union.groupByKey(numPartitions).mapValues(dispatch)


def _tagger(side):
    """Tag each value with its side, in one generator (the hot path of every join)."""
    from .records import not_a_pair as _not_a_pair

    def tag(_, iterator):
        for record in iterator:
            try:
                k, v = record
            except (TypeError, ValueError):
                raise _not_a_pair(record) from None
            yield k, (side, v)

    return tag


def join(left, right, numPartitions, keep_left, keep_right):
    vs = left.mapPartitionsWithIndex(_tagger(1), True)
    ws = right.mapPartitionsWithIndex(_tagger(2), True)

    def dispatch(seq):
        vbuf, wbuf = [], []
        for n, v in seq:
            (vbuf if n == 1 else wbuf).append(v)
        if keep_left and not wbuf:
            wbuf.append(None)
        if keep_right and not vbuf:
            vbuf.append(None)
        return [(v, w) for v in vbuf for w in wbuf]

    return vs.union(ws).groupByKey(numPartitions).flatMapValues(dispatch)

"""cogroup and the joins.

``cogroup`` is built as PySpark builds it: each side's values are tagged with
the side they come from, the tagged RDDs are unioned and grouped by key, and
each key's group is split back by tag.

The joins are hash joins.  Both sides are placed by the same hash
partitioner (``partitionBy``: no shuffle for a side already placed so, as
the RDD paper's PageRank relies on); then partition i of the result joins
partition i of each side: the right side's records are grouped into a dict,
and the left side streams past it, so the left side is never tagged,
grouped nor held in memory.  If the right side does not fit in the worker's
memory budget, the partition falls back to the grouped join, which spills
(``spill.ExternalGrouper``).  The number of partitions is what PySpark's
union-based join gives: ``numPartitions``, else ``spark.default.parallelism``,
else that of the sides when they are partitioned alike, else their sum.
"""
from functools import reduce as _reduce
from itertools import chain

from fastrdd._impl import shuffle as kernels
from fastrdd.serializers import chunks
from fastrdd.worker.records import not_a_pair
from fastrdd.storage.spill import ExternalGrouper, context

from fastrdd.resultiterable import ResultIterable

__all__ = ["cogroup", "join", "hash_join"]


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
    def tag(_, iterator):
        for record in iterator:
            try:
                k, v = record
            except (TypeError, ValueError):
                raise not_a_pair(record) from None
            yield k, (side, v)

    return tag


def join(left, right, numPartitions, keep_left, keep_right):
    from fastrdd.partitioner import Partitioner, portable_hash
    from fastrdd.rdd.lineage import CoPartitionedJoin

    n = numPartitions
    if n is None:
        if left.ctx._conf.contains("spark.default.parallelism"):
            n = left.ctx.defaultParallelism
        elif left.partitioner is not None and left.partitioner == right.partitioner:
            n = left.getNumPartitions()
        else:
            n = left.getNumPartitions() + right.getNumPartitions()
    placed = Partitioner(n, portable_hash)
    sides = [side if side.partitioner == placed else side.partitionBy(n) for side in (left, right)]
    return sides[0]._new(CoPartitionedJoin(sides[0], sides[1], keep_left, keep_right),
                         sides[0].partitioner)


#: right-side records grouped between two memory checks
BUILD_CHUNK = 65536


def hash_join(left, right, keep_left, keep_right):
    """Join one partition: ``(k, (v, w))`` for every match of ``left`` and ``right`` records.

    ``left`` and ``right`` are iterators of pairs; ``keep_left``/``keep_right``
    make the outer joins (``None`` for the missing side).
    """
    ctx = context()
    table = {}
    right = iter(right)  # one iterator: a fallback carries on where the chunks stopped
    for chunk in chunks(right, BUILD_CHUNK):
        kernels.group_pairs(chunk, table)
        if ctx.over():
            return _grouped_join(left, _chain_grouped(table, right), keep_left, keep_right)
    return _probe(left, table, keep_left, keep_right)


def _probe(left, table, keep_left, keep_right):
    get = table.get
    matched = set() if keep_right else None
    for record in left:
        try:
            k, v = record
        except (TypeError, ValueError):
            raise not_a_pair(record) from None
        ws = get(k)
        if ws is not None:
            for w in ws:
                yield k, (v, w)
            if matched is not None:
                matched.add(k)
        elif keep_left:
            yield k, (v, None)
    if matched is not None:
        for k, ws in table.items():
            if k not in matched:
                for w in ws:
                    yield k, (None, w)


def _chain_grouped(table, rest):
    """The right side again as pairs: what was grouped (freed as it goes), then the rest."""
    while table:
        k, ws = table.popitem()
        for w in ws:
            yield k, w
    yield from rest


def _grouped_join(left, right, keep_left, keep_right):
    """The join by grouping both sides by key, spilling as needed (bounded memory)."""
    tagged = chain(_tagger(1)(None, left), _tagger(2)(None, right))
    for k, seq in ExternalGrouper().add_values(tagged).items():
        vbuf, wbuf = [], []
        for n, v in seq:
            (vbuf if n == 1 else wbuf).append(v)
        if keep_left and not wbuf:
            wbuf.append(None)
        if keep_right and not vbuf:
            vbuf.append(None)
        for v in vbuf:
            for w in wbuf:
                yield k, (v, w)

"""cogroup and the joins, as the driver plans them (the per-partition hash join
that runs in the workers is ``worker.join``).

``cogroup`` is built as PySpark builds it: each side's values are tagged with
the side they come from, the tagged RDDs are unioned and grouped by key, and
each key's group is split back by tag.

The joins are hash joins.  Both sides are placed by the same hash
partitioner (``partitionBy``: no shuffle for a side already placed so, as
the RDD paper's PageRank relies on; when both move, they move in one shuffle
of their union, whose first map outputs are the left side's, so one map
stage runs and no record is tagged); then partition i of the result joins
partition i of each side: the right side's records are grouped into a dict,
and the left side streams past it, so the left side is never tagged,
grouped nor held in memory.  If the right side does not fit in the worker's
memory budget, the partition falls back to the grouped join, which spills
(``storage.spill.ExternalGrouper``).  The number of partitions is what PySpark's
union-based join gives: ``numPartitions``, else ``spark.default.parallelism``,
else that of the sides when they are partitioned alike, else their sum.
"""
from functools import reduce as _reduce

from fastrdd.partitioner import Partitioner, portable_hash
from fastrdd.rdd.lineage import CoPartitionedJoin, OneShuffleJoin, Union
from fastrdd.resultiterable import ResultIterable
from fastrdd.worker.join import tagger

__all__ = ["cogroup", "join"]


def cogroup(rdds, numPartitions):
    count = len(rdds)
    tagged = [rdd.mapPartitionsWithIndex(tagger(i), True) for i, rdd in enumerate(rdds)]
    union = _reduce(lambda a, b: a.union(b), tagged)

    def dispatch(seq):
        bufs = [[] for _ in range(count)]
        for n, v in seq:
            bufs[n].append(v)
        return tuple(ResultIterable(vs) for vs in bufs)

    return union.groupByKey(numPartitions).mapValues(dispatch)


def join(left, right, numPartitions, keep_left, keep_right):
    n = numPartitions
    if n is None:
        if left.ctx._conf.contains("spark.default.parallelism"):
            n = left.ctx.defaultParallelism
        elif left.partitioner is not None and left.partitioner == right.partitioner:
            n = left.getNumPartitions()
        else:
            n = left.getNumPartitions() + right.getNumPartitions()
    placed = Partitioner(n, portable_hash)
    if left.partitioner != placed and right.partitioner != placed:
        # both move: one shuffle of their union, one map stage (as PySpark's join)
        shuffled = left._new(Union([left, right])).partitionBy(n)
        return shuffled._new(OneShuffleJoin(shuffled, left.getNumPartitions(), keep_left,
                                            keep_right), shuffled.partitioner)
    sides = [side if side.partitioner == placed else side.partitionBy(n) for side in (left, right)]
    return sides[0]._new(CoPartitionedJoin(sides[0], sides[1], keep_left, keep_right),
                         sides[0].partitioner)

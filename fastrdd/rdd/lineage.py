"""The concrete kinds of RDD: how each partition is made from its parents.

Each kind tells the scheduler its structure (``getNumPartitions``,
``_narrow_parents``, ``_parent_splits``, ``_shuffle_dep``) and builds its
worker-side ``Node`` (see ``pipeline.py``).  Only ``ShuffledRDD`` starts a
new stage; every other kind is pipelined into its child's tasks.
"""
import weakref
from functools import partial

from fastrdd.worker import pipeline
from fastrdd.io import text as textio
from fastrdd.shuffle.dependency import ShuffleDependency
from fastrdd.partitioner import Partitioner, portable_hash
from fastrdd.rdd.rdd import RDD
from fastrdd.serializers import dumps_records
from fastrdd.specialize import NOT_CONSTANT

__all__ = ["ParallelCollectionRDD", "FileRDD", "text_file", "PipelinedRDD", "UnionRDD",
           "PartitionerAwareUnionRDD", "CoalescedRDD", "ShuffledRDD", "CartesianRDD",
           "CoPartitionedJoinRDD", "ZippedRDD",
           "union_of", "slice_collection"]


def slice_collection(data, num_slices):
    """PySpark's slicing: batches of ``min(len // n, 1024)`` records, cut into n slices."""
    size = len(data)
    batch = max(1, min(size // num_slices, 1024))
    batches = (size + batch - 1) // batch
    slices = []
    for i in range(num_slices):
        start = (i * batches) // num_slices * batch
        end = min(((i + 1) * batches) // num_slices * batch, size)
        slices.append(data[start:end])
    return slices


class ParallelCollectionRDD(RDD):
    """A driver-side list, cut into slices; each task receives its slice."""

    _has_payload = True

    def __init__(self, ctx, slices):
        super().__init__(ctx)
        #: records per slice, until first serialized
        self._slices = slices
        #: serialized slice per split (made once, reused by every job)
        self._encoded = None

    def getNumPartitions(self):
        return len(self._slices) if self._encoded is None else len(self._encoded)

    def _make_node(self, node_of):
        return pipeline.ParallelNode(self._id, self._level())

    def _task_payloads(self, split, out=None):
        out = {} if out is None else out
        if self._encoded is None:
            self._encoded = [dumps_records(s) if s else b"" for s in self._slices]
            self._slices = None
        out[(self._id, split)] = self._encoded[split]
        return out


class EmptyRDD(ParallelCollectionRDD):
    """No partitions, no elements."""

    def __init__(self, ctx):
        super().__init__(ctx, [])


class FileRDD(RDD):
    """Records of files: ``plan(paths)`` cuts them into splits (lazily, on the
    driver, when partitions are first needed) and ``read(split)`` yields a
    split's records in a worker."""

    def __init__(self, ctx, spec, plan, read, kind="FileRDD"):
        super().__init__(ctx)
        self._path = spec
        self._plan = plan
        self._read = read
        self._kind_name = kind
        self._splits = None

    def _get_splits(self):
        if self._splits is None:
            self._splits = self._plan(textio.expand_paths(self._path))
        return self._splits

    def getNumPartitions(self):
        return len(self._get_splits())

    def _make_node(self, node_of):
        return pipeline.SplitNode(self._id, self._level(), self._get_splits(), self._read)

    def __repr__(self):
        return f"{self._path} {self._kind_name}[{self._id}] at {self._site[0]} at {self._site[1]}"


def text_file(ctx, spec, min_partitions, use_unicode):
    return FileRDD(ctx, spec, partial(textio.compute_splits, min_partitions=min_partitions),
                   partial(textio.read_lines, use_unicode=use_unicode), "TextFileRDD")


class PipelinedRDD(RDD):
    """``f(split, iterator)`` applied to the parent's partitions: every narrow operator."""

    #: set by RDDBarrier: all tasks of this stage must run at once
    is_barrier = False
    _lazy_id = True

    def __init__(self, prev, f, preservesPartitioning=False, pair_value=NOT_CONSTANT):
        partitioner = prev.partitioner if preservesPartitioning else None
        #: the function of the fused RDDs before ``f``, when ``f`` is a
        #: ``map(lambda x: (x, pair_value))`` (see ``pipeline.PairedKeysNode``)
        self._head = None
        self._pair_value = pair_value
        if isinstance(prev, PipelinedRDD) and prev._is_pipelinable():
            # fuse with the parent, as PySpark does: one function, one RDD
            prev_func = prev.func

            def pipeline_func(split, iterator):
                return f(split, prev_func(split, iterator))

            self.func = pipeline_func
            self._head = prev_func
            self.preservesPartitioning = prev.preservesPartitioning and preservesPartitioning
            self._prev = prev._prev
            self.is_barrier = prev.is_barrier
        else:
            self.func = f
            self.preservesPartitioning = preservesPartitioning
            self._prev = prev
        super().__init__(prev.ctx, partitioner)

    def _is_pipelinable(self):
        return not (self.is_cached or self.is_checkpointed)

    def _kind(self):
        return "PythonRDD"

    @property
    def prev(self):
        return self._prev

    def getNumPartitions(self):
        return self._prev.getNumPartitions()

    def _narrow_parents(self):
        return [self._prev]

    def _parent_splits(self, split):
        return [(self._prev, split)]

    def _make_node(self, node_of):
        if self._pair_value is not NOT_CONSTANT:
            return pipeline.PairedKeysNode(self._id, self._level(), node_of(self._prev), self.func,
                                           self._head, self._pair_value)
        return pipeline.MapNode(self._id, self._level(), node_of(self._prev), self.func)


class UnionRDD(RDD):
    """The partitions of several RDDs, one after the other."""

    def __init__(self, ctx, rdds):
        super().__init__(ctx)
        self._rdds = list(rdds)

    def getNumPartitions(self):
        return sum(r.getNumPartitions() for r in self._rdds)

    def _narrow_parents(self):
        return list(self._rdds)

    def _parent_splits(self, split):
        for rdd in self._rdds:
            n = rdd.getNumPartitions()
            if split < n:
                return [(rdd, split)]
            split -= n
        raise IndexError("union partition out of range")

    def _make_node(self, node_of):
        return pipeline.UnionNode(self._id, self._level(),
                                  [(node_of(r), r.getNumPartitions()) for r in self._rdds])


class PartitionerAwareUnionRDD(RDD):
    """Union of RDDs partitioned alike: partition i is every parent's partition i."""

    def __init__(self, ctx, rdds):
        super().__init__(ctx, rdds[0].partitioner)
        self._rdds = list(rdds)

    def getNumPartitions(self):
        return self._rdds[0].getNumPartitions()

    def _narrow_parents(self):
        return list(self._rdds)

    def _parent_splits(self, split):
        return [(r, split) for r in self._rdds]

    def _make_node(self, node_of):
        return pipeline.ZipUnionNode(self._id, self._level(), [node_of(r) for r in self._rdds])


def union_of(ctx, rdds):
    partitioner = rdds[0].partitioner
    if partitioner is not None and all(r.partitioner == partitioner for r in rdds):
        return PartitionerAwareUnionRDD(ctx, rdds)
    return UnionRDD(ctx, rdds)


class CoalescedRDD(RDD):
    """Fewer partitions, each reading a contiguous group of parent partitions."""

    def __init__(self, prev, num_partitions):
        super().__init__(prev.ctx)
        self._prev = prev
        n = prev.getNumPartitions()
        out = max(1, min(num_partitions, n)) if n else 0
        self._groups = [list(range(i * n // out, (i + 1) * n // out)) for i in range(out)]

    def getNumPartitions(self):
        return len(self._groups)

    def _narrow_parents(self):
        return [self._prev]

    def _parent_splits(self, split):
        return [(self._prev, s) for s in self._groups[split]]

    def _make_node(self, node_of):
        return pipeline.CoalesceNode(self._id, self._level(), node_of(self._prev), self._groups)


class ShuffledRDD(RDD):
    """The reduce side of a shuffle: the first RDD of a new stage."""

    def __init__(self, prev, num_partitions, partition_func, aggregator):
        super().__init__(prev.ctx, Partitioner(num_partitions, partition_func))
        self._parent = prev
        shuffle_id = self.ctx._new_shuffle_id()
        fast = None if partition_func is portable_hash else partition_func
        self._shuffle_dep = ShuffleDependency(shuffle_id, num_partitions, fast, aggregator,
                                              prev.getNumPartitions())
        # map outputs are deleted from the workers once no RDD can read them
        weakref.finalize(self, self.ctx._scheduler.released_shuffles.append, shuffle_id)

    def getNumPartitions(self):
        return self._shuffle_dep.num_partitions

    def _make_node(self, node_of):
        dep = self._shuffle_dep
        return pipeline.ShuffledNode(self._id, self._level(), dep.shuffle_id,
                                     dep.num_partitions, dep.aggregator)


class CartesianRDD(RDD):
    """Every pair of elements: partition (i, j) pairs partition i of one with j of the other."""

    def __init__(self, left, right):
        super().__init__(left.ctx)
        self._left = left
        self._right = right

    def getNumPartitions(self):
        return self._left.getNumPartitions() * self._right.getNumPartitions()

    def _narrow_parents(self):
        return [self._left, self._right]

    def _parent_splits(self, split):
        n = self._right.getNumPartitions()
        return [(self._left, split // n), (self._right, split % n)]

    def _make_node(self, node_of):
        return pipeline.CartesianNode(self._id, self._level(), node_of(self._left),
                                      node_of(self._right), self._right.getNumPartitions())


class _SideBySideRDD(RDD):
    """Partition i is made from partition i of two parents with as many partitions."""

    def __init__(self, left, right, partitioner=None):
        super().__init__(left.ctx, partitioner)
        self._left = left
        self._right = right

    def getNumPartitions(self):
        return self._left.getNumPartitions()

    def _narrow_parents(self):
        return [self._left, self._right]

    def _parent_splits(self, split):
        return [(self._left, split), (self._right, split)]


class CoPartitionedJoinRDD(_SideBySideRDD):
    """A join of two RDDs partitioned alike: partition i joins their partitions i."""

    def __init__(self, left, right, keep_left, keep_right):
        super().__init__(left, right, left.partitioner)
        self._keep = (keep_left, keep_right)

    def _make_node(self, node_of):
        return pipeline.HashJoinNode(self._id, self._level(), node_of(self._left),
                                     node_of(self._right), *self._keep)


class ZippedRDD(_SideBySideRDD):
    """Partition i pairs up the elements of partition i of two RDDs."""

    def _make_node(self, node_of):
        return pipeline.ZipNode(self._id, self._level(), node_of(self._left), node_of(self._right))

"""Worker-side computation of one partition: the pipelined lineage of a stage.

The driver turns the RDDs of a stage into a small tree of ``Node`` objects
(no SparkContext, no RDD objects, only user functions and plain data) and
ships it once per worker.  A task then names a partition, and
``node.iterator(split, runtime)`` streams its records: narrow
transformations are chained Python iterators (``map``/``filter`` builtins
and generators), so no intermediate list is built unless a partition is
persisted.  A ``ShuffledNode`` is a stage's leaf on the reduce side: it
reads map outputs through the runtime.

``runtime`` is the worker's per-task service object (see ``worker.py``):
``payload(rdd_id)``, ``read_shuffle(...)``, ``get_or_compute(node, split)``.
"""
from itertools import chain, zip_longest

from fastrdd.worker.join import hash_join
from fastrdd.serializers import iter_frames
from fastrdd.shuffle.reader import aggregate_reduce_side

__all__ = ["Node", "ParallelNode", "SplitNode", "MapNode", "PairedKeysNode", "UnionNode",
           "ZipUnionNode", "CoalesceNode", "ShuffledNode", "CartesianNode", "HashJoinNode", "ZipNode"]


class Node:
    """One RDD of a stage, as its worker sees it."""

    __slots__ = ("rdd_id", "persist")

    def __init__(self, rdd_id, persist):
        self.rdd_id = rdd_id
        #: (use disk, use memory, copies) to keep computed partitions, or None
        self.persist = persist

    def iterator(self, split, runtime):
        if self.persist:
            return runtime.get_or_compute(self, split)
        return self.compute(split, runtime)

    def compute(self, split, runtime):  # pragma: no cover - abstract
        raise NotImplementedError

    def map_side_keys(self, split, runtime):
        """``(keys, value)`` when this partition is ``(k, value)`` for every ``k`` of
        ``keys`` (a map-side combine may then skip building the pairs), else None."""
        return None


class ParallelNode(Node):
    """A slice of a driver-side collection, sent with each task."""

    __slots__ = ()

    def compute(self, split, runtime):
        data = runtime.payload(self.rdd_id, split)
        if not data:
            return iter(())
        runtime.input_bytes += len(data)
        # decoded a batch at a time as the records are consumed: a whole slice of
        # live records at once costs twice as much per record (allocator, caches)
        return chain.from_iterable(_counted_batches(iter_frames(data), runtime))


class SplitNode(Node):
    """Records of a file split, from the reader the RDD chose (lines, whole files...)."""

    __slots__ = ("splits", "read", "batched")

    def __init__(self, rdd_id, persist, splits, read, batched=False):
        super().__init__(rdd_id, persist)
        self.splits = splits
        self.read = read
        #: ``read`` yields lists of records: counted per list, flattened in C
        self.batched = batched

    def compute(self, split, runtime):
        piece = self.splits[split]
        runtime.input_bytes += split_bytes(piece)
        if self.batched:
            return chain.from_iterable(_counted_batches(self.read(piece), runtime))
        return _counted(self.read(piece), runtime)


def split_bytes(piece):
    """Bytes a file split covers, where the split says (a byte range), else 0."""
    end = getattr(piece, "end", None)
    return 0 if end is None else end - piece.start


def _counted_batches(batches, runtime):
    for batch in batches:
        runtime.input_records += len(batch)
        yield batch


def _counted(records, runtime):
    """The records, counted into ``runtime.input_records`` as they pass."""
    n = 0
    try:
        for n, record in enumerate(records, 1):  # noqa: B007 - n is read in finally
            yield record
    finally:
        runtime.input_records += n


class MapNode(Node):
    """``f(split, iterator)`` over the parent's partition: every narrow operator."""

    __slots__ = ("parent", "f")

    def __init__(self, rdd_id, persist, parent, f):
        super().__init__(rdd_id, persist)
        self.parent = parent
        self.f = f

    def compute(self, split, runtime):
        return self.f(split, self.parent.iterator(split, runtime))


class PairedKeysNode(MapNode):
    """A ``map(lambda x: (x, value))``, the last operator of its stage (see ``specialize``).

    It computes like any ``MapNode``; a map-side combine may instead take
    ``map_side_keys(split, runtime)``, the elements before the pairing and
    ``value``, and so skip one call and one tuple per record.
    """

    __slots__ = ("head", "value")

    def __init__(self, rdd_id, persist, parent, f, head, value):
        super().__init__(rdd_id, persist, parent, f)
        #: the fused operators before the map (``f(split, iterator)``), or None
        self.head = head
        self.value = value

    def map_side_keys(self, split, runtime):
        if self.persist:  # the pairs are kept: build them
            return None
        iterator = self.parent.iterator(split, runtime)
        return (iterator if self.head is None else self.head(split, iterator)), self.value


class UnionNode(Node):
    """Partitions of several parents, one after the other."""

    __slots__ = ("parents",)

    def __init__(self, rdd_id, persist, parents):
        super().__init__(rdd_id, persist)
        #: (node, number of partitions) per parent
        self.parents = parents

    def compute(self, split, runtime):
        for node, count in self.parents:
            if split < count:
                return node.iterator(split, runtime)
            split -= count
        raise IndexError(f"union has no partition {split}")


class ZipUnionNode(Node):
    """Union of co-partitioned parents: partition i chains every parent's partition i."""

    __slots__ = ("parents",)

    def __init__(self, rdd_id, persist, parents):
        super().__init__(rdd_id, persist)
        self.parents = parents

    def compute(self, split, runtime):
        return chain.from_iterable(p.iterator(split, runtime) for p in self.parents)


class CoalesceNode(Node):
    """Groups of parent partitions read one after the other (no shuffle)."""

    __slots__ = ("parent", "groups")

    def __init__(self, rdd_id, persist, parent, groups):
        super().__init__(rdd_id, persist)
        self.parent = parent
        self.groups = groups

    def compute(self, split, runtime):
        parent = self.parent
        return chain.from_iterable(parent.iterator(s, runtime) for s in self.groups[split])


class ShuffledNode(Node):
    """The reduce side of a shuffle: read every map output, then merge."""

    __slots__ = ("shuffle_id", "num_partitions", "aggregator", "maps")

    def __init__(self, rdd_id, persist, shuffle_id, num_partitions, aggregator, maps=None):
        super().__init__(rdd_id, persist)
        self.shuffle_id = shuffle_id
        self.num_partitions = num_partitions
        self.aggregator = aggregator
        #: (first, end) of the map outputs to read, or None for all (a join's side)
        self.maps = maps

    def compute(self, split, runtime):
        records = runtime.read_shuffle(self.shuffle_id, split, self.num_partitions, self.maps)
        return aggregate_reduce_side(records, self.aggregator)


class CartesianNode(Node):
    """Pairs of partition ``split // n`` of the left and ``split % n`` of the right."""

    __slots__ = ("left", "right", "right_partitions")

    def __init__(self, rdd_id, persist, left, right, right_partitions):
        super().__init__(rdd_id, persist)
        self.left = left
        self.right = right
        self.right_partitions = right_partitions

    def compute(self, split, runtime):
        i, j = divmod(split, self.right_partitions)
        others = list(self.right.iterator(j, runtime))
        return ((x, y) for x in self.left.iterator(i, runtime) for y in others)


class HashJoinNode(Node):
    """Partition i of a join of two parents partitioned alike (see ``worker.join``)."""

    __slots__ = ("left", "right", "keep_left", "keep_right")

    def __init__(self, rdd_id, persist, left, right, keep_left, keep_right):
        super().__init__(rdd_id, persist)
        self.left = left
        self.right = right
        self.keep_left = keep_left
        self.keep_right = keep_right

    def compute(self, split, runtime):
        right = self.right.iterator(split, runtime)
        return hash_join(_Deferred(self.left, split, runtime), right, self.keep_left, self.keep_right)


class _Deferred:
    """A parent's partition, opened only when first iterated (after the other side is built)."""

    __slots__ = ("node", "split", "runtime")

    def __init__(self, node, split, runtime):
        self.node = node
        self.split = split
        self.runtime = runtime

    def __iter__(self):
        return iter(self.node.iterator(self.split, self.runtime))


class ZipNode(Node):
    """The i-th elements of two partitions, side by side; lengths must agree."""

    __slots__ = ("left", "right")

    def __init__(self, rdd_id, persist, left, right):
        super().__init__(rdd_id, persist)
        self.left = left
        self.right = right

    def compute(self, split, runtime):
        done = object()
        pairs = zip_longest(self.left.iterator(split, runtime), self.right.iterator(split, runtime),
                            fillvalue=done)
        for x, y in pairs:
            if x is done or y is done:
                raise ValueError("Can only zip RDDs with same number of elements in each partition")
            yield x, y

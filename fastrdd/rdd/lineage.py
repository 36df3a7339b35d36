"""Lineage plans: how each partition of an RDD is made from its parents.

An ``RDD`` (``rdd.py``) is the API; its ``_plan`` is one of the classes
below and says what kind of RDD it is: its partitions, the parents each
partition reads without a shuffle, the shuffle it reads (``Shuffled``
only: the one kind that starts a new stage) and the worker-side ``Node``
it becomes (``worker.pipeline``).  Plans know their parents as RDDs but
never import the API, so the API can build them without an import cycle;
a checkpoint replaces an RDD's plan with ``Checkpointed``, keeping the
RDD object (its id, caching and partitioner) as it was.
"""
from fastrdd.io import text as textio
from fastrdd.serializers import dumps_records
from fastrdd.specialize import NOT_CONSTANT
from fastrdd.worker import pipeline

__all__ = ["Plan", "ParallelCollection", "Files", "Pipelined", "Union", "PartitionerAwareUnion",
           "Coalesced", "Shuffled", "Cartesian", "CoPartitionedJoin", "OneShuffleJoin", "Zipped",
           "Checkpointed",
           "slice_collection", "walk"]


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


def walk(rdd):
    """Every RDD of ``rdd``'s lineage, across shuffles, each once."""
    seen, order, stack = set(), [], [rdd]
    while stack:
        r = stack.pop()
        if r._id in seen:
            continue
        seen.add(r._id)
        order.append(r)
        stack.extend(r._narrow_parents())
        if r._shuffle_dep is not None:
            stack.append(r._parent)
    return order


class Plan:
    """The structure of one RDD.  Subclasses supply ``num_partitions`` and ``make_node``."""

    #: the kind's name, as toDebugString and repr() show it
    kind = "RDD"
    #: the ShuffleDependency this RDD reads (Shuffled only)
    shuffle_dep = None
    #: tasks of this RDD carry data from the driver (parallelize)
    has_payload = False
    #: shown before the kind in repr() (a file RDD's path)
    label = ""

    def num_partitions(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def narrow_parents(self):
        return []

    def parent_splits(self, split):
        """[(parent RDD, parent split)] that partition ``split`` reads without a shuffle."""
        return []

    def make_node(self, rdd_id, level, node_of):  # pragma: no cover - abstract
        raise NotImplementedError

    def task_payloads(self, rdd_id, split, out):
        """Add to ``out`` the {(rdd id, split): bytes} of driver data task ``split`` needs."""
        for parent, parent_split in self.parent_splits(split):
            parent._task_payloads(parent_split, out)
        return out


#: bytes of a serialized slice above which it is stored once on the driver (tasks carry
#: a reference): a large message per task would hold up the launch of the next one
PAYLOAD_INLINE = 512 * 1024


class ParallelCollection(Plan):
    """A driver-side list, cut into slices; each task receives its slice."""

    has_payload = True

    def __init__(self, slices, kind="ParallelCollectionRDD", store=None):
        self.kind = kind
        #: ``store(plan, split, bytes)`` keeps a big slice in the driver's payload area
        #: and returns what a task carries instead (a PayloadRef), or None
        self.store = store
        #: records per slice; a slice is dropped once serialized
        self.slices = slices
        #: serialized slice per split, made when its first task is launched (so the
        #: first workers start while later slices are still being serialized) and
        #: reused by every job
        self.encoded = [None] * len(slices)

    def num_partitions(self):
        return len(self.encoded)

    def make_node(self, rdd_id, level, node_of):
        return pipeline.ParallelNode(rdd_id, level)

    def task_payloads(self, rdd_id, split, out):
        data = self.encoded[split]
        if data is None:
            records = self.slices[split]
            data = dumps_records(records) if records else b""
            if self.store is not None and len(data) > PAYLOAD_INLINE:
                data = self.store(self, split, data)  # read by the worker, not sent
            self.encoded[split] = data
            self.slices[split] = None
        out[(rdd_id, split)] = data
        return out


class Files(Plan):
    """Records of files: ``plan(paths)`` cuts them into splits (lazily, on the driver,
    when partitions are first needed) and ``read(split)`` yields a split's records in a
    worker."""

    def __init__(self, spec, plan, read, kind="FileRDD", fs_options=None, batched=False):
        self.label = f"{spec} "
        self.spec = spec
        #: {protocol: fsspec options} for URLs in ``spec`` (io/filesystems.py)
        self.fs_options = fs_options
        self.plan = plan
        self.read = read
        #: ``read`` yields lists of records (counted a list at a time)
        self.batched = batched
        self.kind = kind
        self.splits = None

    def get_splits(self):
        if self.splits is None:
            self.splits = self.plan(textio.expand_paths(self.spec, self.fs_options))
        return self.splits

    def num_partitions(self):
        return len(self.get_splits())

    def make_node(self, rdd_id, level, node_of):
        return pipeline.SplitNode(rdd_id, level, self.get_splits(), self.read, self.batched)


class Pipelined(Plan):
    """``f(split, iterator)`` applied to the parent's partitions: every narrow operator."""

    kind = "PythonRDD"

    def __init__(self, prev, func, head=None, pair_value=NOT_CONSTANT):
        self.prev = prev
        self.func = func
        #: the function of the fused RDDs before ``func``, when ``func`` is a
        #: ``map(lambda x: (x, pair_value))`` (see ``pipeline.PairedKeysNode``)
        self.head = head
        self.pair_value = pair_value

    def num_partitions(self):
        return self.prev.getNumPartitions()

    def narrow_parents(self):
        return [self.prev]

    def parent_splits(self, split):
        return [(self.prev, split)]

    def make_node(self, rdd_id, level, node_of):
        if self.pair_value is not NOT_CONSTANT:
            return pipeline.PairedKeysNode(rdd_id, level, node_of(self.prev), self.func,
                                           self.head, self.pair_value)
        return pipeline.MapNode(rdd_id, level, node_of(self.prev), self.func)


class Union(Plan):
    """The partitions of several RDDs, one after the other."""

    kind = "UnionRDD"

    def __init__(self, rdds):
        self.rdds = list(rdds)

    def num_partitions(self):
        return sum(r.getNumPartitions() for r in self.rdds)

    def narrow_parents(self):
        return list(self.rdds)

    def parent_splits(self, split):
        for rdd in self.rdds:
            n = rdd.getNumPartitions()
            if split < n:
                return [(rdd, split)]
            split -= n
        raise IndexError("union partition out of range")

    def make_node(self, rdd_id, level, node_of):
        return pipeline.UnionNode(rdd_id, level, [(node_of(r), r.getNumPartitions())
                                                  for r in self.rdds])


class PartitionerAwareUnion(Union):
    """Union of RDDs partitioned alike: partition i is every parent's partition i."""

    kind = "PartitionerAwareUnionRDD"

    def num_partitions(self):
        return self.rdds[0].getNumPartitions()

    def parent_splits(self, split):
        return [(r, split) for r in self.rdds]

    def make_node(self, rdd_id, level, node_of):
        return pipeline.ZipUnionNode(rdd_id, level, [node_of(r) for r in self.rdds])


class Coalesced(Plan):
    """Fewer partitions, each reading a contiguous group of parent partitions."""

    kind = "CoalescedRDD"

    def __init__(self, prev, num_partitions):
        self.prev = prev
        n = prev.getNumPartitions()
        out = max(1, min(num_partitions, n)) if n else 0
        self.groups = [list(range(i * n // out, (i + 1) * n // out)) for i in range(out)]

    def num_partitions(self):
        return len(self.groups)

    def narrow_parents(self):
        return [self.prev]

    def parent_splits(self, split):
        return [(self.prev, s) for s in self.groups[split]]

    def make_node(self, rdd_id, level, node_of):
        return pipeline.CoalesceNode(rdd_id, level, node_of(self.prev), self.groups)


class Shuffled(Plan):
    """The reduce side of a shuffle: the first RDD of a new stage."""

    kind = "ShuffledRDD"

    def __init__(self, parent, dependency):
        #: the RDD whose records are shuffled (the map side)
        self.parent = parent
        self.shuffle_dep = dependency

    def num_partitions(self):
        return self.shuffle_dep.num_partitions

    def make_node(self, rdd_id, level, node_of):
        dep = self.shuffle_dep
        return pipeline.ShuffledNode(rdd_id, level, dep.shuffle_id, dep.num_partitions,
                                     dep.aggregator)


class Cartesian(Plan):
    """Every pair of elements: partition (i, j) pairs partition i of one with j of the other."""

    kind = "CartesianRDD"

    def __init__(self, left, right):
        self.left = left
        self.right = right

    def num_partitions(self):
        return self.left.getNumPartitions() * self.right.getNumPartitions()

    def narrow_parents(self):
        return [self.left, self.right]

    def parent_splits(self, split):
        n = self.right.getNumPartitions()
        return [(self.left, split // n), (self.right, split % n)]

    def make_node(self, rdd_id, level, node_of):
        return pipeline.CartesianNode(rdd_id, level, node_of(self.left), node_of(self.right),
                                      self.right.getNumPartitions())


class _SideBySide(Plan):
    """Partition i is made from partition i of two parents with as many partitions."""

    def __init__(self, left, right):
        self.left = left
        self.right = right

    def num_partitions(self):
        return self.left.getNumPartitions()

    def narrow_parents(self):
        return [self.left, self.right]

    def parent_splits(self, split):
        return [(self.left, split), (self.right, split)]


class CoPartitionedJoin(_SideBySide):
    """A join of two RDDs partitioned alike: partition i joins their partitions i."""

    kind = "CoPartitionedJoinRDD"

    def __init__(self, left, right, keep_left, keep_right):
        super().__init__(left, right)
        self.keep = (keep_left, keep_right)

    def make_node(self, rdd_id, level, node_of):
        return pipeline.HashJoinNode(rdd_id, level, node_of(self.left), node_of(self.right),
                                     *self.keep)


class OneShuffleJoin(Plan):
    """A join whose two sides moved through one shuffle of their union: in each
    reduce partition the map outputs ``[0, left_maps)`` hold the left side and
    the others the right, so no record is tagged (PySpark's join also moves both
    sides in one stage, a tagged union)."""

    kind = "CoPartitionedJoinRDD"

    def __init__(self, shuffled, left_maps, keep_left, keep_right):
        self.shuffled = shuffled
        self.left_maps = left_maps
        self.keep = (keep_left, keep_right)

    def num_partitions(self):
        return self.shuffled.getNumPartitions()

    def narrow_parents(self):
        return [self.shuffled]

    def parent_splits(self, split):
        return [(self.shuffled, split)]

    def make_node(self, rdd_id, level, node_of):
        node_of(self.shuffled)  # a member of the stage: its map outputs are located
        dep = self.shuffled._shuffle_dep
        sides = [pipeline.ShuffledNode(None, None, dep.shuffle_id, dep.num_partitions, None, maps)
                 for maps in ((0, self.left_maps), (self.left_maps, dep.num_maps))]
        return pipeline.HashJoinNode(rdd_id, level, sides[0], sides[1], *self.keep)


class Zipped(_SideBySide):
    """Partition i pairs up the elements of partition i of two RDDs."""

    kind = "ZippedRDD"

    def make_node(self, rdd_id, level, node_of):
        return pipeline.ZipNode(rdd_id, level, node_of(self.left), node_of(self.right))


class Checkpointed(Plan):
    """Partitions read back from checkpoint files: no parents."""

    kind = "CheckpointedRDD"

    def __init__(self, files, read):
        self.files = files
        self.read = read

    def num_partitions(self):
        return len(self.files)

    def make_node(self, rdd_id, level, node_of):
        return pipeline.SplitNode(rdd_id, level, self.files, self.read)

"""Shuffle dependencies and aggregators: what crosses a stage boundary.

A ``ShuffleDependency`` is shipped to workers inside the map stage (it says
how to place and pre-combine records) and named by the reduce side (which
reads its outputs).  An ``Aggregator`` holds the three functions of
combineByKey; ``GROUP`` is the built-in aggregator of groupByKey.
"""

__all__ = ["Aggregator", "ShuffleDependency", "GROUP"]


class Aggregator:
    """createCombiner / mergeValue / mergeCombiners of a key-based reduce.

    ``map_side_combine`` is False where pre-combining buys nothing.
    """

    __slots__ = ("create_combiner", "merge_value", "merge_combiners", "map_side_combine", "kind")

    def __init__(self, create_combiner, merge_value, merge_combiners, map_side_combine=True, kind="combine"):
        self.create_combiner = create_combiner
        self.merge_value = merge_value
        self.merge_combiners = merge_combiners
        self.map_side_combine = map_side_combine
        #: "combine" (user functions) or "group" (lists of values, done in C).
        self.kind = kind

    def __reduce__(self):
        return (Aggregator, (self.create_combiner, self.merge_value, self.merge_combiners,
                             self.map_side_combine, self.kind))


def _no_call(*args):  # pragma: no cover - GROUP's functions are never called
    raise AssertionError("the group aggregator is run by group_pairs, not called")


#: groupByKey: values gathered into lists after the shuffle.  No map-side
#: combine (as in Spark): it saves little for grouping, and it would ship a
#: hot key's values as one huge record, which no reducer could read in
#: bounded memory.
GROUP = Aggregator(_no_call, _no_call, _no_call, map_side_combine=False, kind="group")


class ShuffleDependency:
    """The map side of a shuffle: ``num_partitions`` buckets by ``partition_func``.

    ``partition_func`` is None for ``portable_hash`` (the compiled fast path).
    """

    __slots__ = ("shuffle_id", "num_partitions", "partition_func", "aggregator", "num_maps")

    def __init__(self, shuffle_id, num_partitions, partition_func, aggregator, num_maps):
        self.shuffle_id = shuffle_id
        self.num_partitions = num_partitions
        self.partition_func = partition_func
        self.aggregator = aggregator
        #: map tasks = partitions of the parent RDD
        self.num_maps = num_maps

    def __reduce__(self):
        return (ShuffleDependency, (self.shuffle_id, self.num_partitions, self.partition_func,
                                    self.aggregator, self.num_maps))

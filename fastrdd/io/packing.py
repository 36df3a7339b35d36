"""Small files packed into fewer partitions, up to a byte target.

Opening a file costs about as much as reading a few megabytes of it, so a
partition per tiny file wastes tasks.  Hadoop's ``CombineFileInputFormat``
(behind PySpark's ``wholeTextFiles``/``binaryFiles``) and Spark's file
sources pack consecutive files into one partition until it holds a byte
target, each file weighing its size plus ``spark.files.openCostInBytes``::

    target = min(maxPartitionBytes, max(openCost, ceil(sum(size + openCost) / minPartitions)))

A partition is closed as soon as it reaches the target (Hadoop's rule), so
the order of files is kept and a file larger than the target is alone.
``minPartitions`` is a floor: there are never fewer partitions than
``min(minPartitions, number of files)``; the heaviest group is halved until
there are.
"""

__all__ = ["MAX_PARTITION_BYTES", "OPEN_COST", "byte_target", "pack"]

#: spark.files.maxPartitionBytes: the most a packed partition aims to hold
MAX_PARTITION_BYTES = 128 * 1024 * 1024

#: spark.files.openCostInBytes: what opening one file is worth, in bytes read
OPEN_COST = 4 * 1024 * 1024


def byte_target(weights, min_partitions, max_bytes=MAX_PARTITION_BYTES, open_cost=OPEN_COST):
    """The weight at which a packed partition is closed (see the module docstring).

    >>> byte_target([10, 10, 10], 2, max_bytes=100, open_cost=4)
    15
    """
    parts = max(min_partitions, 1)
    return max(1, min(max_bytes, max(open_cost, -(-sum(weights) // parts))))


def pack(weights, target, min_groups=1, alone=None):
    """Groups of consecutive indices into ``weights``, each closed once it reaches ``target``.

    ``alone[i]`` true keeps item ``i`` in a group of its own (a piece of a
    large file).  At least ``min(min_groups, len(weights))`` groups.

    >>> pack([5, 5, 5, 5, 5], 10)
    [[0, 1], [2, 3], [4]]
    >>> pack([30, 1, 1], 11, min_groups=3)
    [[0], [1], [2]]
    """
    groups, current, current_weight = [], [], 0
    for i, weight in enumerate(weights):
        single = alone is not None and alone[i]
        if single and current:
            groups.append(current)
            current, current_weight = [], 0
        current.append(i)
        current_weight += weight
        if single or current_weight >= target:
            groups.append(current)
            current, current_weight = [], 0
    if current:
        groups.append(current)
    while len(groups) < min(min_groups, len(weights)):
        _halve_heaviest(groups, weights)
    return groups


def _halve_heaviest(groups, weights):
    splittable = [g for g in range(len(groups)) if len(groups[g]) > 1]
    g = max(splittable, key=lambda g: sum(weights[i] for i in groups[g]))
    group = groups[g]
    half, acc, cut = sum(weights[i] for i in group) / 2, 0, 1
    for k, i in enumerate(group[:-1], 1):
        acc += weights[i]
        cut = k
        if acc >= half:
            break
    groups[g:g + 1] = [group[:cut], group[cut:]]

"""Random sampling of partitions, deterministic for a given seed, and the sampled
range partitioning of sortByKey.

Every sampler seeds its generator from ``(seed, partition index)``, so a
partition recomputed after a worker loss draws the same sample, and the
splits of ``randomSplit`` (same seed, disjoint ranges of one uniform draw
per element) never overlap and together hold every element once.
"""
import bisect
import functools
import math
import random
import sys
from operator import itemgetter

from fastrdd.specialize import identity

__all__ = ["partition_rng", "bernoulli", "poisson", "range_sampler", "stratified",
           "fraction_for_sample_size", "split_bounds", "take_sample", "range_bounds",
           "range_partition_func", "sort_partition_func"]


def partition_rng(seed, split):
    return random.Random(hash((seed, split)))


def _poisson(rng, mean):
    """A Poisson draw (Knuth's method for small means, normal approximation for large)."""
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, int(round(rng.gauss(mean, math.sqrt(mean)))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def bernoulli(fraction, seed):
    def sample(split, iterator):
        draw = partition_rng(seed, split).random
        return (x for x in iterator if draw() < fraction)
    return sample


def poisson(fraction, seed):
    def sample(split, iterator):
        rng = partition_rng(seed, split)
        for x in iterator:
            for _ in range(_poisson(rng, fraction)):
                yield x
    return sample


def range_sampler(lower, upper, seed):
    """Keep elements whose uniform draw falls in [lower, upper): one split of randomSplit."""
    def sample(split, iterator):
        draw = partition_rng(seed, split).random
        for x in iterator:
            r = draw()
            if lower <= r < upper:
                yield x
    return sample


def stratified(with_replacement, fractions, seed):
    """Per-key fractions (sampleByKey)."""
    def sample(split, iterator):
        rng = partition_rng(seed, split)
        for key, value in iterator:
            fraction = fractions[key]
            if with_replacement:
                for _ in range(_poisson(rng, fraction)):
                    yield key, value
            elif rng.random() < fraction:
                yield key, value
    return sample


def fraction_for_sample_size(lower_bound, total, with_replacement):
    """A sampling fraction that yields at least ``lower_bound`` elements with high probability."""
    fraction = float(lower_bound) / total
    if with_replacement:
        num_std = 9 if lower_bound < 12 else 5
        return fraction + num_std * math.sqrt(fraction / total)
    delta = 0.00005
    gamma = -math.log(delta) / total
    return min(1, fraction + gamma + math.sqrt(gamma * gamma + 2 * gamma * fraction))


def split_bounds(weights):
    """randomSplit's cumulative bounds in [0, 1], one more than ``weights``.

    >>> split_bounds([1, 3])
    [0.0, 0.25, 1.0]
    """
    if not all(w >= 0 for w in weights):
        raise ValueError("Weights must be nonnegative")
    total = float(sum(weights))
    if not total > 0:
        raise ValueError("Sum of weights must be positive")
    bounds = [0.0]
    for w in weights:
        bounds.append(bounds[-1] + w / total)
    return bounds


def take_sample(rdd, with_replacement, num, seed):
    num_std = 10.0
    max_size = sys.maxsize - int(num_std * math.sqrt(sys.maxsize))
    if num < 0:
        raise ValueError("Sample size cannot be negative.")
    if num > max_size:
        raise ValueError(f"Sample size cannot be greater than {max_size}.")
    if num == 0 or rdd.getNumPartitions() == 0:
        return []
    count = rdd.count()
    if count == 0:
        return []
    rng = random.Random(seed)
    if not with_replacement and num >= count:
        samples = rdd.collect()
        rng.shuffle(samples)
        return samples
    fraction = fraction_for_sample_size(num, count, with_replacement)
    samples = rdd.sample(with_replacement, fraction, seed).collect()
    while len(samples) < num:  # rare: draw again with another seed
        seed = rng.randint(0, sys.maxsize)
        samples = rdd.sample(with_replacement, fraction, seed).collect()
    rng.shuffle(samples)
    return samples[:num]


def _key_sketch(per_partition, record_func=None):
    """(count, evenly spaced sample of keys) of one partition, in a single pass.

    Keeps every ``stride``-th key; when the sample reaches twice its target
    size, every other key is dropped and the stride doubles.  No random draw
    per record, and the sample stays spread over the whole partition.  With
    ``record_func`` the partition is its parent's, and only the records
    sampled are mapped by it (``RDD._record_chain``).
    """
    def sketch(split, iterator):
        keys, stride, n = [], 1, 0
        for kv in iterator:
            n += 1
            if n % stride == 0:
                keys.append((kv if record_func is None else record_func(kv))[0])
                if len(keys) >= 2 * per_partition:
                    keys = keys[1::2]
                    stride *= 2
        return [(n, keys)]
    return sketch


def range_bounds(rdd, num_partitions, keyfunc, samples_per_partition=100):
    """(number of records, upper bounds of the first num_partitions - 1 ranges), in one job.

    Like Spark's RangePartitioner: a sketch of every partition, then weighted
    quantiles (a key sampled from a partition of n records out of s samples
    stands for n / s records).  Through maps the sketch reads the records
    they map, and calls them only on the records it keeps.
    """
    per_partition = max(1, math.ceil(3.0 * samples_per_partition * num_partitions
                                     / max(1, rdd.getNumPartitions())))
    chain = rdd._record_chain()
    if chain is None:
        sketches = rdd.mapPartitionsWithIndex(_key_sketch(per_partition)).collect()
    else:
        # ``rdd`` maps each record of its parent to one: sample the parent's records and map
        # only those (``textFile(...).map(parse)`` parses a few hundred lines, not every line)
        parent, record_func = chain
        sketches = parent.mapPartitionsWithIndex(_key_sketch(per_partition, record_func)).collect()
    size = sum(n for n, _ in sketches)
    weighted = sorted(((keyfunc(k), n / len(keys)) for n, keys in sketches for k in keys),
                      key=lambda kw: kw[0])
    if not weighted:
        return size, []
    step = sum(w for _, w in weighted) / num_partitions
    bounds, cumulative, target = [], 0.0, step
    for key, weight in weighted:
        cumulative += weight
        if cumulative >= target and len(bounds) < num_partitions - 1:
            bounds.append(key)
            target += step
    return size, bounds


def sort_partition_func(ascending, keyfunc):
    """sortByKey's sort of one partition (spilling runs when memory is short); with the
    default ``keyfunc`` its key is a C function, no Python call per record."""
    sort_key = itemgetter(0) if keyfunc is identity else (lambda kv: keyfunc(kv[0]))

    def sort_partition(_, iterator):
        from fastrdd.storage.spill import external_sorted

        return external_sorted(iterator, key=sort_key, reverse=not ascending)

    return sort_partition


def range_partition_func(bounds, num_partitions, ascending, keyfunc):
    """The range partition of a key, from the upper ``bounds`` of the ranges
    (``range_bounds``); in C with the default ``keyfunc`` in ascending order."""
    if ascending and keyfunc is identity:
        return functools.partial(bisect.bisect_left, bounds)

    def range_partition(k):
        p = bisect.bisect_left(bounds, keyfunc(k))
        return p if ascending else num_partitions - 1 - p

    return range_partition

"""RDD.histogram: bucket boundaries (given, or evenly spaced) and counts.

PySpark's rules: None and NaN are ignored; every bucket is half-open
[lo, hi) except the last, which is closed [lo, hi]; given buckets must be
sorted, distinct, at least two, and free of None/NaN; evenly spaced
buckets are found with a bisect-free division.
"""
import bisect
import math

__all__ = ["plan_buckets", "count_partition", "merge_counts"]


def _comparable(x):
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def plan_buckets(rdd, buckets):
    """(boundaries, evenly spaced?, bucket width or None); may run a job for min/max."""
    if isinstance(buckets, int):
        if buckets < 1:
            raise ValueError("number of buckets must be >= 1")
        filtered = rdd.filter(_comparable)
        # An empty RDD raises reduce()'s own ValueError, as in PySpark.
        lo, hi = filtered.map(lambda x: (x, x)).reduce(
            lambda a, b: (min(a[0], b[0]), max(a[1], b[1])))
        if lo == hi or buckets == 1:
            return [lo, hi], None, filtered.count()
        try:
            inc = (hi - lo) / buckets
        except TypeError:
            raise TypeError("Can not generate buckets with non-number in RDD") from None
        if math.isinf(inc):
            raise ValueError("Can not generate buckets with infinite value")
        inc = int(inc)
        if inc * buckets != hi - lo:
            inc = (hi - lo) * 1.0 / buckets
        boundaries = [i * inc + lo for i in range(buckets)]
        boundaries.append(hi)  # the last boundary is exact, whatever the rounding
        return boundaries, inc, None
    if isinstance(buckets, (list, tuple)):
        if len(buckets) < 2:
            raise ValueError("buckets should have more than one value")
        if any(not _comparable(b) for b in buckets):
            raise ValueError("can not have None or NaN in buckets")
        if sorted(buckets) != list(buckets):
            raise ValueError("buckets should be sorted")
        if len(set(buckets)) != len(buckets):
            raise ValueError("buckets should not contain duplicated values")
        boundaries = list(buckets)
        try:
            steps = [b - a for a, b in zip(boundaries, boundaries[1:])]
        except TypeError:
            return boundaries, None, None  # not numbers: bisect only
        if max(steps) - min(steps) < 1e-10:
            return boundaries, (boundaries[-1] - boundaries[0]) / (len(boundaries) - 1), None
        return boundaries, None, None
    raise TypeError("buckets should be a list or tuple or number(int or long)")


def count_partition(boundaries, inc):
    lo, hi = boundaries[0], boundaries[-1]

    def count(_, iterator):
        counters = [0] * len(boundaries)
        for x in iterator:
            if not _comparable(x) or x > hi or x < lo:
                continue
            t = int((x - lo) / inc) if inc is not None else bisect.bisect_right(boundaries, x) - 1
            counters[t] += 1
        last = counters.pop()  # values equal to the top boundary go in the last bucket
        counters[-1] += last
        return counters

    return count


def merge_counts(a, b):
    return [i + j for i, j in zip(a, b)]

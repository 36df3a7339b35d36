"""Barrier execution: every task of a stage runs at once and can synchronize.

``rdd.barrier().mapPartitions(f)`` marks the stage; the scheduler refuses
it when it has more tasks than there are workers (they could never all run
together), and gives each task a ``BarrierTaskContext`` (its rendezvous is
``worker.barrier``).  A failed barrier task fails the job (its peers could
not redo the rendezvous alone).
"""

__all__ = ["RDDBarrier", "is_barrier"]


class RDDBarrier:
    """The RDD wrapper returned by ``rdd.barrier()``."""

    def __init__(self, rdd):
        self.rdd = rdd

    def mapPartitions(self, f, preservesPartitioning=False):
        """Like RDD.mapPartitions, with all tasks run together.

        >>> def f(iterator):
        ...     yield sum(iterator)
        >>> sc.parallelize([1, 2, 3, 4], 2).barrier().mapPartitions(f).collect()
        [3, 7]
        """
        return self.mapPartitionsWithIndex(lambda _, iterator: f(iterator), preservesPartitioning)

    def mapPartitionsWithIndex(self, f, preservesPartitioning=False):
        """Like RDD.mapPartitionsWithIndex, with all tasks run together.

        >>> def f(index, iterator):
        ...     yield index, sum(iterator)
        >>> sc.parallelize([1, 2, 3, 4], 2).barrier().mapPartitionsWithIndex(f).collect()
        [(0, 3), (1, 7)]
        """
        rdd = self.rdd.mapPartitionsWithIndex(f, preservesPartitioning)
        rdd.is_barrier = True
        return rdd


def is_barrier(rdd):
    """True if ``rdd`` or an RDD it reads without a shuffle came from ``barrier()``.

    That is Spark's ``RDD.isBarrier()``: the barrier mode reaches every RDD of
    the stage, up to the next shuffle.
    """
    stack, seen = [rdd], set()
    while stack:
        r = stack.pop()
        if getattr(r, "is_barrier", False):
            return True
        if id(r) not in seen:
            seen.add(id(r))
            stack.extend(r._narrow_parents())
    return False

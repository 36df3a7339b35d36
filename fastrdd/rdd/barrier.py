"""Barrier execution: every task of a stage runs at once and can synchronize.

``rdd.barrier().mapPartitions(f)`` marks the stage; the scheduler refuses
it when it has more tasks than there are workers (they could never all run
together), and gives each task a ``BarrierTaskContext``.  ``barrier()`` and
``allGather()`` meet through files in a directory of the stage: each task
writes ``<epoch>-<partition>`` and waits until all tasks have written
theirs.  A failed barrier task fails the job (its peers could not redo the
rendezvous alone).
"""
import os
import time

__all__ = ["RDDBarrier", "BarrierTaskInfo", "wait_for_peers", "task_addresses"]

#: seconds a task waits for its peers at a barrier before failing
BARRIER_TIMEOUT = 300.0


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


class BarrierTaskInfo:
    """Where a barrier task runs."""

    def __init__(self, address):
        self.address = address


def wait_for_peers(directory, epoch, partition, num_tasks, message):
    """Publish ``message`` for this epoch and return every task's, in partition order."""
    os.makedirs(directory, exist_ok=True)
    mine = os.path.join(directory, f"{epoch}-{partition}")
    with open(mine + ".tmp", "w") as f:
        f.write(message)
    os.replace(mine + ".tmp", mine)
    names = [os.path.join(directory, f"{epoch}-{p}") for p in range(num_tasks)]
    deadline = time.monotonic() + BARRIER_TIMEOUT
    pause = 0.001
    while not all(os.path.exists(n) for n in names):
        if time.monotonic() > deadline:
            raise RuntimeError(f"barrier timed out after {BARRIER_TIMEOUT:g} s waiting for "
                               f"{num_tasks} tasks (epoch {epoch})")
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
    messages = []
    for name in names:
        with open(name) as f:
            messages.append(f.read())
    return messages


def task_addresses(directory, partition, num_tasks):
    """``host:pid`` of the worker running each task of the stage (they all run at once)."""
    return wait_for_peers(directory, "address", partition, num_tasks, f"127.0.0.1:{os.getpid()}")

"""The rendezvous of a barrier stage's tasks, through the driver's barrier area.

Each task of epoch ``e`` publishes ``<stage>-<e>-<partition>`` with its
message, then waits until every task of the stage has published theirs,
and reads them all in partition order.  The area is the driver's
``barrier`` directory, reached through the worker's block fetcher
(``storage.blocks``): read and written in place on the driver's machine,
over the block server from other hosts.
"""
import time

__all__ = ["BarrierTaskInfo", "wait_for_peers", "task_addresses"]

#: seconds a task waits for its peers at a barrier before failing
BARRIER_TIMEOUT = 300.0


class BarrierTaskInfo:
    """Where a barrier task runs."""

    def __init__(self, address):
        self.address = address


def wait_for_peers(fetcher, stage_id, epoch, partition, num_tasks, message):
    """Publish ``message`` for this epoch and return every task's, in partition order."""
    fetcher.driver_put("barrier", f"{stage_id}-{epoch}-{partition}", message.encode())
    messages = [None] * num_tasks
    deadline = time.monotonic() + BARRIER_TIMEOUT
    pause = 0.001
    while True:
        for p in range(num_tasks):
            if messages[p] is None:
                messages[p] = fetcher.driver_get("barrier", f"{stage_id}-{epoch}-{p}")
        if all(m is not None for m in messages):
            return [bytes(m).decode() for m in messages]
        if time.monotonic() > deadline:
            raise RuntimeError(f"barrier timed out after {BARRIER_TIMEOUT:g} s waiting for "
                               f"{num_tasks} tasks (epoch {epoch})")
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def task_addresses(fetcher, stage_id, partition, num_tasks, address):
    """``host:pid`` of the worker running each task of the stage (they all run at once)."""
    return wait_for_peers(fetcher, stage_id, "address", partition, num_tasks, address)

"""The in-process backend: tasks run in the driver's own thread, one at a time.

Master URL ``inprocess`` (one executor) or ``inprocess[N]``.  Each
executor is a ``worker.runtime.Worker`` object in the driver; ``send``
hands it the message at once, so a task runs inside the driver's call to
``send``, on the driver's thread: ``breakpoint()`` or ``pdb`` in a user
function stops there, in the terminal the program runs in.  Messages still
go through ``protocol.dumps``/``loads``, so what cannot be shipped to a
real worker fails here too.  A KeyboardInterrupt raised in a task propagates
as it is, a Ctrl-C on the driver's thread being indistinguishable from it;
a task's ``sys.exit()`` fails the job as it does in a worker process.

It is also the scheduler's test double: ``lose(executor_id)`` makes an
executor vanish as a crashed process would (reported by the next
``poll``), and ``deliver(executor_id, message)`` injects a message as if
a worker had sent it.  Barrier stages of more than one task cannot run
here (their tasks must run at the same time): the scheduler refuses them
as it refuses any barrier stage larger than the number of executors.
"""
import os
import shutil

from fastrdd import protocol
from fastrdd.scheduler.backend import (ExecutorAdded, ExecutorInfo, ExecutorLost, MessageReceived,
                                       SchedulerBackend)
from fastrdd.storage.blocks import LocalBlockFetcher
from fastrdd.worker.runtime import Worker

__all__ = ["InProcessBackend"]


class InProcessBackend(SchedulerBackend):
    """``num_executors`` Worker objects in the driver process."""

    runs_tasks_at_once = False

    def __init__(self, num_executors, app_dir, worker_options=None):
        super().__init__()
        self.num_executors = num_executors
        self.app_dir = app_dir
        #: keyword arguments for each Worker (budget, spill settings...)
        self.worker_options = worker_options or {}
        #: executor id -> Worker
        self._workers = {}
        #: events for the next poll, in order
        self._events = []
        self._next_id = 0

    def start(self):
        for _ in range(self.num_executors):
            self._add()

    def _add(self):
        eid = self._next_id
        self._next_id += 1
        directory = os.path.join(self.app_dir, f"inprocess-worker-{eid}")
        os.makedirs(directory, exist_ok=True)

        def reply(message, eid=eid):
            self._events.append(MessageReceived(eid, protocol.loads(protocol.dumps(message))))

        self._workers[eid] = Worker(reply, directory, eid, LocalBlockFetcher(self.app_dir),
                                    **self.worker_options)
        self._workers[eid].on_driver_thread = True
        for message in self.sticky:
            self.send(eid, message)
        return eid

    def _info(self, eid):
        return ExecutorInfo(eid, "localhost", os.getpid(), 1, self._workers[eid].directory)

    def executors(self):
        return {eid: self._info(eid) for eid in self._workers}

    def send(self, executor_id, message):
        worker = self._workers.get(executor_id)
        if worker is None:
            return False
        worker.handle(protocol.loads(protocol.dumps(message)))
        return True

    def poll(self, timeout):
        events, self._events = self._events, []
        return events

    def deliver(self, executor_id, message):
        """Inject ``message`` as if executor ``executor_id`` had sent it (tests)."""
        self._events.append(MessageReceived(executor_id, message))

    def lose(self, executor_id, reason="it was lost (test)", by_task=False):
        """Make an executor vanish; the next poll reports it lost and its replacement added.

        ``by_task``: as a crashed local worker process is reported (its task ended it).
        """
        self._drop(executor_id)
        self._events.append(ExecutorLost(executor_id, reason, by_task))
        self._events.append(ExecutorAdded(self._info(self._add())))

    def remove_executor(self, executor_id, reason):
        if executor_id in self._workers:
            self._drop(executor_id)
            self._events.append(ExecutorAdded(self._info(self._add())))

    def _drop(self, executor_id):
        worker = self._workers.pop(executor_id, None)
        if worker is not None:
            shutil.rmtree(worker.directory, ignore_errors=True)

    def stop(self):
        for eid in list(self._workers):
            self._drop(eid)
        shutil.rmtree(self.app_dir, ignore_errors=True)

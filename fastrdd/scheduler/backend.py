"""The backend contract: what the scheduler needs from a transport.

The DAG scheduler decides what runs where; a backend carries its messages
(``fastrdd.protocol``) to executors and reports what comes back::

    DAGScheduler --send(eid, msg) / broadcast(msg)-->  backend  --> executors
                 <--poll(): MessageReceived, ExecutorAdded, ExecutorLost--

Two transports implement it: ``local.backend.LocalBackend`` (worker
processes on this machine, linked by pipes) and ``local.inprocess``'s
``InProcessBackend`` (tasks run in the driver's own threads, for debugging
with pdb).  The cluster transport implements the same calls, so the
scheduler never knows which one it drives.  ``fastrdd.masters`` picks one
by the master URL; nothing else names a transport.

What a remote transport can honour decides the semantics: the driver may
ask an executor to go (``remove_executor``), but it cannot always start one.
A transport that owns its processes (local) starts a replacement on its own
and reports it as ``ExecutorAdded``; a cluster transport reports the
executors a cluster manager (re)starts.  Scheduler state about executors
(the task each runs, the stage blobs each holds) lives in the scheduler,
never here.
"""
import abc
from typing import NamedTuple, Optional

__all__ = ["SchedulerBackend", "ExecutorInfo", "MessageReceived", "ExecutorAdded",
           "ExecutorLost"]


class ExecutorInfo(NamedTuple):
    """One executor as the backend reports it."""

    #: unique for the backend's lifetime (a replacement gets a new id)
    executor_id: int
    host: str
    pid: int
    #: task slots it offers
    cores: int
    #: where its shuffle outputs and blocks are read from: a directory for
    #: local workers, a network address for remote ones
    block_address: str


class MessageReceived(NamedTuple):
    """An executor sent a protocol message."""

    executor_id: int
    message: object


class ExecutorAdded(NamedTuple):
    """A new executor can take tasks (at start, or replacing a lost one)."""

    info: ExecutorInfo


class ExecutorLost(NamedTuple):
    """An executor is gone: its running tasks, blocks and map outputs with it."""

    executor_id: int
    #: why, in words for an error message ("it was killed by SIGKILL")
    reason: str
    #: it ended on its own, so the task it ran most likely ended it (a local
    #: process that exited or hung): that task counts a failure
    #: (``spark.task.maxFailures``) instead of a loss to re-run for free.  A
    #: remote worker can be lost from outside (a node, the network): False
    by_task: bool = False


class SchedulerBackend(abc.ABC):
    """The calls a transport supplies to the DAG scheduler."""

    #: its executors run tasks at the same time (a barrier stage needs all its tasks at once)
    runs_tasks_at_once = True

    def __init__(self):
        #: messages every executor added later receives first (``broadcast(sticky=True)``)
        self.sticky = []

    @abc.abstractmethod
    def start(self):
        """Start or connect the executors; return once they can take tasks.

        Executors present at start are reported by ``executors()`` (not as
        ``ExecutorAdded`` events); later ones by events.
        """

    @abc.abstractmethod
    def executors(self):
        """{executor id: ExecutorInfo} of the live executors."""

    @abc.abstractmethod
    def send(self, executor_id, message):
        """Send one protocol message; False if the executor is gone.

        A False is always followed by an ``ExecutorLost`` event from ``poll``.
        """

    def broadcast(self, message, sticky=False):
        """Send ``message`` to every live executor.

        ``sticky`` messages (an added import path...) are also sent, in
        order, to every executor added later, before anything else.
        """
        if sticky:
            self.sticky.append(message)
        for executor_id in list(self.executors()):
            self.send(executor_id, message)

    @abc.abstractmethod
    def poll(self, timeout):
        """Wait up to ``timeout`` seconds for events; return a list of them.

        Events are ``MessageReceived``, ``ExecutorAdded`` and ``ExecutorLost``.
        An executor silent for longer than the transport's heartbeat timeout
        is reported lost: a job never waits forever on a hung executor.
        """

    @abc.abstractmethod
    def remove_executor(self, executor_id, reason):
        """Make an executor go now (its tasks are abandoned, e.g. on cancel).

        No ``ExecutorLost`` event follows for it: the caller already knows.
        """

    @abc.abstractmethod
    def stop(self):
        """Stop every executor this backend started and release its resources."""

    def default_parallelism(self) -> Optional[int]:
        """Task slots over all executors (``sc.defaultParallelism``)."""
        return sum(info.cores for info in self.executors().values()) or None

"""The scheduler's event stream: what happened to jobs, stages, tasks, blocks and workers.

::

    DAGScheduler --post(event)--> EventBus --> JobRegistry (statusTracker())
                                           --> (progress bar, web UI, event log...)

The scheduler posts every event on its own thread, in the order things
happened; listeners are called synchronously and must be quick (record and
return).  A listener that raises is reported once on stderr and removed,
so a broken reader can never fail a job.  Readers of job progress read
this stream, never the scheduler's internals.

Every event carries ``time``, seconds since the epoch (``time.time()``).
"""
import sys
import threading
import time
from typing import NamedTuple, Optional

from fastrdd.protocol import TaskMetrics

__all__ = ["EventBus", "ApplicationStart", "ApplicationEnd", "JobStart", "JobEnd",
           "StageSubmitted", "StageCompleted", "TaskStart", "TaskEnd", "TaskMetrics",
           "BlockUpdated", "RDDUnpersisted", "WorkerAdded", "WorkerLost", "ALL", "now"]

now = time.time


class ApplicationStart(NamedTuple):
    """Posted by the context once its scheduler is up."""

    app_id: str
    app_name: str
    master: str
    user: str
    version: str
    #: every setting of the context's SparkConf, name -> value
    settings: dict
    time: float


class ApplicationEnd(NamedTuple):
    time: float


class JobStart(NamedTuple):
    job_id: int
    #: "<action> at <file:line>" of the user's call
    name: str
    #: the job's local properties (job group, description, tags), or {}
    properties: dict
    #: the lineage to run, as ``scheduler.lineage.describe_job`` draws it:
    #: {"rdds": [...], "stages": [...]} (plain data, for the UI's picture)
    graph: dict
    #: [stage id, shuffle id, tasks] of the job's map stages already done (Spark's
    #: skipped stages: never submitted, counted in the job's stage ids)
    skipped_stages: list
    time: float


class JobEnd(NamedTuple):
    job_id: int
    #: "SUCCEEDED" or "FAILED"
    status: str
    #: why it failed, in words, or None
    error: Optional[str]
    time: float


class StageSubmitted(NamedTuple):
    stage_id: int
    job_id: int
    #: "map" (writes a shuffle) or "result" (runs the action)
    kind: str
    #: "<operation> at <file:line>" of the stage's last RDD
    name: str
    rdd_id: int
    #: the shuffle a map stage writes (its key in ``JobStart.graph``), None for a result stage
    shuffle_id: Optional[int]
    num_tasks: int
    time: float


class StageCompleted(NamedTuple):
    stage_id: int
    #: why the attempt ended early (failure, cancellation, lost map output), or None
    failure: Optional[str]
    time: float


class TaskStart(NamedTuple):
    stage_id: int
    task_id: int
    split: int
    attempt: int
    executor_id: int
    time: float


class TaskEnd(NamedTuple):
    stage_id: int
    task_id: int
    split: int
    attempt: int
    executor_id: int
    #: "SUCCESS", "FAILED" (user error), "FETCH_FAILED", "CORRUPT" or "LOST" (worker gone)
    status: str
    #: seconds from launch to the report
    duration: float
    #: records and bytes read and written, spills (all zero unless SUCCESS)
    metrics: TaskMetrics
    #: why it failed: the exception's last line, or None
    error: Optional[str]
    time: float


class BlockUpdated(NamedTuple):
    executor_id: int
    rdd_id: int
    split: int
    #: True: now cached there; False: evicted or dropped
    cached: bool
    #: bytes it takes in the worker's memory and on its disk (0 when dropped or not known)
    memory_size: int
    disk_size: int
    time: float


class RDDUnpersisted(NamedTuple):
    """Every block of the RDD is dropped (``unpersist()``)."""

    rdd_id: int
    time: float


class WorkerAdded(NamedTuple):
    executor_id: int
    host: str
    pid: int
    cores: int
    time: float


class WorkerLost(NamedTuple):
    executor_id: int
    reason: str
    time: float


#: every event type, by name (the event log's "Event" field)
ALL = {cls.__name__: cls for cls in (
    ApplicationStart, ApplicationEnd, JobStart, JobEnd, StageSubmitted, StageCompleted,
    TaskStart, TaskEnd, BlockUpdated, RDDUnpersisted, WorkerAdded, WorkerLost)}


class EventBus:
    """Delivers each posted event to every listener, in order."""

    def __init__(self):
        self._listeners = []
        self._lock = threading.Lock()

    def add_listener(self, listener):
        """``listener(event)`` is called for every later event."""
        with self._lock:
            self._listeners = self._listeners + [listener]

    def remove_listener(self, listener):
        with self._lock:
            self._listeners = [x for x in self._listeners if x is not listener]

    def post(self, event):
        for listener in self._listeners:
            try:
                listener(event)
            except Exception as e:  # a reader's bug must never fail a job
                self.remove_listener(listener)
                print(f"fastrdd: event listener {listener!r} raised {e!r} on "
                      f"{type(event).__name__}; it was removed", file=sys.stderr)

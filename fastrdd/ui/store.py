"""What the web UI shows, kept from the event stream: jobs, stages, tasks, storage, workers.

::

    EventBus --AppStore(listener)--> rows under one lock --snapshot()--> pages.py, api.py
    event log --replay()-----------/

``AppStore`` is a bus listener like the event log and the progress bar: a
live application and a replayed event log fill it the same way, so the
web UI never reads the scheduler.  Listeners run on the scheduler's thread,
so each event is a few dict updates; the server thread reads under the
same lock and copies what it renders.

Kept per application: ``jobs`` (with each job's lineage graph), ``stages``
(one row per stage attempt, with per-task rows, at most
``spark.ui.retainedTasks`` per stage), ``rdds`` (what each cached RDD holds
on which worker), ``executors`` (live and lost workers with their task
totals), and the settings from ``ApplicationStart``.  The oldest finished
jobs and stages past ``spark.ui.retainedJobs`` / ``retainedStages`` are
forgotten, as Spark's UI does.
"""
import threading
from operator import add

from fastrdd.protocol import NO_METRICS, TaskMetrics
from fastrdd.scheduler import events

__all__ = ["AppStore", "JobRow", "StageRow", "TaskRow", "ExecutorRow", "RDDRow"]

METRIC_FIELDS = TaskMetrics._fields


class JobRow:
    def __init__(self, event):
        props = event.properties or {}
        self.job_id = event.job_id
        self.name = event.name
        self.group = props.get("spark.jobGroup.id")
        self.description = props.get("spark.job.description")
        self.graph = event.graph or {}
        self.submitted = event.time
        self.completed = None
        #: RUNNING, SUCCEEDED or FAILED
        self.status = "RUNNING"
        self.error = None
        self.stage_ids = []
        #: shuffle id -> stage id of the map stages skipped (their output was there)
        self.skipped = {}
        #: the tasks those stages would have run
        self.skipped_tasks = 0


class StageRow:
    def __init__(self, event):
        self.stage_id = event.stage_id
        self.job_id = event.job_id
        self.kind = event.kind
        self.name = event.name
        self.rdd_id = event.rdd_id
        self.shuffle_id = event.shuffle_id
        self.num_tasks = event.num_tasks
        self.submitted = event.time
        self.completed = None
        #: ACTIVE, COMPLETE, FAILED or SKIPPED (a map stage whose output was there)
        self.status = "ACTIVE"
        self.failure = None
        self.active = self.succeeded = self.failed = 0
        self.task_time = 0.0
        #: sums of the successful tasks' metrics, in TaskMetrics order
        self.metrics = [0] * len(METRIC_FIELDS)
        #: task id -> TaskRow
        self.tasks = {}


class TaskRow:
    __slots__ = ("task_id", "split", "attempt", "executor_id", "launched", "duration", "status",
                 "metrics", "error")

    def __init__(self, event):
        self.task_id = event.task_id
        self.split = event.split
        self.attempt = event.attempt
        self.executor_id = event.executor_id
        self.launched = event.time
        self.duration = None
        #: RUNNING, then TaskEnd's status
        self.status = "RUNNING"
        self.metrics = NO_METRICS
        self.error = None


class ExecutorRow:
    def __init__(self, event):
        self.executor_id = event.executor_id
        self.host = event.host
        self.pid = event.pid
        self.cores = event.cores
        self.added = event.time
        self.removed = None
        self.reason = None
        self.active = self.completed = self.failed = 0
        self.task_time = 0.0
        self.metrics = [0] * len(METRIC_FIELDS)
        #: (rdd id, split) -> (bytes in memory, bytes on disk) of the blocks it holds
        self.blocks = {}


class RDDRow:
    """A cached RDD: what the lineage said of it and where its blocks are."""

    def __init__(self, rdd_id, info):
        self.rdd_id = rdd_id
        self.info = info or {}
        #: (split, executor id) -> (bytes in memory, bytes on disk)
        self.blocks = {}


class AppStore:
    """The UI's rows, kept up to date by ``__call__(event)``."""

    def __init__(self, retained_jobs=1000, retained_stages=1000, retained_tasks=100000):
        self.lock = threading.Lock()
        self.retained_jobs = retained_jobs
        self.retained_stages = retained_stages
        self.retained_tasks = retained_tasks
        self.app = {}
        self.ended = None
        self.jobs = {}
        self.stages = {}
        self.executors = {}
        self.rdds = {}
        #: rdd id -> what the newest job graph said of it (name, kind, partitions, level)
        self.rdd_info = {}
        self._handlers = {
            events.ApplicationStart: self._app_start, events.ApplicationEnd: self._app_end,
            events.JobStart: self._job_start, events.JobEnd: self._job_end,
            events.StageSubmitted: self._stage_submitted,
            events.StageCompleted: self._stage_completed,
            events.TaskStart: self._task_start, events.TaskEnd: self._task_end,
            events.BlockUpdated: self._block_updated, events.RDDUnpersisted: self._unpersisted,
            events.WorkerAdded: self._worker_added, events.WorkerLost: self._worker_lost,
        }

    def __call__(self, event):
        handler = self._handlers.get(type(event))
        if handler is not None:
            with self.lock:
                handler(event)

    # -- application -----------------------------------------------------------
    def _app_start(self, e):
        self.app = e._asdict()

    def _app_end(self, e):
        self.ended = e.time

    # -- jobs and stages -------------------------------------------------------
    def _job_start(self, e):
        self.jobs[e.job_id] = job = JobRow(e)
        for stage_id, shuffle_id, tasks in e.skipped_stages or ():
            job.skipped[shuffle_id] = stage_id
            job.skipped_tasks += tasks
            stage = self.stages[stage_id] = StageRow(events.StageSubmitted(
                stage_id, e.job_id, "map", f"shuffle {shuffle_id} (output already there)", None,
                shuffle_id, tasks, e.time))
            stage.status, stage.completed = "SKIPPED", e.time
        for rdd_id, info in (e.graph or {}).get("rdds", {}).items():
            self.rdd_info[int(rdd_id)] = info
            row = self.rdds.get(int(rdd_id))
            if row is not None:
                row.info = info
        if len(self.jobs) > self.retained_jobs:
            for job_id in [j for j, row in self.jobs.items() if row.status != "RUNNING"][
                    :len(self.jobs) - self.retained_jobs]:
                del self.jobs[job_id]

    def _job_end(self, e):
        job = self.jobs.get(e.job_id)
        if job is not None:
            job.status, job.error, job.completed = e.status, e.error, e.time

    def _stage_submitted(self, e):
        self.stages[e.stage_id] = StageRow(e)
        job = self.jobs.get(e.job_id)
        if job is not None:
            job.stage_ids.append(e.stage_id)
        if len(self.stages) > self.retained_stages:
            for stage_id in [s for s, row in self.stages.items() if row.status != "ACTIVE"][
                    :len(self.stages) - self.retained_stages]:
                del self.stages[stage_id]

    def _stage_completed(self, e):
        stage = self.stages.get(e.stage_id)
        if stage is not None:
            stage.completed = e.time
            stage.failure = e.failure
            stage.status = "FAILED" if e.failure else "COMPLETE"
            stage.active = 0

    def _task_start(self, e):
        stage = self.stages.get(e.stage_id)
        if stage is not None:
            stage.active += 1
            if len(stage.tasks) < self.retained_tasks:
                stage.tasks[e.task_id] = TaskRow(e)
        executor = self.executors.get(e.executor_id)
        if executor is not None:
            executor.active += 1

    def _task_end(self, e):
        ok = e.status == "SUCCESS"
        metrics = e.metrics if isinstance(e.metrics, TaskMetrics) else TaskMetrics(*e.metrics)
        stage = self.stages.get(e.stage_id)
        if stage is not None:
            stage.active = max(0, stage.active - 1)
            stage.task_time += e.duration
            if ok:
                stage.succeeded += 1
                stage.metrics = list(map(add, stage.metrics, metrics))
            else:
                stage.failed += 1
            task = stage.tasks.get(e.task_id)
            if task is not None:
                task.duration, task.status, task.metrics, task.error = (
                    e.duration, e.status, metrics, e.error)
        executor = self.executors.get(e.executor_id)
        if executor is not None:
            executor.active = max(0, executor.active - 1)
            executor.task_time += e.duration
            if ok:
                executor.completed += 1
                executor.metrics = list(map(add, executor.metrics, metrics))
            else:
                executor.failed += 1

    # -- storage ------------------------------------------------------------------
    def _block_updated(self, e):
        row = self.rdds.get(e.rdd_id)
        executor = self.executors.get(e.executor_id)
        if e.cached:
            if row is None:
                row = self.rdds[e.rdd_id] = RDDRow(e.rdd_id, self.rdd_info.get(e.rdd_id))
            row.blocks[(e.split, e.executor_id)] = (e.memory_size, e.disk_size)
            if executor is not None:
                executor.blocks[(e.rdd_id, e.split)] = (e.memory_size, e.disk_size)
            return
        if row is not None:
            row.blocks.pop((e.split, e.executor_id), None)
            if not row.blocks:
                del self.rdds[e.rdd_id]
        if executor is not None:
            executor.blocks.pop((e.rdd_id, e.split), None)

    def _unpersisted(self, e):
        self.rdds.pop(e.rdd_id, None)
        for executor in self.executors.values():
            for key in [k for k in executor.blocks if k[0] == e.rdd_id]:
                del executor.blocks[key]

    # -- workers ------------------------------------------------------------------
    def _worker_added(self, e):
        self.executors[e.executor_id] = ExecutorRow(e)

    def _worker_lost(self, e):
        executor = self.executors.get(e.executor_id)
        if executor is None:
            return
        executor.removed, executor.reason, executor.active = e.time, e.reason, 0
        for rdd_id, split in executor.blocks:
            row = self.rdds.get(rdd_id)
            if row is not None:
                row.blocks.pop((split, e.executor_id), None)
                if not row.blocks:
                    del self.rdds[rdd_id]
        executor.blocks.clear()


def replay(logged, store=None):
    """An ``AppStore`` filled from events read back from a log (``eventlog.read_events``)."""
    store = AppStore() if store is None else store
    for event in logged:
        store(event)
    return store

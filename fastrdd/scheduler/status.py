"""What the status tracker reports: jobs, stages and workers, as read from the event bus.

``JobRegistry`` is the first listener of ``scheduler.events``: it keeps a
``JobRecord`` per job (from ``JobStart``, before the job waits for its
turn), a ``StageRecord`` per stage attempt with its task counters, and the
live workers.  ``StatusTracker`` reports them with PySpark's
``SparkJobInfo``/``SparkStageInfo``.  Nothing here reads the scheduler's
own state: a job's progress is what its events said.
"""
import threading
from collections import namedtuple

from fastrdd.scheduler import events

__all__ = ["SparkJobInfo", "SparkStageInfo", "SparkExecutorInfo", "StatusTracker", "JobRecord",
           "StageRecord", "JobRegistry"]

SparkJobInfo = namedtuple("SparkJobInfo", "jobId stageIds status")
SparkStageInfo = namedtuple("SparkStageInfo", "stageId currentAttemptId name numTasks "
                                              "numActiveTasks numCompletedTasks numFailedTasks")

SparkExecutorInfo = namedtuple("SparkExecutorInfo", "executorId host pid")

#: how many finished jobs the tracker remembers (the oldest are forgotten)
RETAINED_JOBS = 1000


class JobRecord:
    """One action's job: its group, stages and status."""

    def __init__(self, job_id, properties):
        props = properties or {}
        self.job_id = job_id
        self.group = props.get("spark.jobGroup.id")
        self.description = props.get("spark.job.description")
        self.stage_ids = []
        #: RUNNING (also while queued), SUCCEEDED, FAILED
        self.status = "RUNNING"

    def info(self):
        return SparkJobInfo(self.job_id, list(self.stage_ids), self.status)


class StageRecord:
    """One stage attempt's task counters."""

    def __init__(self, stage_id, name, num_tasks):
        self.stage_id = stage_id
        self.name = name
        self.num_tasks = num_tasks
        self.active = 0
        self.completed = 0
        self.failed = 0
        self.done = False
        #: bytes of memory freed and written to disk by spills, over the stage's tasks
        self.memory_bytes_spilled = 0
        self.disk_bytes_spilled = 0

    def info(self):
        return SparkStageInfo(self.stage_id, 0, self.name, self.num_tasks, self.active,
                              self.completed, self.failed)


class JobRegistry:
    """The records, written by the event bus (``__call__``), read by the tracker."""

    def __init__(self):
        self.lock = threading.Lock()
        self.jobs = {}
        self.stages = {}
        #: executor id -> SparkExecutorInfo of the live workers
        self.workers = {}

    def __call__(self, event):
        kind = type(event)
        with self.lock:
            if kind is events.TaskStart:
                stage = self.stages.get(event.stage_id)
                if stage is not None:
                    stage.active += 1
            elif kind is events.TaskEnd:
                stage = self.stages.get(event.stage_id)
                if stage is not None:
                    stage.active -= 1
                    if event.status == "SUCCESS":
                        stage.completed += 1
                        stage.memory_bytes_spilled += event.metrics.memory_bytes_spilled
                        stage.disk_bytes_spilled += event.metrics.disk_bytes_spilled
                    else:
                        stage.failed += 1
            elif kind is events.StageSubmitted:
                self.stages[event.stage_id] = StageRecord(event.stage_id, event.name,
                                                          event.num_tasks)
                job = self.jobs.get(event.job_id)
                if job is not None:
                    job.stage_ids.append(event.stage_id)
            elif kind is events.StageCompleted:
                stage = self.stages.get(event.stage_id)
                if stage is not None:
                    stage.done = True
                    stage.active = 0
            elif kind is events.JobStart:
                job = self.jobs[event.job_id] = JobRecord(event.job_id, event.properties)
                for stage_id, _, tasks in event.skipped_stages or ():
                    stage = self.stages[stage_id] = StageRecord(stage_id, "skipped", tasks)
                    stage.done = True
                    job.stage_ids.append(stage_id)
                while len(self.jobs) > RETAINED_JOBS:
                    oldest = next(iter(self.jobs))
                    for sid in self.jobs.pop(oldest).stage_ids:
                        self.stages.pop(sid, None)
            elif kind is events.JobEnd:
                job = self.jobs.get(event.job_id)
                if job is not None:
                    job.status = event.status
            elif kind is events.WorkerAdded:
                self.workers[event.executor_id] = SparkExecutorInfo(
                    str(event.executor_id), event.host, event.pid)
            elif kind is events.WorkerLost:
                self.workers.pop(event.executor_id, None)


class StatusTracker:
    """Monitoring of jobs and stages, as in PySpark.

    >>> tracker = sc.statusTracker()
    >>> sc.setJobGroup("tracked", "a group to look up")
    >>> sc.parallelize(range(4), 2).count()
    4
    >>> for key in ("spark.jobGroup.id", "spark.job.description", "spark.job.interruptOnCancel"):
    ...     sc.setLocalProperty(key, None)
    >>> job = tracker.getJobIdsForGroup("tracked")[-1]
    >>> tracker.getJobInfo(job).status
    'SUCCEEDED'
    >>> stage = tracker.getJobInfo(job).stageIds[0]
    >>> tracker.getStageInfo(stage).numCompletedTasks
    2
    """

    def __init__(self, registry):
        self._registry = registry

    def getJobIdsForGroup(self, jobGroup=None):
        """The ids of the known jobs of a job group (jobs without a group for None).

        >>> tracker = sc.statusTracker()
        >>> sc.setLocalProperty("spark.jobGroup.id", "doctest_ids_for_group")
        >>> sc.parallelize(range(4), 2).count()
        4
        >>> sc.setLocalProperty("spark.jobGroup.id", None)
        >>> len(tracker.getJobIdsForGroup("doctest_ids_for_group"))
        1
        >>> tracker.getJobIdsForGroup("no_such_group")
        []
        """
        with self._registry.lock:
            return [j.job_id for j in self._registry.jobs.values() if j.group == jobGroup]

    def getActiveStageIds(self):
        """The ids of the stages still running, sorted.

        >>> tracker = sc.statusTracker()
        >>> sc.setLocalProperty("spark.jobGroup.id", "doctest_active_stages")
        >>> sc.parallelize(range(4), 2).count()
        4
        >>> sc.setLocalProperty("spark.jobGroup.id", None)
        >>> job = tracker.getJobIdsForGroup("doctest_active_stages")[-1]
        >>> stage = tracker.getJobInfo(job).stageIds[0]
        >>> stage in tracker.getActiveStageIds()
        False
        """
        with self._registry.lock:
            return sorted(s.stage_id for s in self._registry.stages.values() if not s.done)

    def getActiveJobsIds(self):
        """The ids of the jobs running (or queued), sorted.

        >>> tracker = sc.statusTracker()
        >>> sc.setLocalProperty("spark.jobGroup.id", "doctest_active_jobs")
        >>> sc.parallelize(range(4), 2).count()
        4
        >>> sc.setLocalProperty("spark.jobGroup.id", None)
        >>> job = tracker.getJobIdsForGroup("doctest_active_jobs")[-1]
        >>> job in tracker.getActiveJobsIds()
        False
        """
        with self._registry.lock:
            return sorted(j.job_id for j in self._registry.jobs.values() if j.status == "RUNNING")

    def getJobInfo(self, jobId):
        """A SparkJobInfo (jobId, stageIds, status) for a job, or None if unknown.

        >>> tracker = sc.statusTracker()
        >>> sc.setLocalProperty("spark.jobGroup.id", "doctest_job_info")
        >>> sc.parallelize(range(4), 2).count()
        4
        >>> sc.setLocalProperty("spark.jobGroup.id", None)
        >>> job = tracker.getJobIdsForGroup("doctest_job_info")[-1]
        >>> info = tracker.getJobInfo(job)
        >>> info.jobId == job, info.status, len(info.stageIds)
        (True, 'SUCCEEDED', 1)
        >>> tracker.getJobInfo(-1) is None
        True
        """
        with self._registry.lock:
            job = self._registry.jobs.get(jobId)
            return job.info() if job else None

    def getStageSpillMetrics(self, stageId):
        """{"memoryBytesSpilled", "diskBytesSpilled"} of a stage (fastrdd's own addition).

        >>> tracker = sc.statusTracker()
        >>> sc.setLocalProperty("spark.jobGroup.id", "doctest_spill_metrics")
        >>> sc.parallelize(range(4), 2).count()
        4
        >>> sc.setLocalProperty("spark.jobGroup.id", None)
        >>> job = tracker.getJobIdsForGroup("doctest_spill_metrics")[-1]
        >>> stage = tracker.getJobInfo(job).stageIds[0]
        >>> tracker.getStageSpillMetrics(stage)
        {'memoryBytesSpilled': 0, 'diskBytesSpilled': 0}
        >>> tracker.getStageSpillMetrics(-1) is None
        True
        """
        with self._registry.lock:
            stage = self._registry.stages.get(stageId)
            if stage is None:
                return None
            return {"memoryBytesSpilled": stage.memory_bytes_spilled,
                    "diskBytesSpilled": stage.disk_bytes_spilled}

    def getExecutorInfos(self):
        """One entry per worker process: (executorId, host, pid).

        >>> infos = sc.statusTracker().getExecutorInfos()
        >>> [info.host for info in infos]
        ['localhost', 'localhost']
        >>> all(isinstance(info.pid, int) for info in infos)
        True
        """
        with self._registry.lock:
            return list(self._registry.workers.values())

    def getStageInfo(self, stageId):
        """A SparkStageInfo for a stage attempt, or None if unknown.

        >>> tracker = sc.statusTracker()
        >>> sc.setLocalProperty("spark.jobGroup.id", "doctest_stage_info")
        >>> sc.parallelize(range(4), 2).count()
        4
        >>> sc.setLocalProperty("spark.jobGroup.id", None)
        >>> job = tracker.getJobIdsForGroup("doctest_stage_info")[-1]
        >>> info = tracker.getStageInfo(tracker.getJobInfo(job).stageIds[0])
        >>> info.numTasks, info.numActiveTasks, info.numCompletedTasks, info.numFailedTasks
        (2, 0, 2, 0)
        >>> tracker.getStageInfo(-1) is None
        True
        """
        with self._registry.lock:
            stage = self._registry.stages.get(stageId)
            return stage.info() if stage else None

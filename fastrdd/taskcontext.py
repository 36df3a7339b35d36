"""TaskContext: what a running task knows about itself, as in PySpark.

``TaskContext.get()`` returns the context of the task running in this
worker process, and None on the driver.
"""

__all__ = ["TaskContext", "BarrierTaskContext"]


class TaskContext:
    """Information about the running task (partition, stage, attempt)."""

    _current = None

    def __init__(self, stage_id, partition_id, attempt_number, task_attempt_id, properties=None):
        self._stage_id = stage_id
        self._partition_id = partition_id
        self._attempt_number = attempt_number
        self._task_attempt_id = task_attempt_id
        self._properties = properties or {}
        self._resources = {}

    @classmethod
    def get(cls):
        """The running task's context, or None outside a task."""
        return cls._current

    @classmethod
    def _set(cls, tc):
        cls._current = tc

    def stageId(self):
        return self._stage_id

    def partitionId(self):
        return self._partition_id

    def attemptNumber(self):
        """How many times this task was tried before (0 on the first attempt)."""
        return self._attempt_number

    def taskAttemptId(self):
        """An id unique to this task attempt within the application."""
        return self._task_attempt_id

    def getLocalProperty(self, key):
        return self._properties.get(key)

    def resources(self):
        return dict(self._resources)

    def cpus(self):
        """Cores allocated to the task: a worker process runs one task at a time."""
        return 1

    def cpuAmount(self):
        return 1.0

    @classmethod
    def from_json(cls, json):
        """A TaskContext from the JSON-like dict PySpark's worker builds."""
        return cls(json.get("stageId", 0), json.get("partitionId", 0),
                   json.get("attemptNumber", 0), json.get("taskAttemptId", 0),
                   json.get("localProperties"))


class BarrierTaskContext(TaskContext):
    """The context of a task in a barrier stage: ``barrier()`` and ``allGather()``."""

    def __init__(self, stage_id, partition_id, attempt_number, task_attempt_id, properties,
                 num_tasks, directory):
        super().__init__(stage_id, partition_id, attempt_number, task_attempt_id, properties)
        self._num_tasks = num_tasks
        self._directory = directory
        self._epoch = 0

    @classmethod
    def get(cls):
        """The running barrier task's context (None outside a barrier task)."""
        current = TaskContext._current
        return current if isinstance(current, BarrierTaskContext) else None

    def _meet(self, message):
        from .barrier import wait_for_peers

        self._epoch += 1
        return wait_for_peers(self._directory, self._epoch, self._partition_id, self._num_tasks,
                              message)

    def barrier(self):
        """Wait until every task of the stage reaches this call."""
        self._meet("")

    def allGather(self, message=""):
        """Wait for every task and return all their messages, in partition order."""
        if not isinstance(message, str):
            raise TypeError(f"allGather takes a str message, got {type(message).__name__}")
        return self._meet(message)

    def getTaskInfos(self):
        """One BarrierTaskInfo per task of the stage, in partition order."""
        from .barrier import BarrierTaskInfo, task_addresses

        return [BarrierTaskInfo(a) for a in task_addresses(self._directory, self._partition_id,
                                                           self._num_tasks)]

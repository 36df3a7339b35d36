"""TaskContext: what a running task knows about itself, as in PySpark.

``TaskContext.get()`` returns the context of the task running in this
worker process, and None on the driver.
"""

__all__ = ["TaskContext"]


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
        return 1

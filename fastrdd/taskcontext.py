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
        """The running task's context, or None outside a task.

        >>> TaskContext.get() is None
        True
        >>> def f(iterator):
        ...     yield TaskContext.get() is not None
        >>> sc.parallelize([1, 2], 2).mapPartitions(f).collect()
        [True, True]
        """
        return cls._current

    @classmethod
    def _set(cls, tc):
        cls._current = tc

    def stageId(self):
        """The id of the stage this task belongs to.

        >>> def f(iterator):
        ...     yield isinstance(TaskContext.get().stageId(), int)
        >>> sc.parallelize([1], 1).mapPartitions(f).collect()
        [True]
        """
        return self._stage_id

    def partitionId(self):
        """The index of the partition this task computes.

        >>> def f(iterator):
        ...     yield TaskContext.get().partitionId()
        >>> sc.parallelize(range(6), 3).mapPartitions(f).collect()
        [0, 1, 2]
        """
        return self._partition_id

    def attemptNumber(self):
        """How many times this task was tried before (0 on the first attempt).

        >>> def f(iterator):
        ...     yield TaskContext.get().attemptNumber()
        >>> sc.parallelize([1, 2], 2).mapPartitions(f).collect()
        [0, 0]
        """
        return self._attempt_number

    def taskAttemptId(self):
        """An id unique to this task attempt within the application.

        >>> def f(iterator):
        ...     yield TaskContext.get().taskAttemptId()
        >>> ids = sc.parallelize([1, 2], 2).mapPartitions(f).collect()
        >>> len(set(ids))
        2
        """
        return self._task_attempt_id

    def getLocalProperty(self, key):
        """A local property set in the driver thread that submitted the job, or None.

        >>> sc.setLocalProperty("my.key", "my-value")
        >>> def f(iterator):
        ...     yield TaskContext.get().getLocalProperty("my.key")
        >>> sc.parallelize([1], 1).mapPartitions(f).collect()
        ['my-value']
        >>> sc.setLocalProperty("my.key", None)
        """
        return self._properties.get(key)

    def resources(self):
        """The resources (name -> ResourceInformation) allocated to the task.

        >>> def f(iterator):
        ...     yield TaskContext.get().resources()
        >>> sc.parallelize([1], 1).mapPartitions(f).collect()
        [{}]
        """
        return dict(self._resources)

    def cpus(self):
        """Cores allocated to the task: a worker process runs one task at a time.

        >>> def f(iterator):
        ...     yield TaskContext.get().cpus()
        >>> sc.parallelize([1], 1).mapPartitions(f).collect()
        [1]
        """
        return 1

    def cpuAmount(self):
        """Cores allocated to the task, as a float.

        >>> def f(iterator):
        ...     yield TaskContext.get().cpuAmount()
        >>> sc.parallelize([1], 1).mapPartitions(f).collect()
        [1.0]
        """
        return 1.0

    @classmethod
    def from_json(cls, json):
        """A TaskContext from the JSON-like dict PySpark's worker builds.

        >>> tc = TaskContext.from_json({"stageId": 1, "partitionId": 2, "attemptNumber": 0,
        ...                             "taskAttemptId": 7, "localProperties": {"k": "v"}})
        >>> tc.stageId(), tc.partitionId(), tc.attemptNumber(), tc.taskAttemptId()
        (1, 2, 0, 7)
        >>> tc.getLocalProperty("k")
        'v'
        """
        return cls(json.get("stageId", 0), json.get("partitionId", 0),
                   json.get("attemptNumber", 0), json.get("taskAttemptId", 0),
                   json.get("localProperties"))


class BarrierTaskContext(TaskContext):
    """The context of a task in a barrier stage: ``barrier()`` and ``allGather()``."""

    def __init__(self, stage_id, partition_id, attempt_number, task_attempt_id, properties,
                 num_tasks, fetcher, address):
        super().__init__(stage_id, partition_id, attempt_number, task_attempt_id, properties)
        self._num_tasks = num_tasks
        #: the worker's block fetcher: the rendezvous goes through the driver's barrier area
        self._fetcher = fetcher
        #: ``host:pid`` of this task's worker, for getTaskInfos()
        self._address = address
        self._epoch = 0

    @classmethod
    def get(cls):
        """The running barrier task's context (None outside a barrier task).

        >>> BarrierTaskContext.get() is None
        True
        >>> def f(iterator):
        ...     yield BarrierTaskContext.get().partitionId()
        >>> sc.parallelize(range(4), 2).barrier().mapPartitions(f).collect()
        [0, 1]
        """
        current = TaskContext._current
        return current if isinstance(current, BarrierTaskContext) else None

    def _meet(self, message):
        from fastrdd.worker.barrier import wait_for_peers

        self._epoch += 1
        return wait_for_peers(self._fetcher, self._stage_id, self._epoch, self._partition_id,
                              self._num_tasks, message)

    def barrier(self):
        """Wait until every task of the stage reaches this call.

        >>> def f(iterator):
        ...     BarrierTaskContext.get().barrier()
        ...     yield sum(iterator)
        >>> sc.parallelize(range(4), 2).barrier().mapPartitions(f).collect()
        [1, 5]
        """
        self._meet("")

    def allGather(self, message=""):
        """Wait for every task and return all their messages, in partition order.

        >>> def f(iterator):
        ...     context = BarrierTaskContext.get()
        ...     yield context.allGather(str(context.partitionId()))
        >>> sc.parallelize(range(4), 2).barrier().mapPartitions(f).collect()
        [['0', '1'], ['0', '1']]
        """
        if not isinstance(message, str):
            raise TypeError(f"allGather takes a str message, got {type(message).__name__}")
        return self._meet(message)

    def getTaskInfos(self):
        """One BarrierTaskInfo per task of the stage, in partition order.

        >>> def f(iterator):
        ...     infos = BarrierTaskContext.get().getTaskInfos()
        ...     yield [info.address.split(":")[0] for info in infos]
        >>> sc.parallelize(range(4), 2).barrier().mapPartitions(f).collect()
        [['127.0.0.1', '127.0.0.1'], ['127.0.0.1', '127.0.0.1']]
        """
        from fastrdd.worker.barrier import BarrierTaskInfo, task_addresses

        return [BarrierTaskInfo(a) for a in task_addresses(
            self._fetcher, self._stage_id, self._partition_id, self._num_tasks, self._address)]

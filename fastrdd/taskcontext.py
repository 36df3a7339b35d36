"""TaskContext: what a running task knows about itself, as in PySpark.

``TaskContext.get()`` returns the context of the task running in this
worker process, and None on the driver.  ``TaskContext()`` with no
arguments is the same as ``get()`` inside a task, as in PySpark (whose
``__new__`` hands out the one current context).  Outside a task PySpark
makes an empty context (every getter None) and keeps it as the current one,
so ``get()`` returns it from then on: fastrdd does the same, so code written
against either behaves alike.
"""

__all__ = ["TaskContext", "BarrierTaskContext"]

#: PySpark's message (error class NOT_IN_BARRIER_STAGE), word for word
NOT_IN_BARRIER_STAGE = "[NOT_IN_BARRIER_STAGE] It is not in a barrier stage."


class TaskContext:
    """Information about the running task (partition, stage, attempt)."""

    #: the running task's context in this process (set by the worker runtime)
    _current = None

    def __new__(cls, *args, **kwargs):
        if args or kwargs:  # the worker runtime making a task's context
            return super().__new__(cls)
        current = TaskContext._current
        if current is None:  # outside a task: PySpark's empty context, kept as current
            current = TaskContext._current = super().__new__(TaskContext)
            current._empty()
        return current

    def __init__(self, stage_id=None, partition_id=None, attempt_number=None,
                 task_attempt_id=None, properties=None):
        if stage_id is None:  # TaskContext(): __new__ returned an existing context
            return
        self._stage_id = stage_id
        self._partition_id = partition_id
        self._attempt_number = attempt_number
        self._task_attempt_id = task_attempt_id
        self._properties = properties or {}
        self._resources = {}
        self._cpus = 1

    def __reduce__(self):
        # the default reduce calls __new__ with no arguments, which would hand
        # back (and overwrite) the current context of the loading process
        state = dict(self.__dict__)
        if "_fetcher" in state:
            state["_fetcher"] = None  # a worker's link to the driver stays there
        return _rebuild, (type(self), state)

    def _empty(self):
        self._stage_id = self._partition_id = self._attempt_number = None
        self._task_attempt_id = self._resources = self._cpus = None
        self._properties = {}

    @classmethod
    def get(cls):
        """The running task's context, or None outside a task.

        >>> TaskContext.get() is None
        True
        >>> def f(iterator):
        ...     yield TaskContext.get() is TaskContext()
        >>> sc.parallelize([1, 2], 2).mapPartitions(f).collect()
        [True, True]
        """
        return TaskContext._current

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
        return None if self._resources is None else dict(self._resources)

    def cpus(self):
        """Cores allocated to the task: a worker process runs one task at a time.

        >>> def f(iterator):
        ...     yield TaskContext.get().cpus()
        >>> sc.parallelize([1], 1).mapPartitions(f).collect()
        [1]
        """
        return self._cpus

    def cpuAmount(self):
        """Cores allocated to the task, as a float.

        >>> def f(iterator):
        ...     yield TaskContext.get().cpuAmount()
        >>> sc.parallelize([1], 1).mapPartitions(f).collect()
        [1.0]
        """
        return None if self._cpus is None else float(self._cpus)

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

    def __init__(self, stage_id=None, partition_id=None, attempt_number=None,
                 task_attempt_id=None, properties=None, num_tasks=None, fetcher=None,
                 address=None):
        if stage_id is None:  # BarrierTaskContext(): __new__ returned an existing context
            return
        super().__init__(stage_id, partition_id, attempt_number, task_attempt_id, properties)
        self._num_tasks = num_tasks
        #: the worker's block fetcher: the rendezvous goes through the driver's barrier area
        self._fetcher = fetcher
        #: ``host:pid`` of this task's worker, for getTaskInfos()
        self._address = address
        self._epoch = 0

    @classmethod
    def get(cls):
        """The running barrier task's context; RuntimeError outside a barrier stage.

        PySpark raises its ``PySparkRuntimeError`` (a RuntimeError) with this
        message, on the driver and in a task of an ordinary stage alike.

        >>> BarrierTaskContext.get()
        Traceback (most recent call last):
        ...
        RuntimeError: [NOT_IN_BARRIER_STAGE] It is not in a barrier stage.
        >>> def f(iterator):
        ...     yield BarrierTaskContext.get().partitionId()
        >>> sc.parallelize(range(4), 2).barrier().mapPartitions(f).collect()
        [0, 1]
        """
        current = TaskContext._current
        if not isinstance(current, BarrierTaskContext):
            raise RuntimeError(NOT_IN_BARRIER_STAGE)
        return current

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


def _rebuild(cls, state):
    """A context unpickled (returned by a task): a copy, never the current one."""
    context = object.__new__(cls)
    context.__dict__.update(state)
    return context

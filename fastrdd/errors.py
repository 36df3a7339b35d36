"""The exceptions fastrdd raises, each a subclass of the built-in it refines.

Every class that can cross a process boundary keeps its message through
pickling (``__reduce__``), so a failure in a worker reaches the driver as
the same type with the same words.
"""
import pickle



class FastRDDError(Exception):
    """Base class of fastrdd's own errors."""


class ContextError(FastRDDError, ValueError):
    """Misuse of SparkContext: a second active context, or use after stop()."""


class ClosureError(FastRDDError, pickle.PicklingError, RuntimeError):
    """A function shipped to workers captured something that cannot go there."""


class WorkerLostError(FastRDDError, RuntimeError):
    """A worker process died (or stopped answering) too often for one task.

    Under ``local[N]`` a worker that dies while running a task was most
    likely ended by that task (``os._exit``, a segfault in a C extension, a
    signal it sent itself), so it counts as one failure of the task, as a
    crashed Python worker does in PySpark; the message names the partition,
    the stage and how the process ended.
    """


class TaskExitError(FastRDDError, RuntimeError):
    """A task's code raised SystemExit (``sys.exit()``, ``exit()``) or KeyboardInterrupt.

    Either would end or wedge the worker, and re-raised in the driver would
    end the driver program (SystemExit) or pass for a Ctrl-C there: the task
    fails instead, and the job with it, with the worker's traceback as cause
    (PySpark likewise reports them as a task's Python exception).
    """

    def __init__(self, message, exit_type="SystemExit", code=None):
        super().__init__(message)
        #: "SystemExit" or "KeyboardInterrupt"
        self.exit_type = exit_type
        #: the code given to sys.exit() (None for exit() with no argument)
        self.code = code

    def __reduce__(self):
        return (type(self), (self.args[0], self.exit_type, self.code))


class JobFailedError(FastRDDError, RuntimeError):
    """A job failed for a reason that has no user exception to re-raise."""


class JobCancelledError(FastRDDError, RuntimeError):
    """The job was cancelled (cancelJobGroup, cancelJobsWithTag, cancelAllJobs)."""


class FetchFailedError(FastRDDError, RuntimeError):
    """A reduce task could not read a map output: the map must be recomputed.

    Raised inside workers and handled by the scheduler, which recomputes
    the lost map outputs from lineage instead of failing the job.
    """

    def __init__(self, shuffle_id, map_id, reason=""):
        super().__init__(f"shuffle {shuffle_id} map output {map_id} is lost: {reason}")
        self.shuffle_id = shuffle_id
        self.map_id = map_id
        self.reason = reason

    def __reduce__(self):
        return (type(self), (self.shuffle_id, self.map_id, self.reason))


class RemoteTraceback(Exception):
    """The traceback text of an exception raised in a worker process.

    Set as ``__cause__`` of the re-raised exception, so that the user's
    file and line in the worker show up in the driver's traceback.
    """

    def __init__(self, text):
        super().__init__(text)
        self.text = text

    def __str__(self):
        return "\n\nWorker traceback (most recent call last):\n" + self.text


class TaskError(FastRDDError, RuntimeError):
    """Stands in for a worker exception that could not be pickled back."""

    def __init__(self, type_name, message):
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name
        self.message = message

    def __reduce__(self):
        return (type(self), (self.type_name, self.message))


class OutOfDiskError(FastRDDError, OSError):
    """A local directory filled up while spilling or caching."""

    def __init__(self, directory):
        import errno

        super().__init__(errno.ENOSPC, f"No space left in {directory} while spilling or caching: "
                         f"free space there, or point fastrdd.local.dir at a bigger disk "
                         f"(several comma-separated directories spread the load)", directory)
        self.directory = directory

    def __reduce__(self):
        return (type(self), (self.directory,))


class SpillCorruptedError(FastRDDError, OSError):
    """A spill or cache file was deleted or damaged underneath the engine."""

    def __init__(self, path, reason):
        super().__init__(f"{path} cannot be read back: {reason}")
        self.path = path
        self.reason = reason

    def __reduce__(self):
        return (type(self), (self.path, self.reason))

"""SparkContext: the driver's entry point, as in PySpark.

It owns the backend (worker processes, started with the context and kept
until ``stop()``) and the scheduler, creates RDDs, and runs jobs.  One
context may be active per process, as in PySpark.
"""
import atexit
import getpass
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import uuid

from fastrdd.conf import SparkConf, redact
from fastrdd.errors import ContextError

__all__ = ["SparkContext"]

#: Below this much free space /dev/shm is not used for shuffle files
#: (containers often mount a 64 MB /dev/shm); the temp directory is.
MIN_SHM_BYTES = 1 << 30


def path_uri(path):
    return path if ":" in path.split("/")[0] else "file:" + os.path.abspath(os.path.expanduser(path))


def choose_local_dirs(conf):
    """Where shuffle and spill files go: the configured directories (comma-separated),
    else /dev/shm when big enough, else the temp dir.  The first holds shuffle files;
    spills are spread over all of them."""
    configured = (conf.get("fastrdd.local.dir") or conf.get("spark.local.dir")
                  or os.environ.get("SPARK_LOCAL_DIRS"))
    if configured:
        return [d.strip() for d in configured.split(",") if d.strip()]
    shm = "/dev/shm"
    try:
        st = os.statvfs(shm)
        if st.f_bavail * st.f_frsize >= MIN_SHM_BYTES and os.access(shm, os.W_OK):
            return [shm]
    except OSError:
        pass
    return [tempfile.gettempdir()]


_APP_DIR = re.compile(r"^fastrdd-local-\d+-(\d+)-")


def sweep_stale_dirs(base):
    """Remove the directories of drivers that died without stop() (SIGKILL, power loss)."""
    try:
        names = os.listdir(base)
    except OSError:
        return
    for name in names:
        m = _APP_DIR.match(name)
        if m and not os.path.exists(f"/proc/{m.group(1)}"):
            shutil.rmtree(os.path.join(base, name), ignore_errors=True)


class SparkContext:
    """The connection to the workers; creates RDDs and runs jobs.

    >>> sc.parallelize([1, 2, 3]).count()
    3
    >>> sc.defaultParallelism >= 1
    True
    """

    _active_spark_context = None
    _lock = threading.RLock()

    def __init__(self, master=None, appName=None, sparkHome=None, pyFiles=None, environment=None,
                 batchSize=0, serializer=None, conf=None, gateway=None, jsc=None, profiler_cls=None,
                 udf_profiler_cls=None, memory_profiler_cls=None):
        self._conf = conf.copy() if conf is not None else SparkConf()
        if master:
            self._conf.setMaster(master)
        if appName:
            self._conf.setAppName(appName)
        # FASTRDD_MASTER, like Spark's MASTER: a job script need not name its cluster
        self._conf.setIfMissing("spark.master", os.environ.get("FASTRDD_MASTER", "local[*]"))
        self._conf.setIfMissing("spark.app.name", "fastrdd")
        for key, value in (environment or {}).items():
            self._conf.setExecutorEnv(key, value)
        self.master = self._conf.get("spark.master")
        self.appName = self._conf.get("spark.app.name")
        self.sparkHome = sparkHome
        self.environment = dict(environment or {})
        self.environment.setdefault("PYTHONHASHSEED", os.environ.get("PYTHONHASHSEED", "0"))
        self.pythonExec = os.environ.get("PYSPARK_PYTHON", sys.executable)
        self.pythonVer = "%d.%d" % sys.version_info[:2]
        self._batchSize = batchSize
        self._py_files = list(pyFiles or [])
        self._profiler_cls = profiler_cls
        from fastrdd.stream_serializers import (AutoBatchedSerializer, BatchedSerializer,
                                                CPickleSerializer)

        # as PySpark: kept and wrapped for batching, for code that reads it; records
        # always travel in fastrdd's own batch format (fastrdd.serializers)
        self._unbatched_serializer = CPickleSerializer() if serializer is None else serializer
        self.serializer = (AutoBatchedSerializer(self._unbatched_serializer) if batchSize == 0
                           else BatchedSerializer(self._unbatched_serializer, batchSize))
        from fastrdd.masters import parse_master

        master = parse_master(self.master)
        if self._conf.contains("spark.task.maxFailures"):
            master = master._replace(max_failures=int(self._conf.get("spark.task.maxFailures")))
        with SparkContext._lock:
            active = SparkContext._active_spark_context
            if active is not None:
                raise ValueError(
                    f"Cannot run multiple SparkContexts at once; existing SparkContext(app="
                    f"{active.appName}, master={active.master}) created at {active._created_at}. "
                    f"Call stop() on it first, or use SparkContext.getOrCreate().")
            SparkContext._active_spark_context = self
        self._stopped = False
        try:
            self._start(master)
        except BaseException:
            with SparkContext._lock:
                SparkContext._active_spark_context = None
            raise

    def _start(self, master):
        # workers first: their start-up overlaps the driver's own imports
        from fastrdd import _impl
        from fastrdd.masters import create_backend, pure_python

        _impl.select(True if pure_python(self._conf) else None)
        self.startTime = int(time.time() * 1000)
        self._app_id = f"local-{self.startTime}"
        self._next_rdd = 0
        self._next_shuffle = 0
        #: name -> URI of the source, of files and archives shipped to tasks
        self._added_files = {}
        self._added_archives = {}
        self._checkpoint_dir = None
        #: ids of RDDs marked by checkpoint()/localCheckpoint(), not yet written
        self._pending_checkpoints = set()
        self._checkpointing = False
        #: readers of the scheduler's events made from the settings (``_event_readers``)
        self._event_log = self._progress = self._ui_store = self._ui = None
        self._id_lock = threading.Lock()
        self._local_properties = threading.local()
        self._workers = master.workers
        env = {k[len("spark.executorEnv."):]: v for k, v in self._conf.getAll()
               if k.startswith("spark.executorEnv.")}
        local_dirs = choose_local_dirs(self._conf)
        base = local_dirs[0]
        for d in local_dirs:
            os.makedirs(d, exist_ok=True)
        sweep_stale_dirs(base)
        self._app_dir = tempfile.mkdtemp(prefix=f"fastrdd-{self._app_id}-{os.getpid()}-", dir=base)
        from fastrdd.files import SparkFiles

        os.makedirs(self._files_dir())
        SparkFiles._root_directory = self._files_dir()
        self._backend = None
        try:
            self._backend = create_backend(master, self._conf, self._app_dir, env,
                                           spill_roots=local_dirs[1:])
            self._backend.start()
            self._workers = self._backend.default_parallelism() or master.workers
        except BaseException:
            if self._backend is not None:
                self._backend.stop()
            shutil.rmtree(self._app_dir, ignore_errors=True)
            raise
        from fastrdd.broadcast import BroadcastManager
        from fastrdd.rdd.rdd import _call_site
        from fastrdd.scheduler.dag import DAGScheduler

        self._broadcast_manager = BroadcastManager(os.path.join(self._app_dir, "broadcast"),
                                                   self._backend)
        self._created_at = "%s (%s)" % _call_site()[::-1]
        self.profiler_collector = None
        if self._conf.get("spark.python.profile", "false").lower() == "true":
            from fastrdd.profiler import BasicProfiler, ProfilerCollector

            self.profiler_collector = ProfilerCollector(
                self._profiler_cls or BasicProfiler, self._conf.get("spark.python.profile.dump"))
        wait = float(self._conf.get("fastrdd.locality.wait", "0.2"))
        from fastrdd.scheduler import events

        bus = events.EventBus()
        for reader in self._event_readers():
            bus.add_listener(reader)
        bus.post(events.ApplicationStart(
            self._app_id, self.appName, self.master, getpass.getuser(), self.version,
            redact(self._conf.getAll()), events.now()))
        self._scheduler = DAGScheduler(self._backend, master.max_failures, locality_wait=wait,
                                       bus=bus)
        # the lineage picture is drawn only where someone looks: the UI or the event log
        self._scheduler.describe_jobs = self._ui_store is not None or self._event_log is not None
        self._scheduler.profiles = self.profiler_collector
        self._scheduler.show_engine_frames = (
            self._conf.get("fastrdd.traceback.engineFrames", "false").strip().lower() == "true")
        if self._ui_store is not None:
            from fastrdd.ui.server import start_ui

            self._ui = start_ui(self._ui_store, self._conf)
        atexit.register(self.stop)
        for path in self._py_files:
            self.addPyFile(path)

    def _event_readers(self):
        """The event log, the console progress bar and the web UI's store, as the settings ask."""
        from fastrdd.ui.progress import ConsoleProgress, wanted

        readers = []
        self._event_log = None
        if self._conf.get("spark.eventLog.enabled", "false").strip().lower() == "true":
            from fastrdd.ui.eventlog import EventLog

            directory = self._conf.get("spark.eventLog.dir", "/tmp/spark-events")
            if directory.startswith("file:"):
                directory = directory[len("file:"):]
            self._event_log = EventLog(directory, self._app_id)
            readers.append(self._event_log)
        self._ui_store = None
        if self._conf.get("spark.ui.enabled", "true").strip().lower() == "true":
            from fastrdd.ui.store import AppStore

            self._ui_store = AppStore(int(self._conf.get("spark.ui.retainedJobs", "1000")),
                                      int(self._conf.get("spark.ui.retainedStages", "1000")),
                                      int(self._conf.get("spark.ui.retainedTasks", "100000")))
            readers.append(self._ui_store)
        self._progress = ConsoleProgress() if wanted(self._conf) else None
        if self._progress is not None:
            readers.append(self._progress)
        return readers

    # -- lifecycle ------------------------------------------------------------
    @classmethod
    def getOrCreate(cls, conf=None):
        """The active SparkContext, or a new one from ``conf``.

        >>> from fastrdd import SparkContext
        >>> app_id = sc.applicationId  # the active context
        >>> SparkContext.getOrCreate().applicationId == app_id
        True
        """
        with cls._lock:
            if cls._active_spark_context is None:
                cls(conf=conf or SparkConf())
            return cls._active_spark_context

    def stop(self):
        """Stop the workers and delete every file this context made.

        >>> sc.stop()  # doctest: +SKIP
        """
        with SparkContext._lock:
            if getattr(self, "_stopped", True):
                return
            self._stopped = True
            if SparkContext._active_spark_context is self:
                SparkContext._active_spark_context = None
        try:
            atexit.unregister(self.stop)
        except Exception:  # pragma: no cover - interpreter shutting down
            pass
        self._backend.stop()
        from fastrdd.scheduler import events

        self._scheduler.bus.post(events.ApplicationEnd(events.now()))
        if self._progress is not None:
            self._progress.close()
        if self._event_log is not None:
            self._event_log.close()
        if self._ui is not None:
            self._ui.stop()
        shutil.rmtree(self._app_dir, ignore_errors=True)
        from fastrdd.files import SparkFiles

        SparkFiles._root_directory = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.stop()

    def __reduce__(self):
        from fastrdd.errors import ClosureError

        raise ClosureError(
            "The SparkContext was captured by a function sent to the workers. It can only be "
            "used on the driver, not in code that runs on workers (map, filter, foreach...): "
            "call sc.* outside the function and pass the results in.")

    def _check_active(self):
        if self._stopped:
            raise ContextError("This SparkContext has been stopped; create a new one "
                               "(or use SparkContext.getOrCreate()).")

    # -- properties -----------------------------------------------------------
    @property
    def defaultParallelism(self):
        """Default number of partitions: spark.default.parallelism or the number of workers.

        >>> sc.defaultParallelism
        2
        >>> sc.parallelize(range(10)).getNumPartitions()
        2
        """
        return int(self._conf.get("spark.default.parallelism", self._workers))

    @property
    def defaultMinPartitions(self):
        """Default minimum number of partitions for file RDDs (at most 2).

        >>> sc.defaultMinPartitions
        2
        """
        return min(self.defaultParallelism, 2)

    @property
    def version(self):
        """The version of fastrdd running this application.

        >>> import fastrdd
        >>> sc.version == fastrdd.__version__
        True
        """
        from fastrdd import __version__

        return __version__

    @property
    def applicationId(self):
        """A unique identifier of the application (``local-<start time>`` here).

        >>> sc.applicationId  # doctest: +ELLIPSIS
        'local-...'
        """
        return self._app_id

    @property
    def uiWebUrl(self):
        """The URL of the web UI (``spark.ui.port``, on loopback), None when it is off.

        >>> sc.uiWebUrl  # doctest: +ELLIPSIS
        'http://127.0.0.1:...'
        """
        return self._ui.url if self._ui is not None else None

    def getConf(self):
        """A copy of this context's SparkConf.

        >>> conf = sc.getConf()
        >>> conf.get("spark.master")
        'local[2]'
        >>> conf.set("spark.master", "local[8]") is not None  # a copy: sc is unchanged
        True
        >>> sc.getConf().get("spark.master")
        'local[2]'
        """
        return self._conf.copy()

    def setLogLevel(self, logLevel):
        """Set fastrdd's log level (ALL, DEBUG, ERROR, FATAL, INFO, OFF, TRACE, WARN).

        >>> import logging
        >>> previous = logging.getLogger("fastrdd").level
        >>> sc.setLogLevel("WARN")
        >>> logging.getLogger("fastrdd").level == logging.WARNING
        True
        >>> logging.getLogger("fastrdd").setLevel(previous)
        """
        import logging

        levels = {"ALL": logging.NOTSET, "TRACE": logging.DEBUG, "DEBUG": logging.DEBUG,
                  "INFO": logging.INFO, "WARN": logging.WARNING, "ERROR": logging.ERROR,
                  "FATAL": logging.CRITICAL, "OFF": logging.CRITICAL + 10}
        try:
            level = levels[str(logLevel).upper()]
        except KeyError:
            raise ValueError(f"unknown log level {logLevel!r}: use one of {sorted(levels)}") from None
        logging.getLogger("fastrdd").setLevel(level)

    def setLocalProperty(self, key, value):
        """Set a local property of this thread, seen by the jobs it starts (None removes it).

        >>> sc.setLocalProperty("doctest.key", "value")
        >>> sc.getLocalProperty("doctest.key")
        'value'
        >>> sc.setLocalProperty("doctest.key", None)
        >>> sc.getLocalProperty("doctest.key") is None
        True
        """
        props = getattr(self._local_properties, "props", None)
        if props is None:
            props = self._local_properties.props = {}
        if value is None:
            props.pop(key, None)
        else:
            props[key] = str(value)

    def getLocalProperty(self, key):
        """A local property of this thread, or None if it is not set.

        >>> sc.getLocalProperty("doctest.unset") is None
        True
        >>> sc.setLocalProperty("doctest.key", 42)
        >>> sc.getLocalProperty("doctest.key")
        '42'
        >>> sc.setLocalProperty("doctest.key", None)
        """
        return getattr(self._local_properties, "props", {}).get(key)

    # -- job groups, tags, cancellation, monitoring -----------------------------
    def setJobGroup(self, groupId, description, interruptOnCancel=False):
        """Assign the jobs started by this thread to a group (to cancel or monitor them).

        >>> import threading, time
        >>> def slow(x):
        ...     time.sleep(5)
        ...     return x
        >>> def run():
        ...     sc.setJobGroup("job_to_cancel", "a slow job")
        ...     try:
        ...         sc.parallelize(range(4), 2).map(slow).count()
        ...     except Exception as e:
        ...         result.append(type(e).__name__)
        >>> result = []
        >>> t = threading.Thread(target=run); t.start()
        >>> while not sc.statusTracker().getActiveStageIds():  # until the job runs
        ...     time.sleep(0.05)
        >>> sc.cancelJobGroup("job_to_cancel"); t.join()
        >>> result
        ['JobCancelledError']
        """
        self.setLocalProperty("spark.jobGroup.id", groupId)
        self.setLocalProperty("spark.job.description", description)
        self.setLocalProperty("spark.job.interruptOnCancel", str(bool(interruptOnCancel)).lower())

    def setJobDescription(self, value):
        """A description for the jobs started by this thread.

        >>> sc.setJobDescription("counting things")
        >>> sc.getLocalProperty("spark.job.description")
        'counting things'
        >>> sc.setJobDescription(None)
        """
        self.setLocalProperty("spark.job.description", value)

    def setInterruptOnCancel(self, interruptOnCancel):
        """Whether cancelling this thread's jobs stops their running tasks (fastrdd always does).

        >>> sc.setInterruptOnCancel(True)
        >>> sc.getLocalProperty("spark.job.interruptOnCancel")
        'true'
        >>> sc.setLocalProperty("spark.job.interruptOnCancel", None)
        """
        self.setLocalProperty("spark.job.interruptOnCancel", str(bool(interruptOnCancel)).lower())

    def cancelJobGroup(self, groupId):
        """Cancel the running and queued jobs of a group; other jobs go on.

        See setJobGroup for cancelling a running job.  Cancelling a group with
        no running job does nothing:

        >>> sc.cancelJobGroup("doctest_idle_group")
        >>> sc.parallelize(range(3)).count()
        3
        """
        self._scheduler.cancel(f"part of cancelled job group {groupId}",
                                        lambda job: job.group == groupId)

    def cancelAllJobs(self):
        """Cancel every running and queued job.

        Jobs started afterwards run as usual:

        >>> sc.cancelAllJobs()
        >>> sc.parallelize(range(3)).sum()
        3
        """
        self._scheduler.cancel("all jobs were cancelled", lambda job: True)

    def addJobTag(self, tag):
        """Tag the jobs started by this thread (see cancelJobsWithTag).

        >>> sc.addJobTag("nightly"); sorted(sc.getJobTags())
        ['nightly']
        >>> sc.removeJobTag("nightly"); sc.getJobTags()
        set()
        """
        tag = str(tag)
        if "," in tag or not tag:
            raise ValueError(f"Spark job tag cannot be empty or contain ',': {tag!r}")
        self._set_tags(self.getJobTags() | {tag})

    def removeJobTag(self, tag):
        """Remove a tag from the jobs started by this thread from now on.

        >>> sc.addJobTag("doctest_a"); sc.addJobTag("doctest_b")
        >>> sc.removeJobTag("doctest_a")
        >>> sorted(sc.getJobTags())
        ['doctest_b']
        >>> sc.removeJobTag("doctest_b")
        """
        self._set_tags(self.getJobTags() - {tag})

    def getJobTags(self):
        """The set of tags of the jobs started by this thread.

        >>> sc.addJobTag("doctest_tag")
        >>> sc.getJobTags()
        {'doctest_tag'}
        >>> sc.clearJobTags()
        """
        return set(filter(None, (self.getLocalProperty("spark.job.tags") or "").split(",")))

    def clearJobTags(self):
        """Remove all the tags of the jobs started by this thread.

        >>> sc.addJobTag("doctest_a"); sc.addJobTag("doctest_b")
        >>> sc.clearJobTags()
        >>> sc.getJobTags()
        set()
        """
        self._set_tags(set())

    def _set_tags(self, tags):
        self.setLocalProperty("spark.job.tags", ",".join(sorted(tags)) or None)

    def cancelJobsWithTag(self, tag):
        """Cancel the running and queued jobs that carry ``tag``.

        >>> import threading, time
        >>> def slow(x):
        ...     time.sleep(5)
        ...     return x
        >>> def run():
        ...     sc.addJobTag("doctest_tag_to_cancel")
        ...     try:
        ...         sc.parallelize(range(2), 2).map(slow).count()
        ...     except Exception as e:
        ...         result.append(type(e).__name__)
        >>> tracker = sc.statusTracker()
        >>> before = set(tracker.getActiveJobsIds())
        >>> result = []
        >>> t = threading.Thread(target=run); t.start()
        >>> while not set(tracker.getActiveJobsIds()) - before:  # wait for the job to start
        ...     time.sleep(0.01)
        >>> sc.cancelJobsWithTag("doctest_tag_to_cancel"); t.join()
        >>> result
        ['JobCancelledError']
        """
        self._scheduler.cancel(f"tagged {tag!r}, and that tag was cancelled",
                                        lambda job: tag in job.tags)

    def statusTracker(self):
        """A StatusTracker over this context's jobs and stages.

        >>> tracker = sc.statusTracker()
        >>> len(tracker.getExecutorInfos())
        2
        """
        from fastrdd.scheduler.status import StatusTracker

        return StatusTracker(self._scheduler.registry)

    def show_profiles(self):
        """Print the Python profiles collected so far (needs spark.python.profile=true).

        Profiling is off on this context:

        >>> sc.show_profiles()
        Traceback (most recent call last):
            ...
        RuntimeError: 'spark.python.profile' configuration must be set to 'true' to enable Python profile.
        """
        if self.profiler_collector is None:
            raise RuntimeError("'spark.python.profile' configuration must be set to 'true' to "
                               "enable Python profile.")
        self.profiler_collector.show_profiles()

    def dump_profiles(self, path):
        """Write the collected profiles as ``path/rdd_<id>.pstats``.

        Profiling is off on this context:

        >>> import tempfile
        >>> sc.dump_profiles(tempfile.mkdtemp())
        Traceback (most recent call last):
            ...
        RuntimeError: 'spark.python.profile' configuration must be set to 'true' to enable Python profile.
        """
        if self.profiler_collector is None:
            raise RuntimeError("'spark.python.profile' configuration must be set to 'true' to "
                               "enable Python profile.")
        self.profiler_collector.dump_profiles(path)

    def sparkUser(self):
        """The user running this application.

        >>> import getpass, os
        >>> sc.sparkUser() == (os.environ.get("SPARK_USER") or getpass.getuser())
        True
        """
        import getpass

        return os.environ.get("SPARK_USER") or getpass.getuser()

    @property
    def resources(self):
        """Driver resources (GPUs...): none are managed by fastrdd.

        >>> sc.resources
        {}
        """
        return {}

    def __repr__(self):
        return f"<SparkContext master={self.master} appName={self.appName}>"

    def __getnewargs__(self):
        self.__reduce__()

    # -- files and Python dependencies ----------------------------------------------
    PACKAGE_EXTENSIONS = (".zip", ".egg", ".jar")

    def _files_dir(self):
        return os.path.join(self._app_dir, "files")

    def addFile(self, path, recursive=False):
        """Ship a file (or, with ``recursive``, a directory) to every task: see SparkFiles.get.

        >>> import os, tempfile
        >>> from fastrdd import SparkFiles
        >>> path = os.path.join(tempfile.mkdtemp(), "doctest_add_file.txt")
        >>> with open(path, "w") as f:
        ...     _ = f.write("100")
        >>> sc.addFile(path)
        >>> def add_file_value(x):
        ...     with open(SparkFiles.get("doctest_add_file.txt")) as f:
        ...         return x + int(f.read())
        >>> sc.parallelize([1, 2, 3]).map(add_file_value).collect()
        [101, 102, 103]
        """
        from fastrdd.files import add_file

        from fastrdd import protocol

        name = add_file(self._files_dir(), path, recursive)
        self._added_files.setdefault(name, path_uri(path))
        self._backend.broadcast(protocol.FileAdded(name, False), sticky=True)

    def addPyFile(self, path):
        """Ship a .py, .zip or .egg file and make it importable in tasks (and here).

        >>> import os, tempfile
        >>> d = tempfile.mkdtemp()
        >>> with open(os.path.join(d, "shipped_mod.py"), "w") as f:
        ...     _ = f.write("def triple(x):\\n    return 3 * x\\n")
        >>> sc.addPyFile(os.path.join(d, "shipped_mod.py"))
        >>> sc.parallelize([1, 2]).map(lambda x: __import__("shipped_mod").triple(x)).collect()
        [3, 6]
        """
        import sys

        from fastrdd import protocol

        self.addFile(path)
        name = os.path.basename(path)
        if not name.lower().endswith(self.PACKAGE_EXTENSIONS):
            name = ""  # a module: the files directory itself goes on the path
        self._backend.broadcast(protocol.AddPath(name), sticky=True)
        entry = os.path.join(self._files_dir(), name) if name else self._files_dir()
        if entry not in sys.path:
            sys.path.insert(1, entry)
        import importlib

        importlib.invalidate_caches()

    def addArchive(self, path):
        """Ship an archive, unpacked under SparkFiles.get(<archive name>).

        >>> import os, tempfile, zipfile
        >>> from fastrdd import SparkFiles
        >>> path = os.path.join(tempfile.mkdtemp(), "doctest_archive.zip")
        >>> with zipfile.ZipFile(path, "w") as z:
        ...     z.writestr("data.txt", "100")
        >>> sc.addArchive(path)
        >>> def add_archive_value(x):
        ...     with open(os.path.join(SparkFiles.get("doctest_archive.zip"), "data.txt")) as f:
        ...         return x + int(f.read())
        >>> sc.parallelize([1, 2, 3]).map(add_archive_value).collect()
        [101, 102, 103]
        """
        from fastrdd.files import add_archive

        if os.path.basename(path) in self._added_archives:
            return  # already shipped and unpacked (PySpark ignores a repeat too)
        from fastrdd import protocol

        name = add_archive(self._files_dir(), path)
        self._added_archives[name] = path_uri(path)
        self._backend.broadcast(protocol.FileAdded(name, True), sticky=True)

    @property
    def listFiles(self):
        """URIs of the files added with addFile/addPyFile.

        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "doctest_list_files.txt")
        >>> with open(path, "w") as f:
        ...     _ = f.write("content")
        >>> sc.addFile(path)
        >>> "file:" + path in sc.listFiles
        True
        """
        return list(self._added_files.values())

    @property
    def listArchives(self):
        """URIs of the archives added with addArchive.

        >>> import os, tempfile, zipfile
        >>> path = os.path.join(tempfile.mkdtemp(), "doctest_list_archives.zip")
        >>> with zipfile.ZipFile(path, "w") as z:
        ...     z.writestr("data.txt", "content")
        >>> sc.addArchive(path)
        >>> "file:" + path in sc.listArchives
        True
        """
        return list(self._added_archives.values())

    # -- checkpoints ------------------------------------------------------------------
    def setCheckpointDir(self, dirName):
        """Where RDD.checkpoint() writes (a unique subdirectory is made inside).

        >>> import os, tempfile
        >>> d = tempfile.mkdtemp()
        >>> sc.setCheckpointDir(d)
        >>> os.path.dirname(sc.getCheckpointDir()) == "file:" + d
        True
        """
        if dirName.startswith("file:"):
            dirName = dirName[len("file:"):]
        path = os.path.join(os.path.abspath(os.path.expanduser(dirName)), str(uuid.uuid4()))
        os.makedirs(path, exist_ok=True)
        self._checkpoint_dir = path

    def getCheckpointDir(self):
        """The checkpoint directory as a ``file:`` URI (as PySpark gives it), or None.

        >>> import tempfile
        >>> sc.setCheckpointDir(tempfile.mkdtemp())
        >>> sc.getCheckpointDir().startswith("file:/")
        True
        """
        return None if self._checkpoint_dir is None else path_uri(self._checkpoint_dir)

    def _after_job(self, rdd):
        """Write pending checkpoints of ``rdd``'s lineage (PySpark does it after the job)."""
        if self._checkpointing or not self._pending_checkpoints:
            return
        from fastrdd.rdd.checkpoint import write_checkpoints

        self._checkpointing = True
        try:
            write_checkpoints(self, rdd)
        finally:
            self._checkpointing = False

    # -- ids --------------------------------------------------------------------
    def _new_rdd_id(self):
        with self._id_lock:
            self._next_rdd += 1
            return self._next_rdd - 1

    def _new_shuffle_id(self):
        with self._id_lock:
            self._next_shuffle += 1
            return self._next_shuffle - 1

    # -- shared variables -------------------------------------------------------
    def broadcast(self, value):
        """Ship a read-only value to the workers once (not once per task).

        >>> b = sc.broadcast({"a": 1})
        >>> sc.parallelize(["a", "a", "b"]).map(lambda k: b.value.get(k, 0)).collect()
        [1, 1, 0]
        """
        from fastrdd.broadcast import Broadcast

        self._check_active()
        return Broadcast(self, value)

    def accumulator(self, value, accum_param=None):
        """An accumulator starting at ``value``; ints, floats and complex add by default.

        >>> acc = sc.accumulator(0)
        >>> sc.parallelize(range(5)).foreach(lambda x: acc.add(x))
        >>> acc.value
        10
        """
        from fastrdd import accumulators

        if accum_param is None:
            if isinstance(value, bool) or not isinstance(value, (int, float, complex)):
                raise TypeError(f"No default accumulator param for type {type(value)}: pass an "
                                f"AccumulatorParam as accum_param")
            accum_param = {int: accumulators.INT_ACCUMULATOR_PARAM,
                           float: accumulators.FLOAT_ACCUMULATOR_PARAM,
                           complex: accumulators.COMPLEX_ACCUMULATOR_PARAM}[type(value)]
        acc = accumulators.Accumulator(accumulators.new_id(), value, accum_param)
        accumulators.register(acc)
        return acc

    # -- RDD creation -----------------------------------------------------------
    def parallelize(self, c, numSlices=None):
        """Distribute a local collection as an RDD (ranges stay lazy).

        >>> sc.parallelize([0, 2, 3, 4, 6], 5).glom().collect()
        [[0], [2], [3], [4], [6]]
        >>> sc.parallelize(range(0, 6, 2), 5).glom().collect()
        [[], [0], [], [2], [4]]
        >>> sc.parallelize(["a", "b", "c"]).map(str.upper).collect()
        ['A', 'B', 'C']
        """
        from fastrdd.rdd.lineage import ParallelCollection, slice_collection
        from fastrdd.rdd.rdd import RDD

        self._check_active()
        numSlices = int(numSlices) if numSlices is not None else self.defaultParallelism
        if numSlices < 1:
            raise ValueError(f"numSlices must be at least 1, got {numSlices}")
        if isinstance(c, range):
            size = len(c)
            if size == 0:
                return self.parallelize([], numSlices)
            step = c[1] - c[0] if size > 1 else 1
            start0 = c[0]

            def get_start(split):
                return start0 + int(split * size / numSlices) * step

            def slice_range(split, _):
                return iter(range(get_start(split), get_start(split + 1), step))

            return self.parallelize([], numSlices).mapPartitionsWithIndex(slice_range)
        data = c if isinstance(c, list) else list(c)
        plan = ParallelCollection(slice_collection(data, numSlices), store=self._store_payload)
        return RDD(self, plan)

    def _store_payload(self, owner, split, data):
        """Keep a big serialized slice in the payload area; the reference tasks carry.

        The file goes when ``owner`` (the RDD's plan) is garbage collected, or
        with the context's directory when it stops.
        """
        import weakref

        from fastrdd import protocol
        from fastrdd.storage.blocks import write_whole

        name = f"slice-{uuid.uuid4().hex}-{split}"
        directory = os.path.join(self._app_dir, "payload")
        write_whole(directory, name, data)
        weakref.finalize(owner, _remove_quietly, os.path.join(directory, name))
        return protocol.PayloadRef(name)

    def range(self, start, end=None, step=1, numSlices=None):
        """An RDD of ints from ``start`` (inclusive) to ``end`` (exclusive).

        >>> sc.range(5).collect()
        [0, 1, 2, 3, 4]
        >>> sc.range(2, 4).collect()
        [2, 3]
        >>> sc.range(1, 7, 2).collect()
        [1, 3, 5]
        """
        if end is None:
            start, end = 0, start
        return self.parallelize(range(start, end, step), numSlices)

    def emptyRDD(self):
        """An RDD with no partition and no element.

        >>> sc.emptyRDD().count(), sc.emptyRDD().getNumPartitions()
        (0, 0)
        """
        from fastrdd.rdd.lineage import ParallelCollection
        from fastrdd.rdd.rdd import RDD

        self._check_active()
        return RDD(self, ParallelCollection([], "EmptyRDD"))

    def textFile(self, name, minPartitions=None, use_unicode=True):
        """The lines of a text file, directory, glob or comma-separated list of them.

        Large files are read in parallel, in byte ranges cut at line ends;
        ``.gz``/``.bz2``/``.zst`` files are read whole.  Invalid UTF-8 bytes
        become U+FFFD, as in PySpark.  ``name`` may be any fsspec URL
        (``s3a://bucket/logs/*.gz``).  Each file is at least one partition, as
        in PySpark; with ``fastrdd.files.combineSmallFiles=true`` small files
        are packed together up to ``spark.files.maxPartitionBytes``.

        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "sample.txt")
        >>> with open(path, "w") as f:
        ...     _ = f.write("Hello world!\\nsecond line")
        >>> sc.textFile(path).collect()
        ['Hello world!', 'second line']
        """
        from functools import partial

        from fastrdd.io import text as textio

        self._check_active()
        if minPartitions is None:
            minPartitions = self.defaultMinPartitions
        if self._conf.get("fastrdd.files.combineSmallFiles", "false").strip().lower() == "true":
            max_bytes, open_cost = self._packing()
            return self._files(name, partial(textio.combine_splits, min_partitions=minPartitions,
                                             max_bytes=max_bytes, open_cost=open_cost),
                               partial(textio.read_split_group_batches, use_unicode=use_unicode),
                               "TextFileRDD", batched=True)
        return self._files(name, partial(textio.compute_splits, min_partitions=minPartitions),
                           partial(textio.read_line_batches, use_unicode=use_unicode),
                           "TextFileRDD", batched=True)

    def _files(self, spec, plan, read, kind, batched=False):
        """An RDD of the records ``read`` yields for each split ``plan`` cuts files into
        (``batched``: ``read`` yields lists of records)."""
        from fastrdd.rdd.lineage import Files
        from fastrdd.rdd.rdd import RDD

        return RDD(self, Files(str(spec), plan, read, kind, self._fs_options(spec), batched))

    def _fs_options(self, spec):
        """The fsspec options of the conf (``io/filesystems.py``), refusing a per-process
        filesystem (memory://) that this master's tasks would not see."""
        from fastrdd.io import filesystems
        from fastrdd.masters import parse_master

        in_process = parse_master(self.master).kind == "inprocess"
        for component in str(spec).split(","):
            if filesystems.is_remote(component.strip()):
                filesystems.check_reachable(component.strip(), in_process)
        return filesystems.options_from_conf(self._conf.getAll())

    def _output_path(self, path):
        """(absolute path or URL, fsspec options) of a save's output."""
        from fastrdd.io import filesystems

        path = str(path)
        if filesystems.is_remote(path):
            return path, self._fs_options(path)
        return os.path.abspath(os.path.expanduser(path)), None

    def _packing(self):
        """(spark.files.maxPartitionBytes, spark.files.openCostInBytes) in bytes."""
        from fastrdd.io import packing
        from fastrdd.storage.memory import parse_size

        return (parse_size(self._conf.get("spark.files.maxPartitionBytes",
                                          packing.MAX_PARTITION_BYTES)),
                parse_size(self._conf.get("spark.files.openCostInBytes", packing.OPEN_COST)))

    def wholeTextFiles(self, path, minPartitions=None, use_unicode=True):
        """(file URI, whole content) for each file of a directory, glob or list.

        >>> import os, tempfile
        >>> d = tempfile.mkdtemp()
        >>> for name, text in [("1.txt", "1"), ("2.txt", "2")]:
        ...     with open(os.path.join(d, name), "w") as f:
        ...         _ = f.write(text)
        >>> sorted(sc.wholeTextFiles(d).collect())  # doctest: +ELLIPSIS
        [('file:.../1.txt', '1'), ('file:.../2.txt', '2')]
        """
        from fastrdd.io import binary as binaryio

        return self._file_rdd(path, minPartitions, binaryio.whole_files_reader(
            "text" if use_unicode else "text-bytes"), "WholeTextFileRDD")

    def binaryFiles(self, path, minPartitions=None):
        """(file URI, bytes) for each file of a directory, glob or list.

        >>> import os, tempfile
        >>> d = tempfile.mkdtemp()
        >>> with open(os.path.join(d, "1.bin"), "wb") as f:
        ...     _ = f.write(b"binary data I")
        >>> [content for _, content in sc.binaryFiles(d).collect()]
        [b'binary data I']
        """
        from fastrdd.io import binary as binaryio

        return self._file_rdd(path, minPartitions, binaryio.whole_files_reader("binary"),
                              "BinaryFileRDD")

    def _file_rdd(self, path, min_partitions, read_group, kind):
        from functools import partial

        from fastrdd.io import binary as binaryio

        self._check_active()
        if min_partitions is None:
            min_partitions = self.defaultMinPartitions
        max_bytes, open_cost = self._packing()
        # PySpark's two rules: binaryFiles weighs the cores, wholeTextFiles only minPartitions
        parallelism = self.defaultParallelism if kind == "BinaryFileRDD" else None
        return self._files(path, partial(binaryio.group_files, min_partitions=min_partitions,
                                         max_bytes=max_bytes, open_cost=open_cost,
                                         parallelism=parallelism),
                           read_group, kind)

    def binaryRecords(self, path, recordLength):
        """Fixed-length records (bytes) of flat binary files.

        >>> import os, tempfile
        >>> d = tempfile.mkdtemp()
        >>> with open(os.path.join(d, "1.bin"), "w") as f:
        ...     _ = f.write("0123456789")
        >>> sorted(sc.binaryRecords(d, 2).collect())
        [b'01', b'23', b'45', b'67', b'89']
        """
        from functools import partial

        from fastrdd.io import binary as binaryio

        self._check_active()
        return self._files(path, partial(binaryio.record_splits, record_length=recordLength,
                                         min_partitions=self.defaultMinPartitions),
                           partial(binaryio.read_records, record_length=recordLength),
                           "BinaryRecordsRDD")

    def pickleFile(self, name, minPartitions=None):
        """The records saved by ``RDD.saveAsPickleFile``.

        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "data")
        >>> sc.parallelize(range(10)).saveAsPickleFile(path)
        >>> sorted(sc.pickleFile(path, 3).collect())
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
        """
        from fastrdd.io import binary as binaryio

        self._check_active()
        return self._files(name, list, binaryio.read_pickle_file, "PickleFileRDD")

    def union(self, rdds):
        """The union of a list of RDDs.

        >>> sc.union([sc.parallelize([1, 2]), sc.parallelize([3])]).collect()
        [1, 2, 3]
        """
        from fastrdd.rdd.rdd import union_of

        rdds = list(rdds)
        if not rdds:
            raise IndexError("list index out of range")  # PySpark's rdds[0], verbatim
        return union_of(self, rdds)

    # -- jobs ---------------------------------------------------------------
    def _run_job(self, rdd, func, partitions):
        self._check_active()
        props = dict(getattr(self._local_properties, "props", {}))
        if self.profiler_collector is not None:
            props["fastrdd.profile"] = "1"
        name = None
        if self._scheduler.describe_jobs:  # "collect at app.py:12", for the UI
            from fastrdd.rdd.rdd import _call_site

            name = "%s at %s" % _call_site()
        return self._scheduler.run_job(rdd, func, partitions, props or None, name=name)

    def runJob(self, rdd, partitionFunc, partitions=None, allowLocal=False):
        """Run ``partitionFunc(iterator)`` on the given partitions; the concatenated results.

        >>> myRDD = sc.parallelize(range(6), 3)
        >>> sc.runJob(myRDD, lambda part: [x * x for x in part])
        [0, 1, 4, 9, 16, 25]
        >>> sc.runJob(myRDD, lambda part: [x * x for x in part], [0, 2], True)
        [0, 1, 16, 25]
        """
        if partitions is None:
            partitions = range(rdd.getNumPartitions())
        results = self._run_job(rdd, lambda _, iterator: list(partitionFunc(iterator)), partitions)
        return [x for part in results for x in part]


def _remove_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass

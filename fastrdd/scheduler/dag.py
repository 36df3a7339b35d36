"""The DAG scheduler: from an action to stages to tasks, for any backend.

::

    action -> run_job(rdd, func, partitions)
                 |  walk lineage; cut at ShuffledRDDs
                 v
    missing map stage? --yes--> run_stage("map", parent rdd, dependency) --+
                 | no                                                       |
                 v                                                          |
    run_stage("result", rdd, func) for partitions without a result <-------+
                 |   tasks -> backend.send   events <- backend.poll
                 v
    per-partition results, in the order asked for

A stage is serialized once (``closure.dumps_stage``) and sent once to each
worker that runs one of its tasks; a task message names only its partition
(plus the slice of a parallelized collection, if the stage reads one).
Stages run one at a time; within a stage every worker is kept busy.

State kept across jobs (all keyed by ids, never by RDD objects):

``map_outputs``  shuffle id -> [worker id or None] per map partition.  A
                 shuffle whose list has no None is done, and its map stage
                 is skipped by later jobs.
``cache_locs``   (rdd id, split) -> worker id holding that cached partition;
                 tasks prefer that worker for up to ``locality_wait`` s.
``replica_locs`` (rdd id, split) -> worker id holding its second copy (``_2``
                 levels): it takes over when the first holder is lost.

``executors``    executor id -> ExecutorState: the task it runs and the stage
                 blobs it holds.  Kept here, not in the transport: the
                 backend only reports executors added and lost.

Everything that happens is posted on ``bus`` (``scheduler.events``); the
status tracker and any progress reader listen there.

Failure handling, the same for every backend:

* a task raising: retried until it failed ``max_failures`` times, then the
  job fails with the user's exception type, message and worker traceback;
* a worker lost (died, or silent past the heartbeat timeout): forgotten
  (a local backend starts a replacement itself); its running task is
  re-queued (at most ``max_worker_losses`` times each), or, when the backend
  says the task most likely ended it (``ExecutorLost.by_task``: a local
  process that crashed or hung), counted as a failure of that task, as
  above; its cached partitions and map outputs are forgotten, and
  recomputed from lineage when needed -- only those;
* a reduce task that cannot read a map output (``FetchFailedError``): that
  output is marked missing, the stage drains, its map stage re-runs for the
  missing partitions, then the stage resumes.

Results of a superseded attempt are ignored: exactly one result per
partition is kept, from the first attempt that reports it.
"""
import itertools
import threading
import time
from collections import deque

from fastrdd import protocol
from fastrdd.errors import JobCancelledError, JobFailedError
from fastrdd.scheduler import events
from fastrdd.scheduler.backend import ExecutorAdded, ExecutorLost
from fastrdd.scheduler.closure import dumps_stage
from fastrdd.scheduler.jobgraph import describe_job, shuffles_of
from fastrdd.scheduler.status import JobRegistry
from fastrdd.scheduler.taskset import StageRun

#: longest wait of ``unpersist(blocking=True)`` for the workers' answers
UNPERSIST_TIMEOUT = 60.0

__all__ = ["DAGScheduler", "ExecutorState"]


class ExecutorState:
    """What the scheduler knows of one executor."""

    __slots__ = ("info", "running", "stages")

    def __init__(self, info):
        #: the backend's ExecutorInfo (id, host, pid, cores, block address)
        self.info = info
        #: id of the task it runs, or None when idle
        self.running = None
        #: stage ids whose blob it has been sent
        self.stages = set()


class _Job:
    """A job as the scheduler controls it: its id and why it was cancelled."""

    __slots__ = ("job_id", "group", "tags", "cancelled")

    def __init__(self, job_id, properties):
        props = properties or {}
        self.job_id = job_id
        self.group = props.get("spark.jobGroup.id")
        self.tags = set(filter(None, props.get("spark.job.tags", "").split(",")))
        #: why it was cancelled, or None
        self.cancelled = None


class DAGScheduler:
    """Runs jobs on a backend (``scheduler.backend.SchedulerBackend``)."""

    def __init__(self, backend, max_failures=1, locality_wait=0.2, max_worker_losses=4,
                 listeners=(), bus=None):
        self.backend = backend
        self.max_failures = max(1, int(max_failures))
        #: seconds a task waits for the busy worker that caches its input
        self.locality_wait = locality_wait
        self.max_worker_losses = max_worker_losses
        self.map_outputs = {}
        self.cache_locs = {}
        #: (rdd id, split) -> worker id holding a second copy (``_2`` storage levels)
        self.replica_locs = {}
        self._stage_ids = itertools.count()
        self._task_ids = itertools.count()
        #: shuffle ids whose RDDs were garbage collected (appended from finalizers)
        self.released_shuffles = deque()
        self.lock = threading.RLock()
        self.stage_count = 0
        self.task_count = 0
        #: every job, stage, task, block and worker event goes here (the context may
        #: hand in its own, already carrying its readers and ``ApplicationStart``)
        self.bus = events.EventBus() if bus is None else bus
        #: jobs, stages and workers, for the status tracker: the bus's first listener
        self.registry = JobRegistry()
        self.bus.add_listener(self.registry)
        for listener in listeners:  # before the first event: they see the workers join
            self.bus.add_listener(listener)
        #: jobs not yet finished (queued or running), for cancellation
        self.active_jobs = {}
        self._job_ids = itertools.count()
        self._jobs_lock = threading.Lock()
        #: a ProfilerCollector when spark.python.profile is on
        self.profiles = None
        #: put each job's lineage in its JobStart (someone draws it: web UI, event log)
        self.describe_jobs = False
        #: keep fastrdd's own frames in the tracebacks of user errors
        #: (``fastrdd.traceback.engineFrames``)
        self.show_engine_frames = False
        self.executors = {}
        for info in backend.executors().values():
            self._add_executor(info, announce=False)
        self._send_peers()

    # -- jobs ---------------------------------------------------------------
    def run_job(self, rdd, func, partitions, properties=None, name=None):
        """``func(split, iterator)`` on each partition; the list of its results.

        ``name`` ("collect at app.py:12") names the job to the event readers.
        """
        with self._jobs_lock:
            job = _Job(next(self._job_ids), properties)
            self.active_jobs[job.job_id] = job
        graph = describe_job(rdd, self._shuffle_done, len(partitions)) \
            if self.describe_jobs else {}
        # map stages whose output is there already: never run, but part of the job, as
        # Spark counts them (its skipped stages), each with a stage id of its own
        skipped = [(next(self._stage_ids), shuffle_id, maps)
                   for shuffle_id, maps in shuffles_of(rdd) if self._shuffle_done(shuffle_id)]
        self.bus.post(events.JobStart(job.job_id, name or f"job at {rdd._site[1]}",
                                      dict(properties or {}), graph, skipped, events.now()))
        try:
            with self.lock:
                self._release_shuffles()
                self._reap()
                results = self._run_job(job, rdd, func, list(partitions), properties)
        except BaseException as e:
            self.bus.post(events.JobEnd(job.job_id, "FAILED", f"{type(e).__name__}: {e}",
                                        events.now()))
            raise
        finally:
            with self._jobs_lock:
                self.active_jobs.pop(job.job_id, None)
        self.bus.post(events.JobEnd(job.job_id, "SUCCEEDED", None, events.now()))
        return results

    def cancel(self, reason, predicate):
        """Cancel the unfinished jobs for which ``predicate(job)`` holds (job.group, job.tags)."""
        with self._jobs_lock:
            for job in self.active_jobs.values():
                if predicate(job):
                    job.cancelled = reason

    def _run_job(self, job, rdd, func, parts, properties):
        results = {}
        while True:
            if job.cancelled:
                raise JobCancelledError(f"Job {job.job_id} cancelled: {job.cancelled}")
            missing = self._next_missing_shuffle(rdd)
            if missing is not None:
                dep, parent = missing
                outputs = self.map_outputs[dep.shuffle_id]
                todo = [m for m, wid in enumerate(outputs) if wid is None]
                self._run_stage(job, "map", parent, dep, todo, None, properties)
                continue
            todo = [p for p in parts if p not in results]
            if not todo:
                return [results[p] for p in parts]
            self._run_stage(job, "result", rdd, func, todo, results, properties)

    def _shuffle_done(self, shuffle_id):
        outputs = self.map_outputs.get(shuffle_id)
        return outputs is not None and None not in outputs

    def _next_missing_shuffle(self, rdd):
        """(dependency, parent rdd) of a shuffle to compute first, or None."""
        seen = set()

        def visit(r):
            if r._id in seen:
                return None
            seen.add(r._id)
            if r.is_cached and all((r._id, s) in self.cache_locs for s in range(r.getNumPartitions())):
                return None
            dep = r._shuffle_dep
            if dep is not None:
                outputs = self.map_outputs.setdefault(dep.shuffle_id, [None] * dep.num_maps)
                if None not in outputs:
                    return None
                return visit(r._parent) or (dep, r._parent)
            for parent in r._narrow_parents():
                found = visit(parent)
                if found is not None:
                    return found
            return None

        return visit(rdd)

    # -- one stage ----------------------------------------------------------
    def _build(self, rdd):
        """The stage's node tree, and the RDDs inside the stage."""
        built = {}

        def node_of(r):
            entry = built.get(r._id)
            if entry is None:
                entry = built[r._id] = (r, r._make_node(node_of))
            return entry[1]

        root = node_of(rdd)
        return root, [r for r, _ in built.values()]

    def _run_stage(self, job, kind, rdd, extra, todo, results, properties):
        stage_id = next(self._stage_ids)
        self.stage_count += 1
        self.bus.post(events.StageSubmitted(stage_id, job.job_id, kind,
                                            f"{rdd._site[0]} at {rdd._site[1]}", rdd._id,
                                            extra.shuffle_id if kind == "map" else None,
                                            len(todo), events.now()))
        node, members = self._build(rdd)
        deps = [r._shuffle_dep for r in members if r._shuffle_dep is not None]
        shuffle_ids = [dep.shuffle_id for dep in deps]
        # None marks an output not (or no longer) there: a task that needs it
        # reports a fetch failure and the map stage runs again
        locations = {dep.shuffle_id: [
            None if w is None else self.executors[w].info.block_address
            for w in self.map_outputs.setdefault(dep.shuffle_id, [None] * dep.num_maps)]
            for dep in deps}
        blob = dumps_stage((kind, node, extra, locations))
        if any(getattr(r, "is_barrier", False) for r in members):
            if len(todo) > 1 and not self.backend.runs_tasks_at_once:
                raise JobFailedError(
                    f"Barrier stage needs its {len(todo)} tasks to run at once, but this master "
                    f"runs one task at a time (inprocess): use local[N] with N >= {len(todo)}")
            if len(todo) > len(self.executors):
                raise JobFailedError(
                    f"Barrier stage needs its {len(todo)} tasks to run at once, but there are "
                    f"only {len(self.executors)} workers: coalesce() to at most that many "
                    f"partitions, or start more workers")
            properties = dict(properties or {}, **{"fastrdd.barrier.tasks": len(todo)})
        has_payload = any(r._has_payload for r in members)
        has_cache = any(r.is_cached for r in members)
        run = StageRun(self, stage_id, kind, rdd, extra, blob, results, properties,
                       has_payload, has_cache, shuffle_ids, job)
        failure = None
        try:
            run.execute(todo)
            if run.draining:
                failure = "a map output it reads was lost; its map stage runs again"
        except BaseException as e:
            failure = f"{type(e).__name__}: {e}"
            if not isinstance(e, Exception) or isinstance(e, JobCancelledError):
                # Ctrl-C or a cancel: stop the stage's running tasks now
                for wid in {info[1] for info in run.running.values()}:
                    self.backend.remove_executor(wid, "its task was cancelled")
                    self._executor_gone(wid, "its task was cancelled")
                self._reap()  # take in the replacements a local backend started
            raise
        finally:
            self.bus.post(events.StageCompleted(stage_id, failure, events.now()))
            for wid, state in list(self.executors.items()):
                if stage_id in state.stages:
                    state.stages.discard(stage_id)
                    self.backend.send(wid, protocol.ForgetStage(stage_id))

    # -- executors ----------------------------------------------------------
    def _add_executor(self, info, announce=True):
        self.executors[info.executor_id] = ExecutorState(info)
        self.bus.post(events.WorkerAdded(info.executor_id, info.host, info.pid, info.cores,
                                         events.now()))
        if announce:
            self._send_peers()

    def _send_peers(self):
        """Tell every worker where the others are (for the copies of ``_2`` blocks)."""
        addresses = sorted(state.info.block_address for state in self.executors.values())
        self.backend.broadcast(protocol.Peers(addresses))

    def _executor_gone(self, wid, reason):
        """Forget an executor, and the cached partitions and map outputs it held.

        A partition whose second copy is on a live worker is now found there.
        """
        if self.executors.pop(wid, None) is not None:
            self.bus.post(events.WorkerLost(wid, reason, events.now()))
            self._send_peers()
        for key in [k for k, w in self.replica_locs.items() if w == wid]:
            del self.replica_locs[key]
        for key in [k for k, w in self.cache_locs.items() if w == wid]:
            replica = self.replica_locs.pop(key, None)
            if replica is not None:
                self.cache_locs[key] = replica
            else:
                del self.cache_locs[key]
        for outputs in self.map_outputs.values():
            for m, w in enumerate(outputs):
                if w == wid:
                    outputs[m] = None

    def poll(self, timeout):
        """The backend's events, with executors added and lost already accounted for.

        Returns [(executor id, message)] and the ``ExecutorLost`` events.
        """
        messages, lost = [], []
        for event in self.backend.poll(timeout):
            kind = type(event)
            if kind is ExecutorAdded:
                self._add_executor(event.info)
            elif kind is ExecutorLost:
                self._executor_gone(event.executor_id, event.reason)
                lost.append(event)
            else:
                messages.append((event.executor_id, event.message))
        return messages, lost

    def preferred_worker(self, rdd, split, locations=None):
        """The live worker caching an input of this partition, if any.

        ``locations`` is ``cache_locs`` (the default) or ``replica_locs``.
        """
        locations = self.cache_locs if locations is None else locations
        if rdd.is_cached:
            wid = locations.get((rdd._id, split))
            if wid is not None and wid in self.executors:
                return wid
        for parent, parent_split in rdd._parent_splits(split):
            wid = self.preferred_worker(parent, parent_split, locations)
            if wid is not None:
                return wid
        return None

    def unpersist(self, rdd_id, blocking=False):
        """Drop an RDD's blocks everywhere; with ``blocking``, until every live worker says so."""
        with self.lock:
            for locs in (self.cache_locs, self.replica_locs):
                for key in [k for k in locs if k[0] == rdd_id]:
                    del locs[key]
            self.bus.post(events.RDDUnpersisted(rdd_id, events.now()))
            message = protocol.Unpersist(rdd_id, blocking)
            waiting = {wid for wid in list(self.executors)
                       if self.backend.send(wid, message) and blocking}
            deadline = time.monotonic() + UNPERSIST_TIMEOUT
            while waiting and time.monotonic() < deadline:
                messages, lost = self.poll(0.05)
                for event in lost:
                    waiting.discard(event.executor_id)
                for wid, msg in messages:
                    if msg == protocol.Unpersisted(rdd_id):
                        waiting.discard(wid)
                    else:
                        self._idle_message(wid, msg)

    def _reap(self):
        """Before a job: account for workers lost while idle, drop stale replies."""
        for wid, msg in self.poll(0)[0]:
            self._idle_message(wid, msg)

    def _idle_message(self, wid, msg):
        """A worker's message outside a job: a late task report, or a late ack."""
        kind = type(msg)
        if kind is not protocol.TaskDone and kind is not protocol.TaskFailed:
            return  # e.g. the late Unpersisted of a wait that timed out
        state = self.executors.get(wid)
        if state is not None and state.running == msg.task_id:
            state.running = None
        if kind is protocol.TaskDone:
            self.note_blocks(wid, msg)

    def note_blocks(self, wid, done):
        """Record where cached partitions now live, and which were evicted."""
        for rdd_id, split, in_memory, on_disk in done.cached:
            self.cache_locs[(rdd_id, split)] = wid
            self.bus.post(events.BlockUpdated(wid, rdd_id, split, True, in_memory, on_disk,
                                              events.now()))
        for key in done.evicted:
            if self.cache_locs.get(tuple(key)) == wid:
                del self.cache_locs[tuple(key)]
                self.bus.post(events.BlockUpdated(wid, key[0], key[1], False, 0, 0, events.now()))
        by_address = {s.info.block_address: w for w, s in self.executors.items()}
        for rdd_id, split, address in done.replicas:
            holder = by_address.get(address)
            if holder is not None and holder != wid:
                self.replica_locs[(rdd_id, split)] = holder
                self.bus.post(events.BlockUpdated(holder, rdd_id, split, True, 0, 0, events.now()))

    def _release_shuffles(self):
        while self.released_shuffles:
            sid = self.released_shuffles.popleft()
            self.map_outputs.pop(sid, None)
            self.backend.broadcast(protocol.RemoveShuffle(sid))



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

Failure handling, the same for every backend:

* a task raising: retried until it failed ``max_failures`` times, then the
  job fails with the user's exception type, message and worker traceback;
* a worker lost (died, or silent past the heartbeat timeout): replaced; its
  running tasks are re-queued (at most ``max_worker_losses`` times each);
  its cached partitions and map outputs are forgotten, and recomputed from
  lineage when needed -- only those;
* a reduce task that cannot read a map output (``FetchFailedError``): that
  output is marked missing, the stage drains, its map stage re-runs for the
  missing partitions, then the stage resumes.

Results of a superseded attempt are ignored: exactly one result per
partition is kept, from the first attempt that reports it.
"""
import itertools
import pickle
import threading
import time
from collections import deque

from fastrdd import accumulators
from fastrdd.scheduler.closure import dumps_stage
from fastrdd.errors import JobFailedError, RemoteTraceback, TaskError, WorkerLostError
from fastrdd.scheduler.status import JobCancelledError, JobRegistry, StageRecord
from fastrdd.worker.runtime import decode_result

#: longest wait of ``unpersist(blocking=True)`` for the workers' answers
UNPERSIST_TIMEOUT = 60.0

__all__ = ["DAGScheduler"]


class DAGScheduler:
    """Runs jobs on a backend (see ``executor.LocalBackend`` for the contract)."""

    def __init__(self, backend, max_failures=1, locality_wait=0.2, max_worker_losses=4):
        self.backend = backend
        self.max_failures = max(1, int(max_failures))
        #: seconds a task waits for the busy worker that caches its input
        self.locality_wait = locality_wait
        self.max_worker_losses = max_worker_losses
        self.map_outputs = {}
        self.cache_locs = {}
        self._stage_ids = itertools.count()
        self._task_ids = itertools.count()
        #: shuffle ids whose RDDs were garbage collected (appended from finalizers)
        self.released_shuffles = deque()
        self.lock = threading.RLock()
        self.stage_count = 0
        self.task_count = 0
        #: jobs and stages, for the status tracker and cancellation
        self.registry = JobRegistry()
        #: a ProfilerCollector when spark.python.profile is on
        self.profiles = None

    # -- jobs ---------------------------------------------------------------
    def run_job(self, rdd, func, partitions, properties=None):
        """``func(split, iterator)`` on each partition; the list of its results."""
        job = self.registry.new_job(properties)
        try:
            with self.lock:
                self._release_shuffles()
                self._reap()
                results = self._run_job(job, rdd, func, list(partitions), properties)
        except BaseException:
            job.status = "FAILED"
            raise
        job.status = "SUCCEEDED"
        return results

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
        record = StageRecord(stage_id, f"{rdd._site[0]} at {rdd._site[1]}", len(todo))
        with self.registry.lock:
            self.registry.stages[stage_id] = record
            job.stage_ids.append(stage_id)
        node, members = self._build(rdd)
        deps = [r._shuffle_dep for r in members if r._shuffle_dep is not None]
        shuffle_ids = [dep.shuffle_id for dep in deps]
        # None marks an output not (or no longer) there: a task that needs it
        # reports a fetch failure and the map stage runs again
        locations = {dep.shuffle_id: [
            None if w is None else self.backend.location(w)
            for w in self.map_outputs.setdefault(dep.shuffle_id, [None] * dep.num_maps)]
            for dep in deps}
        blob = dumps_stage((kind, node, extra, locations))
        if any(getattr(r, "is_barrier", False) for r in members):
            if len(todo) > len(self.backend.workers):
                raise JobFailedError(
                    f"Barrier stage needs its {len(todo)} tasks to run at once, but there are "
                    f"only {len(self.backend.workers)} workers: coalesce() to at most that many "
                    f"partitions, or start more workers")
            properties = dict(properties or {}, **{"fastrdd.barrier.tasks": len(todo)})
        has_payload = any(r._has_payload for r in members)
        has_cache = any(r.is_cached for r in members)
        run = _StageRun(self, stage_id, kind, rdd, extra, blob, results, properties,
                        has_payload, has_cache, shuffle_ids, job, record)
        try:
            run.execute(todo)
        except BaseException as e:
            if not isinstance(e, Exception) or isinstance(e, JobCancelledError):
                # Ctrl-C or a cancel: stop the stage's running tasks now
                for wid in {w for _, w, _ in run.running.values()}:
                    self.backend.replace(wid)
                    self._forget_worker(wid)
            raise
        finally:
            record.done = True
            record.active = 0
            for handle in list(self.backend.workers.values()):
                if stage_id in handle.stages:
                    handle.stages.discard(stage_id)
                    self.backend.send(handle.wid, ("forget", stage_id))

    # -- bookkeeping --------------------------------------------------------
    def _forget_worker(self, wid):
        """Forget the cached partitions and map outputs held by ``wid``."""
        for key in [k for k, w in self.cache_locs.items() if w == wid]:
            del self.cache_locs[key]
        for outputs in self.map_outputs.values():
            for m, w in enumerate(outputs):
                if w == wid:
                    outputs[m] = None

    def preferred_worker(self, rdd, split):
        """The live worker caching an input of this partition, if any."""
        workers = self.backend.workers
        if rdd.is_cached:
            wid = self.cache_locs.get((rdd._id, split))
            if wid is not None and wid in workers:
                return wid
        for parent, parent_split in rdd._parent_splits(split):
            wid = self.preferred_worker(parent, parent_split)
            if wid is not None:
                return wid
        return None

    def unpersist(self, rdd_id, blocking=False):
        """Drop an RDD's blocks everywhere; with ``blocking``, until every live worker says so."""
        with self.lock:
            for key in [k for k in self.cache_locs if k[0] == rdd_id]:
                del self.cache_locs[key]
            waiting = {wid for wid in list(self.backend.workers)
                       if self.backend.send(wid, ("unpersist", rdd_id, blocking)) and blocking}
            deadline = time.monotonic() + UNPERSIST_TIMEOUT
            while waiting and time.monotonic() < deadline:
                for event in self.backend.poll(0.05):
                    if event[0] == "lost" or event[2] == ("unpersisted", rdd_id):
                        waiting.discard(event[1])
                    self._idle_event(event)

    def _reap(self):
        """Before a job: replace workers that died while idle, drop stale replies."""
        for event in self.backend.poll(0):
            self._idle_event(event)

    def _idle_event(self, event):
        """A worker's message or loss outside a job."""
        if event[0] == "lost":
            self._forget_worker(event[1])
            self.backend.replace(event[1])
            return
        wid, msg = event[1], event[2]
        if msg[0] not in ("done", "failed"):
            return  # e.g. the late "unpersisted" of a wait that timed out
        handle = self.backend.workers.get(wid)
        if handle is not None and handle.running == msg[1]:
            handle.running = None
        if msg[0] == "done":
            self._note_blocks(wid, msg[3])

    def _note_blocks(self, wid, info):
        """Record where cached partitions now live, and which were evicted."""
        for key in info["cached"]:
            self.cache_locs[tuple(key)] = wid
        for key in info["evicted"]:
            if self.cache_locs.get(tuple(key)) == wid:
                del self.cache_locs[tuple(key)]

    def _release_shuffles(self):
        while self.released_shuffles:
            sid = self.released_shuffles.popleft()
            self.map_outputs.pop(sid, None)
            for wid in list(self.backend.workers):
                self.backend.send(wid, ("remove_shuffle", sid))


class _StageRun:
    """The tasks of one stage attempt, until done, failed or drained."""

    def __init__(self, sched, stage_id, kind, rdd, extra, blob, results, properties,
                 has_payload, has_cache, shuffle_ids, job, record):
        self.sched = sched
        self.job = job
        #: counters the status tracker reads
        self.record = record
        self.backend = sched.backend
        self.stage_id = stage_id
        self.kind = kind
        self.rdd = rdd
        self.extra = extra
        self.blob = blob
        self.results = results
        self.properties = properties
        self.has_payload = has_payload
        self.has_cache = has_cache
        self.shuffle_ids = shuffle_ids
        #: task id -> (split, worker id, attempt number)
        self.running = {}
        self.failures = {}
        self.losses = {}
        self.launches = {}
        self.by_worker = {}
        self.free = deque()
        self.pending = set()
        self.failure = None
        #: a parent map output is missing: finish running tasks, then return
        self.draining = False
        self.last_launch = time.monotonic()

    def queue(self, split):
        self.pending.add(split)
        wid = None
        if self.has_cache:
            wid = self.sched.preferred_worker(self.rdd, split)
            if wid is None and self.backend.workers:
                # not cached anywhere yet: spread the partitions evenly, so that
                # the blocks (and every later job on them) are balanced across
                # workers, whichever worker happened to start first
                workers = sorted(self.backend.workers)
                wid = workers[split % len(workers)]
        if wid is None:
            self.free.append(split)
        else:
            self.by_worker.setdefault(wid, deque()).append(split)

    def pick(self, wid):
        for q in (self.by_worker.get(wid), self.free):
            while q:
                split = q.popleft()
                if split in self.pending:
                    return split
        waited = time.monotonic() - self.last_launch > self.sched.locality_wait
        for other, q in self.by_worker.items():
            if waited or other not in self.backend.workers:
                while q:
                    split = q.popleft()
                    if split in self.pending:
                        return split
        return None

    def execute(self, todo):
        for split in todo:
            self.queue(split)
        while (self.pending and not self.draining) or self.running:
            if not self.draining:
                self.launch()
            for event in self.backend.poll(0.2 if self.running else 0.02):
                if event[0] == "lost":
                    self.on_lost(event[1], event[2])
                else:
                    self.on_message(event[1], event[2])
            if self.failure is not None:
                raise self.failure
            if self.job.cancelled:
                raise JobCancelledError(f"Job {self.job.job_id} cancelled: {self.job.cancelled}")

    def launch(self):
        for handle in list(self.backend.workers.values()):
            if not self.pending:
                return
            if not handle.alive or handle.running is not None:
                continue
            split = self.pick(handle.wid)
            if split is None:
                continue
            self.pending.discard(split)
            if self.stage_id not in handle.stages:
                if not self.backend.send(handle.wid, ("stage", self.stage_id, self.blob)):
                    self.queue(split)
                    continue
                handle.stages.add(self.stage_id)
            tid = next(self.sched._task_ids)
            attempt = self.launches.get(split, 0)
            self.launches[split] = attempt + 1
            payloads = self.rdd._task_payloads(split) if self.has_payload else None
            msg = ("task", tid, self.stage_id, split, attempt, payloads, self.properties)
            if not self.backend.send(handle.wid, msg):
                self.queue(split)
                continue
            handle.running = tid
            self.running[tid] = (split, handle.wid, attempt)
            self.record.active += 1
            self.sched.task_count += 1
            self.last_launch = time.monotonic()

    def on_message(self, wid, msg):
        op, tid = msg[0], msg[1]
        handle = self.backend.workers.get(wid)
        if handle is not None and handle.running == tid:
            handle.running = None
        info = self.running.pop(tid, None)
        if info is not None:
            self.record.active -= 1
            if op == "done":
                self.record.completed += 1
            else:
                self.record.failed += 1
        if op == "done":
            extra = msg[3]
            self.sched._note_blocks(wid, extra)
            if info is None:
                return  # a superseded or earlier job's attempt
            split = info[0]
            accumulators.apply_updates(extra["updates"])
            if extra["profile"] is not None and self.sched.profiles is not None:
                self.sched.profiles.add_stats(self.rdd._id, extra["profile"])
            self.record.memory_bytes_spilled += extra["spilled"][0]
            self.record.disk_bytes_spilled += extra["spilled"][1]
            if self.kind == "map":
                self.sched.map_outputs[self.extra.shuffle_id][split] = wid
            else:
                self.results[split] = decode_result(msg[2])
        elif op == "failed":
            if info is None:
                return
            split = info[0]
            if msg[2] == "fetch":
                shuffle_id, map_id = msg[3]
                outputs = self.sched.map_outputs.get(shuffle_id)
                if outputs is not None:
                    outputs[map_id] = None
                self.pending.add(split)
                self.free.append(split)
                self.draining = True
                return
            if msg[2] == "corrupt":  # a spill file damaged underneath: recompute the task
                count = self.losses[split] = self.losses.get(split, 0) + 1
                if count > self.sched.max_worker_losses:
                    self.failure = WorkerLostError(f"task {split}: {msg[4]} ({count} times)")
                else:
                    self.queue(split)
                return
            count = self.failures[split] = self.failures.get(split, 0) + 1
            barrier = bool(self.properties and "fastrdd.barrier.tasks" in self.properties)
            if count >= self.sched.max_failures or barrier:
                self.failure = self.user_error(msg[3], msg[4], split, count)
            else:
                self.queue(split)

    def on_lost(self, wid, reason):
        lost = [tid for tid, (_, w, _) in self.running.items() if w == wid]
        self.sched._forget_worker(wid)
        self.backend.replace(wid)
        for tid in lost:
            split = self.running.pop(tid)[0]
            self.record.active -= 1
            self.record.failed += 1
            count = self.losses[split] = self.losses.get(split, 0) + 1
            if count > self.sched.max_worker_losses:
                self.failure = WorkerLostError(
                    f"task {split} of stage {self.stage_id} lost its worker {count} times; "
                    f"last time {reason}")
            else:
                self.queue(split)
        if any(None in self.sched.map_outputs.get(sid, ()) for sid in self.shuffle_ids):
            self.draining = True

    def user_error(self, error_blob, traceback_text, split, count):
        try:
            exc = pickle.loads(error_blob)
        except Exception as e:
            exc = JobFailedError(f"task {split} failed and its exception could not be read: {e}")
        if not isinstance(exc, BaseException):
            exc = TaskError(type(exc).__name__, str(exc))
        exc.__cause__ = RemoteTraceback(traceback_text)
        note = (f"(fastrdd: task {split} of stage {self.stage_id} failed {count} time(s); "
                f"the worker's traceback is shown above)")
        if hasattr(exc, "add_note"):
            exc.add_note(note)
        return exc

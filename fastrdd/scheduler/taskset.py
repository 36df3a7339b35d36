"""One stage attempt: its tasks, placed on executors, until done, failed or drained.

``StageRun.execute`` keeps every executor busy: it picks a pending
partition for each idle executor (preferring the one that caches its input,
for up to ``locality_wait`` s), sends the stage blob once per executor and
then a ``RunTask`` per partition, and reads the reports.  A lost worker's
tasks are queued again, unless its backend says the task most likely ended
it (a local process that crashed or hung): then that is a failure of the
task, as a raised exception is.  A lost map output drains the stage so that
the scheduler can recompute it first.
"""
import pickle
import time
from collections import deque

from fastrdd import accumulators, protocol
from fastrdd.errors import (JobCancelledError, JobFailedError, RemoteTraceback, TaskError,
                            TaskExitError, WorkerLostError)
from fastrdd.scheduler import events

__all__ = ["StageRun", "remote_traceback"]


def remote_traceback(frames, show_engine=False):
    """A real traceback of the worker's frames (tblib), without the engine's unless asked."""
    from tblib import Traceback

    kept, node = [], frames
    while node is not None:
        if show_engine or not node["tb_frame"]["f_globals"].get("__fastrdd_engine__"):
            kept.append(node)
        node = node.get("tb_next")
    if not kept:
        return None
    chain = None
    for node in reversed(kept):
        chain = {**node, "tb_next": chain}
    try:
        return Traceback.from_dict(chain).as_traceback()
    except Exception:  # an odd frame: the text traceback is still there
        return None

#: locality waits before a partition whose input has a second copy runs on a
#: worker holding neither copy (and recomputes it)
REPLICA_WAIT = 5


class StageRun:
    """The tasks of one stage attempt, until done, failed or drained."""

    def __init__(self, sched, stage_id, kind, rdd, extra, blob, results, properties,
                 has_payload, has_cache, shuffle_ids, job):
        self.sched = sched
        self.job = job
        self.bus = sched.bus
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
        #: task id -> (split, worker id, attempt number, launch time)
        self.running = {}
        self.failures = {}
        self.losses = {}
        self.launches = {}
        self.by_worker = {}
        self.free = deque()
        self.pending = set()
        self.failure = None
        #: split -> the worker holding a second copy of its cached input (``_2`` levels)
        self.second = {}
        #: a parent map output is missing: finish running tasks, then return
        self.draining = False
        self.last_launch = time.monotonic()

    def queue(self, split):
        self.pending.add(split)
        wid = None
        if self.has_cache:
            wid = self.sched.preferred_worker(self.rdd, split)
            second = self.sched.preferred_worker(self.rdd, split, self.sched.replica_locs)
            if second is not None:
                self.second[split] = second
            if wid is None and self.sched.executors:
                # not cached anywhere yet: spread the partitions evenly, so that
                # the blocks (and every later job on them) are balanced across
                # workers, whichever worker happened to start first
                workers = sorted(self.sched.executors)
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
        idle = time.monotonic() - self.last_launch
        waited = idle > self.sched.locality_wait
        if waited:
            # a busy (or silently dead) holder's partitions: first to the worker with
            # their second copy, to any other only after a longer wait
            for q in self.by_worker.values():
                for split in q:
                    if split in self.pending and self.second.get(split) == wid:
                        q.remove(split)
                        return split
        for other, q in self.by_worker.items():
            gone = other not in self.sched.executors
            if not (waited or gone):
                continue
            while q:
                split = q[0]
                if (not gone and split in self.second
                        and idle <= REPLICA_WAIT * self.sched.locality_wait):
                    break
                q.popleft()
                if split in self.pending:
                    return split
        return None

    def execute(self, todo):
        for split in todo:
            self.queue(split)
        while (self.pending and not self.draining) or self.running:
            if not self.draining:
                self.launch()
            messages, lost = self.sched.poll(0.2 if self.running else 0.02)
            for event in lost:
                self.on_lost(event.executor_id, event.reason, event.by_task)
            for wid, msg in messages:
                self.on_message(wid, msg)
            if self.failure is not None:
                raise self.failure
            if self.job.cancelled:
                raise JobCancelledError(f"Job {self.job.job_id} cancelled: {self.job.cancelled}")

    def launch(self):
        for wid, state in list(self.sched.executors.items()):
            if not self.pending:
                return
            if state.running is not None:
                continue
            split = self.pick(wid)
            if split is None:
                continue
            self.pending.discard(split)
            if self.stage_id not in state.stages:
                if not self.backend.send(wid, protocol.StageBlob(self.stage_id, self.blob)):
                    self.queue(split)
                    continue
                state.stages.add(self.stage_id)
            tid = next(self.sched._task_ids)
            attempt = self.launches.get(split, 0)
            self.launches[split] = attempt + 1
            payloads = self.rdd._task_payloads(split) if self.has_payload else None
            msg = protocol.RunTask(tid, self.stage_id, split, attempt, payloads, self.properties)
            if not self.backend.send(wid, msg):
                self.queue(split)
                continue
            state.running = tid
            self.last_launch = time.monotonic()
            self.running[tid] = (split, wid, attempt, self.last_launch)
            self.sched.task_count += 1
            self.bus.post(events.TaskStart(self.stage_id, tid, split, attempt, wid, events.now()))

    def on_message(self, wid, msg):
        kind = type(msg)
        if kind is not protocol.TaskDone and kind is not protocol.TaskFailed:
            return  # not about a task (a late Unpersisted...): never read as a result
        tid = msg.task_id
        state = self.sched.executors.get(wid)
        if state is not None and state.running == tid:
            state.running = None
        info = self.running.pop(tid, None)
        if kind is protocol.TaskDone:
            self.sched.note_blocks(wid, msg)
            if info is None:
                return  # a superseded or earlier job's attempt
            self.task_end(tid, info, "SUCCESS", protocol.TaskMetrics(*msg.metrics))
            split = info[0]
            accumulators.apply_updates(msg.updates)
            if msg.profile is not None and self.sched.profiles is not None:
                self.sched.profiles.add_stats(self.rdd._id, msg.profile)
            if self.kind == "map":
                self.sched.map_outputs[self.extra.shuffle_id][split] = wid
            else:
                self.results[split] = protocol.decode_result(msg.result)
            return
        if info is None:
            return
        split = info[0]
        if msg.kind == "fetch":
            self.task_end(tid, info, "FETCH_FAILED", error=_last_line(msg.traceback))
            shuffle_id, map_id = msg.error
            outputs = self.sched.map_outputs.get(shuffle_id)
            if outputs is not None:
                outputs[map_id] = None
            self.pending.add(split)
            self.free.append(split)
            self.draining = True
            return
        if msg.kind == "corrupt":  # a spill file damaged underneath: recompute the task
            self.task_end(tid, info, "CORRUPT", error=_last_line(msg.traceback))
            count = self.losses[split] = self.losses.get(split, 0) + 1
            if count > self.sched.max_worker_losses:
                self.failure = WorkerLostError(f"task {split}: {msg.traceback} ({count} times)")
            else:
                self.queue(split)
            return
        self.task_end(tid, info, "FAILED", error=_last_line(msg.traceback))
        count = self.failures[split] = self.failures.get(split, 0) + 1
        barrier = bool(self.properties and "fastrdd.barrier.tasks" in self.properties)
        if count >= self.sched.max_failures or barrier:
            self.failure = self.user_error(msg.error, msg.traceback, split, count)
        else:
            self.queue(split)

    def task_end(self, tid, info, status, metrics=protocol.NO_METRICS, error=None):
        split, wid, attempt, launched = info
        self.bus.post(events.TaskEnd(self.stage_id, tid, split, attempt, wid, status,
                                     time.monotonic() - launched, metrics, error, events.now()))

    def on_lost(self, wid, reason, by_task=False):
        """A worker is gone (the scheduler has forgotten it already): re-queue its tasks.

        ``by_task``: the worker ended on its own while running a task (a local
        process), which most likely ended it: re-running it for free would
        crash every replacement, so it counts as a failure of that task.
        """
        # partitions waiting for it go where their input is now (a second copy), if anywhere
        for split in self.by_worker.pop(wid, ()):
            if split in self.pending:
                self.pending.discard(split)
                self.queue(split)
        # placement changed: the locality wait starts again, or an idle worker would take
        # a re-queued partition from the worker that now holds its input
        self.last_launch = time.monotonic()
        lost = [tid for tid, info in self.running.items() if info[1] == wid]
        for tid in lost:
            info = self.running.pop(tid)
            self.task_end(tid, info, "LOST", error=f"worker {wid} lost: {reason}")
            split = info[0]
            if by_task:
                self.on_crash(split, wid, reason)
                continue
            count = self.losses[split] = self.losses.get(split, 0) + 1
            if count > self.sched.max_worker_losses:
                self.failure = WorkerLostError(
                    f"partition {split} of stage {self.stage_id} lost its worker {count} times; "
                    f"last time {reason}")
            else:
                self.queue(split)
        if any(None in self.sched.map_outputs.get(sid, ()) for sid in self.shuffle_ids):
            self.draining = True

    def on_crash(self, split, wid, reason):
        """The worker running ``split`` ended on its own: one failure of the task (as PySpark)."""
        count = self.failures[split] = self.failures.get(split, 0) + 1
        barrier = bool(self.properties and "fastrdd.barrier.tasks" in self.properties)
        if count < self.sched.max_failures and not barrier:
            self.queue(split)
            return
        self.failure = WorkerLostError(
            f"partition {split} of stage {self.stage_id} failed {count} time(s); the last time "
            f"its worker {wid} was lost while running it: {reason}. The task's code most likely "
            f"ended it (os._exit(), a crash in a C extension, a signal, a hang); a new worker has "
            f"taken its place. Attempts per task: local[N,F] or spark.task.maxFailures")

    def user_error(self, error, traceback_text, split, count):
        """The user's exception, with the worker's frames as its own traceback."""
        error_blob, frames = error
        try:
            exc = pickle.loads(error_blob)
        except Exception as e:
            exc = JobFailedError(f"task {split} failed and its exception could not be read: {e}")
        if not isinstance(exc, BaseException):
            exc = TaskError(type(exc).__name__, str(exc))
        elif not isinstance(exc, Exception):  # SystemExit, KeyboardInterrupt: not the driver's
            exc = exit_error(exc, split, self.stage_id)
        exc.__cause__ = RemoteTraceback(traceback_text)
        tb = remote_traceback(frames, self.sched.show_engine_frames)
        if tb is not None:
            exc = exc.with_traceback(tb)
        attempt = self.launches.get(split, 1) - 1
        note = (f"(fastrdd: partition {split} of stage {self.stage_id}, attempt {attempt}, "
                f"failed {count} time(s); the worker's frames are in the traceback, the whole "
                f"worker traceback is shown above)")
        if hasattr(exc, "add_note"):
            exc.add_note(note)
        return exc


def exit_error(exc, split, stage_id):
    """The ``TaskExitError`` standing for a task's SystemExit or KeyboardInterrupt."""
    name = type(exc).__name__
    where = f"partition {split} of stage {stage_id}"
    if isinstance(exc, SystemExit):
        return TaskExitError(f"{where} raised SystemExit({exc.code!r}): the task's code called "
                             f"sys.exit() or exit(); a task must return or raise an exception, "
                             f"not end its worker (the worker carries on)", name, exc.code)
    why = " (workers ignore Ctrl-C: the task's code raised it)" \
        if isinstance(exc, KeyboardInterrupt) else ""
    return TaskExitError(f"{where} raised {name}{why}; the worker carries on", name)


def _last_line(text):
    """The exception line of a traceback text (the last non-blank line), for the UI."""
    lines = [line for line in str(text or "").splitlines() if line.strip()]
    return lines[-1][:500] if lines else None

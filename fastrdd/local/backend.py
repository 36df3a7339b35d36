"""The local backend: a pool of persistent worker processes on this machine.

It implements ``scheduler.backend.SchedulerBackend`` and is only
transport: the scheduler decides what runs where; this module starts
workers, carries ``fastrdd.protocol`` messages to them and reports what they
send back, or that they are gone.

Each worker is a fresh interpreter (``python -m fastrdd.local.process``)
started with ``subprocess`` rather than ``fork``, so no lock or thread of
the driver is ever inherited half-held.  Driver and worker talk over a
private pair of pipes (``framing.py``); nothing else can write to them, so
nothing unauthenticated is ever unpickled.  The pool keeps its size: a
worker that dies, stops sending heartbeats or is removed is replaced by a
new process (a new executor id), reported as ``ExecutorAdded``.  A worker
that exits, is killed or hangs is reported ``ExecutorLost(by_task=True)``
with its exit code or signal: nothing outside the driver manages these
processes, so the task it was running most likely ended it, and that counts
as a failure of the task (``local[N,F]``), not a free re-run.

State per worker (``_Process``): its process, pipes, directory (shuffle
outputs and disk blocks, read by other workers through
``storage.blocks.LocalBlockReader``), and when it last spoke.
"""
import os
import shutil
import subprocess
import sys
import time

import fastrdd
from fastrdd import protocol
from fastrdd.local.framing import PipeReader, PipeWriter, wait_readable, widen_pipe
from fastrdd.scheduler.backend import (ExecutorAdded, ExecutorInfo, ExecutorLost, MessageReceived,
                                       SchedulerBackend)

__all__ = ["LocalBackend"]


class _Process:
    """The backend's view of one worker process."""

    def __init__(self, wid, proc, reader, writer, directory):
        self.wid = wid
        self.proc = proc
        self.reader = reader
        self.writer = writer
        self.directory = directory
        #: monotonic time of the last message (heartbeats included)
        self.last_seen = time.monotonic()
        self.alive = True
        #: its loss was already reported by poll()
        self.reported = False

    def info(self):
        return ExecutorInfo(self.wid, "localhost", self.proc.pid, 1, self.directory)


class LocalBackend(SchedulerBackend):
    """Worker processes on this machine, linked by pipes."""

    def __init__(self, num_workers, app_dir, env=None, heartbeat_timeout=60.0, spill_roots=()):
        super().__init__()
        self.num_workers = num_workers
        #: other local directories, where each worker also spills (spreads disk load)
        self.spill_roots = list(spill_roots)
        self.app_dir = app_dir
        self.env = env or {}
        self.heartbeat_timeout = heartbeat_timeout
        #: worker id -> _Process, live or lost-but-not-yet-reported
        self._workers = {}
        self._next_wid = 0
        #: replacements started since the last poll, reported as ExecutorAdded
        self._added = []

    # -- lifecycle -----------------------------------------------------
    def start(self):
        os.makedirs(self.app_dir, exist_ok=True)
        for _ in range(self.num_workers):
            self._spawn()

    def executors(self):
        return {wid: h.info() for wid, h in self._workers.items() if h.alive}

    def _spawn(self):
        wid = self._next_wid
        self._next_wid += 1
        directory = os.path.join(self.app_dir, f"worker-{wid}")
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        for fd in (to_worker_w, from_worker_w):
            widen_pipe(fd)
        env = dict(os.environ)
        env.update(self.env)
        env["PYTHONPATH"] = worker_path([os.path.join(self.app_dir, "files")])
        env["FASTRDD_APP_DIR"] = self.app_dir
        env["FASTRDD_SPILL_DIRS"] = ",".join(self._spill_dirs(wid, directory))
        env.setdefault("PYTHONHASHSEED", "0")  # one hash() for user classes in every worker
        # -S: the driver's sys.path (site-packages included) is passed whole,
        # so the worker skips re-running site and its .pth hooks at start-up
        cmd = [sys.executable, "-S", "-m", "fastrdd.local.process", "--fd-in", str(to_worker_r),
               "--fd-out", str(from_worker_w), "--worker-id", str(wid), "--dir", directory,
               "--driver-pid", str(os.getpid())]
        try:
            proc = subprocess.Popen(cmd, pass_fds=(to_worker_r, from_worker_w), env=env,
                                    stdin=subprocess.DEVNULL)
        finally:
            os.close(to_worker_r)
            os.close(from_worker_w)
        handle = _Process(wid, proc, PipeReader(from_worker_r), PipeWriter(to_worker_w), directory)
        self._workers[wid] = handle
        for msg in self.sticky:
            self.send(wid, msg)
        return handle

    def _spill_dirs(self, wid, directory):
        name = f"{os.path.basename(self.app_dir)}-worker-{wid}"
        return [os.path.join(directory, "spill")] + [os.path.join(r, name) for r in self.spill_roots]

    def _replace(self, wid):
        """Kill worker ``wid`` if needed, drop its files, start a new one."""
        self._retire(wid)
        self._added.append(self._spawn().wid)

    def remove_executor(self, executor_id, reason):
        if executor_id in self._workers:
            self._replace(executor_id)

    def _retire(self, wid):
        handle = self._workers.pop(wid, None)
        if handle is None:
            return
        handle.alive = False
        if handle.proc.poll() is None:
            handle.proc.kill()
        try:
            handle.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - an unkillable process
            pass
        for conn in (handle.reader, handle.writer):
            try:
                conn.close()
            except OSError:
                pass
        for d in self._spill_dirs(wid, handle.directory):
            shutil.rmtree(d, ignore_errors=True)
        shutil.rmtree(handle.directory, ignore_errors=True)

    def stop(self, grace=2.0):
        for handle in list(self._workers.values()):
            try:
                self._write(handle, protocol.Stop())
            except OSError:
                pass
        deadline = time.monotonic() + grace
        for handle in list(self._workers.values()):
            try:
                handle.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            self._retire(handle.wid)
        shutil.rmtree(self.app_dir, ignore_errors=True)

    # -- messages --------------------------------------------------------
    def _write(self, handle, msg):
        handle.writer.send_bytes(protocol.dumps(msg))

    def send(self, executor_id, message):
        handle = self._workers.get(executor_id)
        if handle is None or not handle.alive:
            return False
        try:
            self._write(handle, message)
            return True
        except OSError:
            handle.alive = False
            return False

    def poll(self, timeout):
        events = []
        by_reader = {h.reader: h for h in self._workers.values() if h.alive}
        ready = wait_readable(list(by_reader), timeout) if by_reader else []
        if not by_reader:
            time.sleep(min(timeout, 0.05))
        now = time.monotonic()
        for conn in ready:
            handle = by_reader[conn]
            # drain what is there without blocking on the next message
            while handle.alive:
                try:
                    msg = protocol.loads(conn.recv_bytes())
                except (EOFError, OSError):
                    handle.alive = False
                    break
                handle.last_seen = now
                if type(msg) not in (protocol.Heartbeat, protocol.Ready):
                    events.append(MessageReceived(handle.wid, msg))
                if not conn.poll(0):
                    break
        lost = []
        for handle in list(self._workers.values()):
            if handle.alive and handle.proc.poll() is not None:
                handle.alive = False
            if handle.alive and now - handle.last_seen > self.heartbeat_timeout:
                handle.proc.kill()
                handle.alive = False
                handle.reported = True
                lost.append(handle.wid)
                events.append(ExecutorLost(
                    handle.wid, f"process {handle.proc.pid} sent no heartbeat for "
                    f"{self.heartbeat_timeout:g} s (hung or stopped), so it was killed", True))
                continue
            if not handle.alive and not handle.reported:
                handle.reported = True
                lost.append(handle.wid)
                events.append(ExecutorLost(handle.wid, describe_exit(handle.proc), True))
        for wid in lost:  # the pool keeps its size
            self._replace(wid)
        events.extend(ExecutorAdded(self._workers[w].info()) for w in self._added
                      if w in self._workers)
        self._added = []
        return events


def worker_path(extra=()):
    """PYTHONPATH for workers: where fastrdd lives, then the driver's sys.path.

    Functions pickled by reference (defined in importable modules) resolve
    in the worker exactly as in the driver.
    """
    package_parent = os.path.dirname(fastrdd.PACKAGE_DIR)
    entries = [package_parent] + [p or os.getcwd() for p in sys.path] + [e for e in extra if e]
    return os.pathsep.join(dict.fromkeys(entries))


#: seconds a worker whose pipe closed is given to exit, so that its own exit
#: status (not our SIGKILL) is what the error reports
EXIT_WAIT = 2.0


def describe_exit(proc):
    """How a worker process whose pipe closed ended, in words for an error message."""
    try:
        code = proc.wait(timeout=EXIT_WAIT)
    except subprocess.TimeoutExpired:  # it closed its pipe but lives on: end it
        proc.kill()
        proc.wait()
        return f"process {proc.pid} closed its pipe to the driver, so it was killed"
    if code < 0:
        import signal

        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"process {proc.pid} exited unexpectedly (crashed): killed by {name}"
    return f"process {proc.pid} exited unexpectedly (crashed) with exit code {code}"

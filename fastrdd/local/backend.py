"""The local multicore backend: a pool of persistent worker processes.

This module is only transport.  The scheduler decides what runs where; a
backend starts workers, carries messages to them and reports what they
send back, or that they are gone.  A cluster backend (ZeroMQ) supplies the
same five calls: ``start``, ``send``, ``poll``, ``replace``, ``stop``.

Each worker is a fresh interpreter (``python -m fastrdd.local.process``) started
with ``subprocess`` rather than ``fork``, so no lock or thread of the driver
is ever inherited half-held.  Driver and worker talk over a private pair of
pipes (``pipes.py`` framing); nothing else can
write to them, so nothing unauthenticated is ever unpickled.

State per worker (``WorkerHandle``): its process, pipes, shuffle directory,
the stage ids whose blobs it holds, the task it runs, and when it last
spoke (for the heartbeat timeout).
"""
import os
import pickle
import shutil
import subprocess
import sys
import time

from fastrdd.local.framing import PipeReader, PipeWriter, wait_readable

__all__ = ["LocalBackend", "WorkerHandle"]


class WorkerHandle:
    """The driver's view of one worker process."""

    def __init__(self, wid, proc, reader, writer, directory):
        self.wid = wid
        self.proc = proc
        self.reader = reader
        self.writer = writer
        self.directory = directory
        #: stage ids whose blob this worker has been sent
        self.stages = set()
        #: id of the task it runs, or None when idle
        self.running = None
        #: the process said "ready"
        self.ready = False
        #: monotonic time of the last message (heartbeats included)
        self.last_seen = time.monotonic()
        self.alive = True
        #: its loss was already reported by poll()
        self.reported = False


class LocalBackend:
    """Worker processes on this machine, linked by pipes."""

    def __init__(self, num_workers, app_dir, env=None, heartbeat_timeout=60.0, spill_roots=()):
        self.num_workers = num_workers
        #: other local directories, where each worker also spills (spreads disk load)
        self.spill_roots = list(spill_roots)
        self.app_dir = app_dir
        self.env = env or {}
        self.heartbeat_timeout = heartbeat_timeout
        self.workers = {}
        self._next_wid = 0
        #: import path entries added since start (addPyFile), for replacement workers
        self.extra_paths = []

    # -- lifecycle -----------------------------------------------------
    def start(self):
        os.makedirs(self.app_dir, exist_ok=True)
        for _ in range(self.num_workers):
            self._spawn()

    def _spawn(self):
        wid = self._next_wid
        self._next_wid += 1
        directory = os.path.join(self.app_dir, f"worker-{wid}")
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        env = dict(os.environ)
        env.update(self.env)
        env["PYTHONPATH"] = worker_path(self.extra_paths + [env.get("FASTRDD_FILES_DIR", "")])
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
        handle = WorkerHandle(wid, proc, PipeReader(from_worker_r), PipeWriter(to_worker_w), directory)
        self.workers[wid] = handle
        return handle

    def _spill_dirs(self, wid, directory):
        name = f"{os.path.basename(self.app_dir)}-worker-{wid}"
        return [os.path.join(directory, "spill")] + [os.path.join(r, name) for r in self.spill_roots]

    def replace(self, wid):
        """Kill worker ``wid`` if needed, drop its files, start a new one."""
        self._retire(wid)
        return self._spawn()

    def _retire(self, wid):
        handle = self.workers.pop(wid, None)
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
        for handle in list(self.workers.values()):
            try:
                self._write(handle, ("stop",))
            except OSError:
                pass
        deadline = time.monotonic() + grace
        for handle in list(self.workers.values()):
            try:
                handle.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            self._retire(handle.wid)
        shutil.rmtree(self.app_dir, ignore_errors=True)

    def location(self, wid):
        """Where worker ``wid`` keeps its map outputs (read directly by reducers)."""
        return self.workers[wid].directory

    # -- messages --------------------------------------------------------
    def _write(self, handle, msg):
        handle.writer.send_bytes(pickle.dumps(msg, protocol=5))

    def send(self, wid, msg):
        """Send ``msg``; False if the worker is gone (a "lost" event follows)."""
        handle = self.workers.get(wid)
        if handle is None or not handle.alive:
            return False
        try:
            self._write(handle, msg)
            return True
        except OSError:
            handle.alive = False
            return False

    def poll(self, timeout):
        """Wait up to ``timeout`` s; return [("msg", wid, msg) | ("lost", wid, reason)]."""
        events = []
        by_reader = {h.reader: h for h in self.workers.values() if h.alive}
        ready = wait_readable(list(by_reader), timeout) if by_reader else []
        if not by_reader:
            time.sleep(min(timeout, 0.05))
        now = time.monotonic()
        for conn in ready:
            handle = by_reader[conn]
            # drain what is there without blocking on the next message
            while handle.alive:
                try:
                    msg = pickle.loads(conn.recv_bytes())
                except (EOFError, OSError):
                    handle.alive = False
                    break
                handle.last_seen = now
                if msg[0] == "ready":
                    handle.ready = True
                elif msg[0] != "hb":
                    events.append(("msg", handle.wid, msg))
                if not conn.poll(0):
                    break
        for handle in list(self.workers.values()):
            if handle.alive and handle.proc.poll() is not None:
                handle.alive = False
            if handle.alive and now - handle.last_seen > self.heartbeat_timeout:
                handle.proc.kill()
                handle.alive = False
                handle.reported = True
                reason = f"no heartbeat for {self.heartbeat_timeout:g} s (hung or stopped)"
                events.append(("lost", handle.wid, reason))
                continue
            if not handle.alive and not handle.reported:
                handle.reported = True
                code = handle.proc.poll()
                if code is None:
                    handle.proc.kill()
                    code = handle.proc.wait()
                events.append(("lost", handle.wid, describe_exit(code)))
        return events


def worker_path(extra=()):
    """PYTHONPATH for workers: where fastrdd lives, then the driver's sys.path.

    Functions pickled by reference (defined in importable modules) resolve
    in the worker exactly as in the driver.
    """
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    entries = [package_parent] + [p or os.getcwd() for p in sys.path] + [e for e in extra if e]
    return os.pathsep.join(dict.fromkeys(entries))


def describe_exit(code):
    if code is None:
        return "its connection closed"
    if code < 0:
        import signal

        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"it was killed by {name}"
    return f"it exited with code {code}"

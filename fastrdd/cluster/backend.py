"""The cluster backend: the driver's end of ZeroMQ links to ``fastrdd-worker`` processes.

::

    scheduler thread                 I/O thread (owns every socket)          workers
    send(eid, msg) --queue+pipe-->   ROUTER tcp://HOST:PORT  <--DEALER--  fastrdd-worker
    poll() <------- events queue --  verify -> HELLO? handshake           (one per slot)
                                     else protocol.loads -> MessageReceived
                                     heartbeats out, silence -> ExecutorLost
    BlockServer (thread): the driver's broadcast values and added files

It implements ``scheduler.backend.SchedulerBackend``, so the scheduler
drives it exactly as it drives the local process pool.  Workers connect to
the driver (there is no master process: SSH, Slurm or Kubernetes start
them; see the README's "Cluster" section); the context waits at start for
``fastrdd.cluster.minWorkers`` of them.  A worker's frames are checked by
``security`` before anything is decoded; until its HELLO (JSON) has been
accepted, nothing it sends is unpickled.  The driver cannot start workers:
``remove_executor`` asks one to go (its supervisor restarts it, as a
cluster manager would), and new or restarted workers are ``ExecutorAdded``.

State (I/O thread, under ``_lock`` where the scheduler reads it):
``_remotes`` executor id -> _Remote (routing identity, ExecutorInfo, last
heard); ``_by_identity`` the reverse map; ``_outbox`` (routing identity,
bytes) to send, filled by any thread, emptied by the I/O thread.
"""
import itertools
import os
import queue
import sys
import threading
import time

import zmq

from fastrdd import protocol
from fastrdd.cluster import handshake
from fastrdd.cluster.blocks import BlockServer
from fastrdd.cluster.security import Security, token_path
from fastrdd.storage.blocks import DRIVER_AREAS
from fastrdd.scheduler.backend import (ExecutorAdded, ExecutorInfo, ExecutorLost, MessageReceived,
                                       SchedulerBackend)

__all__ = ["ClusterBackend"]

#: seconds between the driver's heartbeats to each worker (a worker that
#: hears nothing for its timeout drops the driver's state)
HEARTBEAT_INTERVAL = 1.0


class _Remote:
    __slots__ = ("identity", "info", "last_seen")

    def __init__(self, identity, info):
        self.identity = identity
        self.info = info
        self.last_seen = time.monotonic()


class ClusterBackend(SchedulerBackend):
    """Workers on any host, linked to this driver by ZeroMQ."""


    def __init__(self, host, port, app_dir, min_workers=1, wait_timeout=60.0,
                 heartbeat_timeout=10.0, keys_dir=None, settings=None):
        super().__init__()
        self.host = host
        self.port = port
        self.app_dir = app_dir
        self.min_workers = min_workers
        self.wait_timeout = wait_timeout
        self.heartbeat_timeout = heartbeat_timeout
        self.keys_dir = keys_dir
        #: worker settings the driver's conf decides (spill compression...)
        self.settings = settings or {}
        self._lock = threading.Lock()
        self._joined = threading.Condition(self._lock)
        self._remotes = {}
        self._by_identity = {}
        self._ids = itertools.count()
        self._events = queue.Queue()
        self._outbox = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._thread = None
        self.context = None
        self.security = None
        #: HELLOs refused (version mismatch), for logs and tests
        self.refused = []

    # -- lifecycle ------------------------------------------------------------
    def start(self):
        self.security = Security.for_driver(self.host, self.port, self.keys_dir)
        self.context = zmq.Context()
        roots = {sub: os.path.join(self.app_dir, sub)
                 for sub in ("broadcast", "files", *DRIVER_AREAS)}
        for directory in roots.values():
            os.makedirs(directory, exist_ok=True)
        self.block_server = BlockServer(self.context, self.security, self.host, roots=roots)
        self.block_server.start()
        self.socket = self.context.socket(zmq.ROUTER)
        self.socket.linger = 0
        self.security.server(self.socket, self.context)
        try:
            self.socket.bind(f"tcp://{self.host}:{self.port}")
        except zmq.ZMQError as e:
            self.stop()
            raise OSError(f"cannot listen on {self.host}:{self.port} for workers: {e}") from e
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._loop, name="fastrdd-cluster-io", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.wait_timeout
        with self._joined:
            while len(self._remotes) < self.min_workers:
                left = deadline - time.monotonic()
                if left <= 0:
                    have = len(self._remotes)
                    break
                self._joined.wait(min(left, 0.5))
            else:
                have = None
        if have is not None:
            self.stop()
            raise TimeoutError(
                f"only {have} of {self.min_workers} workers connected to {self.host}:{self.port} "
                f"within {self.wait_timeout:g} s; start them with `fastrdd-worker --driver "
                f"{self.host}:{self.port}` (fastrdd.cluster.minWorkers sets how many to wait for)")
        # the ones present now are executors(), not events
        self._events = queue.Queue()

    def stop(self):
        if self._thread is not None:
            for eid in list(self._remotes):
                self.send(eid, protocol.Stop())
            time.sleep(0.05)  # let the I/O thread send them
            self._stopping.set()
            os.write(self._wake_w, b"x")
            self._thread.join(5)
            self._thread = None
            os.close(self._wake_r)
            os.close(self._wake_w)
        if getattr(self, "block_server", None) is not None:
            self.block_server.stop()
            self.block_server.join(2)
        if self.security is not None:
            self.security.close()
            if self.security.mode == "token":
                try:
                    os.unlink(token_path(self.port))
                except FileNotFoundError:
                    pass
        if self.context is not None:
            self.context.destroy(linger=0)
            self.context = None

    def executors(self):
        with self._lock:
            return {eid: r.info for eid, r in self._remotes.items()}

    # -- messages -------------------------------------------------------------
    def send(self, executor_id, message):
        with self._lock:
            remote = self._remotes.get(executor_id)
        if remote is None:
            return False
        self._outbox.put((remote.identity, protocol.dumps(message)))
        os.write(self._wake_w, b"x")
        return True

    def poll(self, timeout):
        try:
            events = [self._events.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                events.append(self._events.get_nowait())
            except queue.Empty:
                return events

    def remove_executor(self, executor_id, reason):
        self.send(executor_id, protocol.Stop())
        with self._lock:
            remote = self._remotes.pop(executor_id, None)
            if remote is not None:
                self._by_identity.pop(remote.identity, None)

    # -- the I/O thread -------------------------------------------------------
    def _loop(self):
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLIN)
        poller.register(self._wake_r, zmq.POLLIN)
        last_beat = 0.0
        try:
            while not self._stopping.is_set():
                ready = dict(poller.poll(100))
                if self.socket in ready:
                    self._receive()
                if self._wake_r in ready:
                    os.read(self._wake_r, 65536)
                self._flush()
                now = time.monotonic()
                if now - last_beat >= HEARTBEAT_INTERVAL:
                    last_beat = now
                    self._beat(now)
            self._flush()
        finally:
            self.socket.close(0)

    def _send_raw(self, identity, payload):
        self.socket.send_multipart([identity, *self.security.sign(payload)], copy=False)

    def _flush(self):
        while True:
            try:
                identity, payload = self._outbox.get_nowait()
            except queue.Empty:
                return
            self._send_raw(identity, payload)

    def _receive(self):
        while True:
            try:
                frames = self.socket.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            identity = bytes(frames[0])
            parts = self.security.verify(frames[1:], 1)
            if parts is None:
                continue  # not authenticated: dropped unread
            payload = parts[0]
            with self._lock:
                eid = self._by_identity.get(identity)
                remote = self._remotes.get(eid) if eid is not None else None
            if remote is None:
                self._handshake(identity, payload)
                continue
            remote.last_seen = time.monotonic()
            if handshake.is_handshake(payload):
                continue  # a repeated HELLO of a worker that already joined
            message = protocol.loads(payload)  # from an authenticated, registered worker
            if type(message) is not protocol.Heartbeat:
                self._events.put(MessageReceived(eid, message))

    def _handshake(self, identity, payload):
        hello = handshake.decode(payload)
        if hello is None or hello.get("kind") != "hello":
            # a worker's first words are a HELLO: anything else is never decoded
            self.security.reject("not a HELLO from an unregistered peer")
            return
        where = f"worker {hello.get('host')} (pid {hello.get('pid')})"
        reason = handshake.mismatch(hello.get("versions"), where)
        if reason is not None:
            self.refused.append(reason)
            print(f"fastrdd: refused {where}: {reason}", file=sys.stderr)
            self._send_raw(identity, handshake.refused(reason))
            return
        eid = next(self._ids)
        info = ExecutorInfo(eid, str(hello.get("host")), int(hello.get("pid", 0)), 1,
                            str(hello.get("block_address")))
        self._send_raw(identity, handshake.welcome(eid, self.block_server.address,
                                                   self.heartbeat_timeout, self.settings))
        with self._joined:
            self._remotes[eid] = _Remote(identity, info)
            self._by_identity[identity] = eid
            self._joined.notify_all()
        for message in self.sticky:  # added files and paths, before any task
            self._send_raw(identity, protocol.dumps(message))
        self._events.put(ExecutorAdded(info))

    def _beat(self, now):
        beat = protocol.dumps(protocol.Heartbeat())
        lost = []
        with self._lock:
            for eid, remote in list(self._remotes.items()):
                if now - remote.last_seen > self.heartbeat_timeout:
                    del self._remotes[eid]
                    self._by_identity.pop(remote.identity, None)
                    lost.append(eid)
                else:
                    self._send_raw(remote.identity, beat)
        for eid in lost:
            self._events.put(ExecutorLost(
                eid, f"no heartbeat for {self.heartbeat_timeout:g} s (the worker died, hung, or "
                     f"its host is unreachable)"))

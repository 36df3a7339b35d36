"""Blocks between hosts: a server thread on every node, and the fetcher tasks read through.

::

    reduce task (worker B)                              worker A's BlockServer
    ClusterBlockFetcher.shuffle_regions --REGION s m r n-->  ROUTER: pread the region
        up to MAX_IN_FLIGHT requests,  <--[id, ok, bytes]--  of shuffle_s_m.data
        MAX_BUFFERED bytes held
    Broadcast.value / SparkFiles   --FILE broadcast x-->  the driver's BlockServer

Every node runs one ``BlockServer``: a worker serves the map outputs in
its directory, the driver its broadcast values and added files.  Requests
and replies are msgpack headers plus raw bytes, never pickles, so a server
runs no code of its peers; in token mode each frame is HMAC-checked anyway
(``security``), in curve mode only authenticated peers connect.

Back-pressure: a reduce task asks for the regions of many map outputs at
once, but never has more than ``MAX_IN_FLIGHT`` requests outstanding nor
more than ``MAX_BUFFERED`` bytes received and not yet consumed; it yields
regions in map order.  A peer that does not answer within the fetch
timeout, or answers that the output is missing, turns into
``FetchFailedError``: the scheduler recomputes that map output only.
"""
import os
import shutil
import threading
import time

import msgpack
import zmq

from fastrdd.errors import FetchFailedError
from fastrdd.storage.blocks import (DRIVER_AREAS, BlockFetcher, read_shuffle_region, store_block,
                                    write_whole)

__all__ = ["BlockServer", "ClusterBlockFetcher", "parse_address", "format_address"]

#: requests a reduce task keeps outstanding: enough to hide a round trip per
#: map output, few enough that one slow peer does not hold many regions
MAX_IN_FLIGHT = 16
#: bytes of fetched regions a task may hold before it asks for more
MAX_BUFFERED = 64 << 20
#: file kinds a BlockServer hands out, and the directory each lives in
FILE_KINDS = ("broadcast", "files")


def format_address(endpoint, public_key=None):
    """A block address: ``tcp://host:port``, with ``|<server public key>`` under CURVE."""
    return endpoint if public_key is None else f"{endpoint}|{public_key.decode()}"


def parse_address(address):
    """(endpoint, server public key or None) of a block address."""
    endpoint, _, key = address.partition("|")
    return endpoint, (key.encode() if key else None)


class BlockServer(threading.Thread):
    """Serves shuffle regions of ``directory`` and files of ``roots`` to authenticated peers."""

    def __init__(self, context, security, host, directory=None, roots=None):
        super().__init__(name="fastrdd-block-server", daemon=True)
        self.security = security
        #: where this node's map outputs are (a worker), or None (the driver)
        self.directory = directory
        #: {"broadcast": dir, "files": dir} on the driver
        self.roots = roots or {}
        self.socket = context.socket(zmq.ROUTER)
        self.socket.linger = 0
        security.server(self.socket, context)
        port = self.socket.bind_to_random_port(f"tcp://{host}")
        self.endpoint = f"tcp://{host}:{port}"
        self.address = format_address(self.endpoint, security.public)
        self._stopping = threading.Event()

    def run(self):
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLIN)
        try:
            while not self._stopping.is_set():
                if not poller.poll(100):
                    continue
                frames = self.socket.recv_multipart(copy=False)
                parts = self.security.verify(frames[1:], 2)
                if parts is None:
                    continue  # not authenticated: dropped unread
                header, data = self.serve(*parts)
                self.socket.send_multipart([frames[0], *self.security.sign(header, data)],
                                           copy=False)
        except zmq.ContextTerminated:
            pass
        finally:
            self.socket.close(0)

    def serve(self, request, body=b""):
        """(msgpack header [request id, error or None], data) for one request."""
        try:
            req = msgpack.unpackb(request)
            rid, kind = req[0], req[1]
        except Exception:
            return msgpack.packb([None, "malformed request"]), b""
        try:
            if kind == "region" and self.directory is not None:
                _, _, shuffle_id, map_id, reduce_id, num_reduces = req
                data = read_shuffle_region(self.directory, int(shuffle_id), int(map_id),
                                           int(reduce_id), int(num_reduces))
            elif kind == "file" and req[2] in self.roots:
                data = self._read_file(self.roots[req[2]], req[3])
            elif kind == "put" and self.directory is not None:
                if not store_block(self.directory, _plain_name(req[2]), body):
                    return msgpack.packb([rid, "could not store the block"]), b""
                data = b""
            elif kind == "publish" and req[2] in DRIVER_AREAS and req[2] in self.roots:
                write_whole(self.roots[req[2]], _plain_name(req[3]), body)
                data = b""
            else:
                return msgpack.packb([rid, f"unknown request {kind!r}"]), b""
        except (FetchFailedError, OSError) as e:
            return msgpack.packb([rid, str(e)]), b""
        return msgpack.packb([rid, None]), data

    @staticmethod
    def _read_file(root, name):
        with open(os.path.join(root, _plain_name(name)), "rb") as f:
            return f.read()

    def stop(self):
        self._stopping.set()


class ClusterBlockFetcher(BlockFetcher):
    """A worker's reads of other nodes' blocks, over ZeroMQ (used by its task thread only)."""

    def __init__(self, context, security, directory, own_address, driver_address, timeout):
        self.context = context
        self.security = security
        #: this worker's own directory: its map outputs are read in place
        self.directory = directory
        self.own_address = own_address
        self.driver_address = driver_address
        #: seconds without an answer before a peer counts as lost
        self.timeout = timeout
        self._sockets = {}
        self._next_id = 0
        self._files = os.path.join(directory, "files")
        self._broadcasts = os.path.join(directory, "broadcast")
        os.makedirs(self._files, exist_ok=True)
        os.makedirs(self._broadcasts, exist_ok=True)

    def _socket(self, address):
        sock = self._sockets.get(address)
        if sock is None:
            endpoint, key = parse_address(address)
            sock = self.context.socket(zmq.DEALER)
            sock.linger = 0
            self.security.client(sock, key)
            sock.connect(endpoint)
            self._sockets[address] = sock
        return sock

    def _drop(self, address):
        sock = self._sockets.pop(address, None)
        if sock is not None:
            sock.close(0)

    def _request(self, address, *fields, body=b""):
        rid = self._next_id
        self._next_id += 1
        self._socket(address).send_multipart(
            self.security.sign(msgpack.packb([rid, *fields]), body), copy=False)
        return rid

    def _replies(self, sockets, wait):
        """(address, request id, error, data) of the replies that arrive within ``wait`` s."""
        poller = zmq.Poller()
        for sock in sockets:
            poller.register(sock, zmq.POLLIN)
        by_sock = {sock: address for address, sock in self._sockets.items()}
        out = []
        for sock, _ in poller.poll(int(wait * 1000)):
            while True:
                try:
                    frames = sock.recv_multipart(zmq.NOBLOCK, copy=False)  # hashed in place
                except zmq.Again:
                    break
                parts = self.security.verify(frames, 2)
                if parts is None:
                    continue
                rid, error = msgpack.unpackb(parts[0])
                out.append((by_sock[sock], rid, error, parts[1]))
        return out

    # -- shuffle regions --------------------------------------------------------
    def shuffle_region(self, address, shuffle_id, map_id, reduce_id, num_reduces):
        return next(self.shuffle_regions([(address, shuffle_id, map_id, reduce_id, num_reduces)]))

    def shuffle_regions(self, requests):
        """The regions of ``requests`` (as for ``shuffle_region``), in order, pipelined."""
        pending = list(requests)
        asked = {}       # request id -> position
        received = {}    # position -> bytes
        sent_at = {}     # position -> time asked
        buffered = 0
        next_to_ask = next_to_yield = 0
        while next_to_yield < len(pending):
            while (next_to_ask < len(pending) and len(asked) < MAX_IN_FLIGHT
                   and buffered < MAX_BUFFERED):
                address, shuffle_id, map_id, reduce_id, num_reduces = pending[next_to_ask]
                if address == self.own_address:
                    data = read_shuffle_region(self.directory, shuffle_id, map_id, reduce_id,
                                               num_reduces)
                    received[next_to_ask] = data
                    buffered += len(data)
                else:
                    rid = self._request(address, "region", shuffle_id, map_id, reduce_id,
                                        num_reduces)
                    asked[rid] = next_to_ask
                    sent_at[next_to_ask] = time.monotonic()
                next_to_ask += 1
            if next_to_yield in received:
                data = received.pop(next_to_yield)
                buffered -= len(data)
                next_to_yield += 1
                yield data
                continue
            waiting = {pending[p][0] for p in asked.values()}
            for address, rid, error, data in self._replies(
                    [self._socket(a) for a in waiting], 0.2):
                position = asked.pop(rid, None)
                if position is None:
                    continue  # a reply to a request of an earlier, abandoned read
                if error is not None:
                    _, shuffle_id, map_id, _, _ = pending[position]
                    raise FetchFailedError(shuffle_id, map_id, f"{address}: {error}")
                received[position] = data
                buffered += len(data)
            oldest = min((sent_at[p] for p in asked.values()), default=None)
            if oldest is not None and time.monotonic() - oldest > self.timeout:
                position = min(asked.values(), key=lambda p: sent_at[p])
                address, shuffle_id, map_id, _, _ = pending[position]
                self._drop(address)  # a fresh connection if it comes back
                raise FetchFailedError(shuffle_id, map_id,
                                       f"{address} did not answer within {self.timeout:g} s")

    def _call(self, address, *fields, body=b""):
        """One request and its answer: (error or None, data), or OSError after the timeout."""
        rid = self._request(address, *fields, body=body)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            for _, got, error, data in self._replies([self._socket(address)], 0.2):
                if got == rid:
                    return error, data
        self._drop(address)
        raise OSError(f"{address} did not answer {fields[0]} within {self.timeout:g} s")

    # -- blocks placed on peers ---------------------------------------------------
    def put_block(self, address, name, data):
        if address == self.own_address:
            return store_block(self.directory, name, data)
        try:
            error, _ = self._call(address, "put", name, body=data)
        except OSError:
            return False
        return error is None

    # -- the driver's areas (barrier, checkpoint) ---------------------------------
    def driver_put(self, area, name, data):
        error, _ = self._call(self.driver_address, "publish", area, name, body=data)
        if error is not None:
            raise OSError(f"{area} {name!r} on the driver: {error}")

    def driver_get(self, area, name):
        error, data = self._call(self.driver_address, "file", area, name)
        return None if error is not None else data

    # -- files from the driver --------------------------------------------------
    def _fetch_file(self, kind, name, target):
        error, data = self._call(self.driver_address, "file", kind, name)
        if error is not None:
            raise FileNotFoundError(f"{kind} {name!r} from the driver: {error}")
        with open(f"{target}.tmp", "wb") as f:
            f.write(data)
        os.replace(f"{target}.tmp", target)
        return target

    def broadcast_path(self, broadcast_id):
        name = f"broadcast_{broadcast_id}.pkl"
        target = os.path.join(self._broadcasts, name)
        if not os.path.exists(target):
            self._fetch_file("broadcast", name, target)
        return target

    def files_dir(self):
        return self._files

    def file_added(self, name, archive):
        if archive:
            packed = self._fetch_file("files", f"{name}.archive",
                                      os.path.join(self._files, f"{name}.archive"))
            unpacked = os.path.join(self._files, f"{name}.unpacked")
            shutil.unpack_archive(packed, unpacked, format=_archive_format(name))
            target = os.path.join(self._files, name)
            shutil.rmtree(target, ignore_errors=True)
            os.rename(unpacked, target)
        else:
            self._fetch_file("files", name, os.path.join(self._files, name))

    def close(self):
        for address in list(self._sockets):
            self._drop(address)


def _plain_name(name):
    """``name`` if it is a plain file name, never a path that climbs out of its directory."""
    if not isinstance(name, str) or os.path.basename(name) != name or name in ("", ".", ".."):
        raise OSError(f"refused file name {name!r}")
    return name


def _archive_format(name):
    """shutil's format for an archive name (the driver keeps it as ``NAME.archive``)."""
    for fmt, extensions, _ in shutil.get_unpack_formats():
        if any(name.endswith(ext) for ext in extensions):
            return fmt
    return None

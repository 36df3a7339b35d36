"""Length-prefixed messages over a pair of OS pipes (driver <-> local worker).

A message is an 8-byte little-endian length followed by that many bytes.
This is all ``multiprocessing.connection`` would give us, without its
import cost (about 25 ms, paid by every worker at start-up).  The pipes are
private to one driver and one worker, so nothing that arrives on them comes
from an unauthenticated peer.
"""
import os
import select
import struct

__all__ = ["PipeReader", "PipeWriter", "wait_readable", "widen_pipe"]

#: bytes a pipe holds before its writer waits (Linux default: 64 KiB)
PIPE_BYTES = 1 << 20

_HEADER = struct.Struct("<Q")


class PipeReader:
    """The receiving end: ``recv_bytes()`` returns one whole message."""

    def __init__(self, fd):
        self.fd = fd

    def fileno(self):
        return self.fd

    def _read_exact(self, n):
        buf = bytearray(n)
        view = memoryview(buf)
        pos = 0
        while pos < n:
            got = os.readv(self.fd, [view[pos:]])
            if got == 0:
                raise EOFError("the other end of the pipe closed")
            pos += got
        return buf

    def recv_bytes(self):
        (length,) = _HEADER.unpack(self._read_exact(_HEADER.size))
        return self._read_exact(length)

    def poll(self, timeout=0.0):
        """True if a read would not block (data or end of file)."""
        return bool(select.select([self.fd], [], [], timeout)[0])

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class PipeWriter:
    """The sending end: ``send_bytes(data)`` writes one whole message."""

    def __init__(self, fd):
        self.fd = fd

    def fileno(self):
        return self.fd

    def send_bytes(self, data):
        view = memoryview(data).cast("B")
        chunks = [_HEADER.pack(len(view)), view]
        total = _HEADER.size + len(view)
        sent = os.writev(self.fd, chunks)
        while sent < total:  # a large message goes in several writes
            if sent < _HEADER.size:
                rest = [chunks[0][sent:], view]
            else:
                rest = [view[sent - _HEADER.size:]]
            sent += os.writev(self.fd, rest)

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def wait_readable(readers, timeout):
    """The readers among ``readers`` that can be read without blocking."""
    poller = select.poll()
    by_fd = {}
    for reader in readers:
        by_fd[reader.fileno()] = reader
        poller.register(reader.fileno(), select.POLLIN)
    events = poller.poll(None if timeout is None else int(timeout * 1000))
    return [by_fd[fd] for fd, _ in events]


def widen_pipe(fd, size=PIPE_BYTES):
    """Give a pipe a 1 MiB buffer where the OS allows (Linux ``F_SETPIPE_SZ``).

    A task's slice of a parallelized collection can be megabytes: through a
    64 KiB pipe the driver and the worker take turns every 64 KiB, and the
    driver launches the next task only when the last byte is in.
    """
    import fcntl

    setsize = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setsize is None:
        return
    try:
        fcntl.fcntl(fd, setsize, size)
    except OSError:  # above /proc/sys/fs/pipe-max-size, or an old kernel: keep the default
        pass

"""The one seam through which a worker reads what it does not hold itself.

::

    reduce task --shuffle_region(address, ...)--> BlockFetcher --> the map output
    Broadcast.value --broadcast_path(id)-------->             --> the driver's value
    SparkFiles.get --files_dir()---------------->             --> files added by the driver
    barrier, localCheckpoint --driver_put/get--->             --> the driver's areas

A worker's own data (its cached partitions, its spill runs, the map
outputs it writes) is on its own disk and read directly.  Everything that
lives elsewhere -- another worker's map outputs, the driver's broadcast
values and added files -- is read through a ``BlockFetcher`` given to the
worker when it starts.  ``LocalBlockFetcher`` serves workers on the
driver's machine: every such place is a local path, so it reads files in
place (``pread`` of a shuffle region on tmpfs: no copy, no socket).  A
cluster worker gets a fetcher that asks the peer holding the data.

Block addresses are what ``scheduler.backend.ExecutorInfo.block_address``
says; for local workers, their directory.
"""
import abc
import os
import struct

from fastrdd.errors import FetchFailedError

__all__ = ["BlockFetcher", "LocalBlockFetcher", "map_output_name", "shuffle_file_prefix",
           "read_shuffle_region", "store_block", "write_whole", "set_fetcher", "fetcher",
           "DRIVER_AREAS"]


#: the driver's areas that tasks write to and read from: barrier rendezvous
#: messages, the partitions of localCheckpoint(), and slices of parallelized
#: collections too big to travel with each task (``protocol.PayloadRef``)
DRIVER_AREAS = ("barrier", "checkpoint", "payload")


def _area(area):
    if area not in DRIVER_AREAS:
        raise ValueError(f"no driver area {area!r}: one of {DRIVER_AREAS}")
    return area


def shuffle_file_prefix(shuffle_id):
    return f"shuffle_{shuffle_id}_"


def map_output_name(shuffle_id, map_id):
    """The file name of a map output in its worker's directory."""
    return f"{shuffle_file_prefix(shuffle_id)}{map_id}.data"


class BlockFetcher(abc.ABC):
    """Reads data held by another worker or by the driver."""

    @abc.abstractmethod
    def shuffle_region(self, address, shuffle_id, map_id, reduce_id, num_reduces):
        """The bytes of reduce partition ``reduce_id`` in map output ``map_id``.

        ``address`` is the block address of the worker that wrote it.  Raises
        ``FetchFailedError`` when the output cannot be read (its worker is
        gone, the file is missing or short): the scheduler then recomputes it.
        """

    def shuffle_regions(self, requests):
        """The regions of ``requests`` (``shuffle_region``'s arguments), in order.

        A transport may pipeline them; this default reads one after the other.
        """
        for request in requests:
            yield self.shuffle_region(*request)

    @abc.abstractmethod
    def broadcast_path(self, broadcast_id):
        """A local file holding the pickled value of a broadcast variable.

        FileNotFoundError if it was destroyed.
        """

    @abc.abstractmethod
    def files_dir(self):
        """The local directory holding the files added with addFile/addPyFile."""

    def put_block(self, address, name, data):
        """Store ``data`` (a block's run file) as ``blocks/NAME`` at the worker with
        ``address``; False if it could not be placed."""
        return store_block(address, name, data)

    @abc.abstractmethod
    def driver_put(self, area, name, data):
        """Store ``data`` as ``name`` in one of the driver's areas (``DRIVER_AREAS``)."""

    @abc.abstractmethod
    def driver_get(self, area, name):
        """The data stored as ``name`` in a driver's area, or None (not there, or not yet)."""

    def file_added(self, name, archive):
        """The driver added file ``name`` (an archive to unpack there, with ``archive``):
        make it present in ``files_dir()``."""


def read_shuffle_region(directory, shuffle_id, map_id, reduce_id, num_reduces):
    """The bytes of reduce partition ``reduce_id`` in a map output file of ``directory``.

    Three system calls: open, pread of the two offsets in the trailing
    index, pread of the region.  FetchFailedError if missing or short.
    """
    path = os.path.join(directory, map_output_name(shuffle_id, map_id))
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError as e:
        raise FetchFailedError(shuffle_id, map_id, f"{path} is missing") from e
    try:
        size = os.fstat(fd).st_size
        index_pos = size - (num_reduces + 1) * 8
        if index_pos < 0:
            raise FetchFailedError(shuffle_id, map_id, f"{path} is truncated")
        start, end = struct.unpack("<qq", os.pread(fd, 16, index_pos + reduce_id * 8))
        data = os.pread(fd, end - start, start) if end > start else b""
    finally:
        os.close(fd)
    if len(data) != end - start:
        raise FetchFailedError(shuffle_id, map_id, f"{path} is truncated")
    return data


def write_whole(directory, name, data):
    """Write ``directory/name`` so that a reader sees all of it or none of it."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, name)
    with open(f"{path}.{os.getpid()}.tmp", "wb") as f:
        f.write(data)
    os.replace(f"{path}.{os.getpid()}.tmp", path)


def store_block(directory, name, data):
    """Write a block copy into ``directory/blocks`` (whole, or not at all); False on error."""
    try:
        write_whole(os.path.join(directory, "blocks"), name, data)
        return True
    except OSError:
        return False


class LocalBlockFetcher(BlockFetcher):
    """Workers on the driver's machine: every block is a local file, read in place."""

    def __init__(self, app_dir):
        #: the driver's application directory (broadcast/ and files/ are in it)
        self.app_dir = app_dir

    def shuffle_region(self, address, shuffle_id, map_id, reduce_id, num_reduces):
        return read_shuffle_region(address, shuffle_id, map_id, reduce_id, num_reduces)

    def broadcast_path(self, broadcast_id):
        return os.path.join(self.app_dir, "broadcast", f"broadcast_{broadcast_id}.pkl")

    def files_dir(self):
        return os.path.join(self.app_dir, "files")

    def driver_put(self, area, name, data):
        write_whole(os.path.join(self.app_dir, _area(area)), name, data)

    def driver_get(self, area, name):
        try:
            with open(os.path.join(self.app_dir, _area(area), name), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None


#: the fetcher of this process (set once by the worker that runs here)
_fetcher = None


def set_fetcher(value):
    global _fetcher
    _fetcher = value


def fetcher():
    """This worker's fetcher (None in a driver that runs no tasks)."""
    return _fetcher

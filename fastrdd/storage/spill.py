"""Spilling to local disk when a worker nears its memory budget.

Every structure here takes records in chunks and asks the task's
``MemoryMonitor`` (``memory.py``) after each chunk whether the worker is
over budget; if so it writes what it holds to a *run file* and carries on:

* ``ExternalMerger``  reduce-side combining (reduceByKey, combineByKey...):
  the dict is split into ``fanout`` sub-files by a hash of the key; at the
  end each sub-file is merged on its own (recursively, if it is still too
  big), so no more than about 1/fanout of the keys is in memory at once.
* ``ExternalGrouper`` groupByKey/cogroup/join: the same, and a key whose
  value list grows past ``HOT_KEY_VALUES`` moves that list to a
  ``DiskList``, which is iterated from disk: one hot key bigger than memory
  still groups.
* ``external_sorted``  sortByKey: sorted runs, merged with heapq.merge.

Run files hold the record batches of ``serializers.py`` in frames of their
own, with a CRC32 per frame, so a file damaged underneath the engine is
detected (``SpillCorruptedError``) instead of read as wrong data.  A full disk raises ``OutOfDiskError`` naming the
directory.  Files belong to the running task and are deleted when it ends.

A frame may be compressed with LZ4 (``compress=True``: spills by default,
as ``spark.shuffle.spill.compress``; cached blocks on disk with
``spark.rdd.compress``); the high bit of its length says so, and
``read_run`` reads both kinds.

``context()`` is the running task's ``SpillContext``; outside a task (the
driver) it never spills.
"""
import errno
import heapq
import os
import struct
import zlib

from fastrdd import _impl
from fastrdd.errors import OutOfDiskError, SpillCorruptedError
from fastrdd.serializers import chunks
from fastrdd.storage.memory import MemoryMonitor
from fastrdd.specialize import is_plain_add

__all__ = ["SpillContext", "context", "set_context", "write_run", "read_run", "ExternalMerger",
           "ExternalGrouper", "DiskList", "external_sorted", "CHUNK"]

#: records processed between two memory checks (a check reads /proc: ~5 us)
CHUNK = 4096
#: records per frame in run files
RUN_BATCH = 1024
#: a key with more values than this moves its list to disk when memory is short
HOT_KEY_VALUES = 1024
#: recursion limit of re-spilling one sub-file (then it is merged in memory)
MAX_LEVEL = 4

_FRAME = struct.Struct("<II")  # payload length (| _COMPRESSED), crc32 of the stored bytes
_COMPRESSED = 1 << 31


class SpillContext:
    """The running task's memory monitor and run files."""

    def __init__(self, monitor=None, directories=(), fanout=16, compress=True):
        self.monitor = monitor or MemoryMonitor(None)
        self.directories = list(directories)
        self.fanout = fanout
        #: LZ4-compress the frames of run files
        self.compress = compress
        self._next_dir = 0
        #: run files made by this task, deleted by cleanup()
        self.files = []
        #: writers still open, closed by cleanup()
        self.writers = []

    def new_path(self, prefix):
        if not self.directories:
            raise RuntimeError("no spill directory configured")
        directory = self.directories[self._next_dir % len(self.directories)]
        self._next_dir += 1
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, f"{prefix}-{os.urandom(8).hex()}.run")
        self.files.append(path)
        return path

    def new_writer(self, prefix):
        writer = RunWriter(self.new_path(prefix), self.compress)
        self.writers.append(writer)
        return writer

    def over(self):
        return bool(self.directories) and self.monitor.over()

    def cleanup(self):
        for writer in self.writers:
            try:
                writer.f.close()
            except OSError:
                pass
        self.writers = []
        for path in self.files:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        self.files = []


_NO_SPILL = SpillContext()
_current = _NO_SPILL


def context():
    return _current


def set_context(ctx):
    global _current
    _current = ctx if ctx is not None else _NO_SPILL


def _check_disk(e, path):
    if isinstance(e, OSError) and e.errno == errno.ENOSPC:
        raise OutOfDiskError(os.path.dirname(path)) from e
    raise e


class RunWriter:
    """Append frames of records to a run file (checksummed)."""

    def __init__(self, path, compress=False):
        self.path = path
        self.bytes = 0
        self.compress = _lz4().compress if compress else None
        try:
            self.f = open(path, "ab", buffering=1 << 16)
        except OSError as e:
            _check_disk(e, path)

    def write(self, records):
        for chunk in _run_chunks(records, self.compress):
            try:
                self.f.write(chunk)
            except OSError as e:
                self._fail(e)
            self.bytes += len(chunk)

    def _fail(self, error):
        """Close without flushing more, remove the partial file, raise the mapped error."""
        try:
            self.f.close()
        except OSError:
            pass
        if os.path.isfile(self.path):
            os.unlink(self.path)
        _check_disk(error, self.path)

    def close(self):
        try:
            self.f.close()
        except OSError as e:
            self._fail(e)
        return self.bytes


def _lz4():
    import lz4.block

    return lz4.block


def _run_chunks(records, compress):
    """The bytes of a run, a frame header or payload at a time (``compress``: an LZ4 function)."""
    for i in range(0, len(records), RUN_BATCH):
        data = _impl.serde.dumps_batch(records[i:i + RUN_BATCH])
        length = len(data)
        if compress is not None:
            data = compress(data)
            length = len(data) | _COMPRESSED
        yield _FRAME.pack(length, zlib.crc32(data))
        yield data


def encode_run(records, compress=False):
    """The bytes ``write_run`` would write for ``records`` (a block copied to a peer)."""
    return b"".join(_run_chunks(records, _lz4().compress if compress else None))


def write_run(path, records, compress=False):
    writer = RunWriter(path, compress)
    writer.write(records if isinstance(records, list) else list(records))
    return writer.close()


def read_run(path):
    """Yield the records of a run file, checking every frame."""
    try:
        f = open(path, "rb")
    except FileNotFoundError as e:
        raise SpillCorruptedError(path, "it was deleted") from e
    with f:
        while True:
            header = f.read(_FRAME.size)
            if not header:
                return
            if len(header) < _FRAME.size:
                raise SpillCorruptedError(path, "truncated frame header")
            length, crc = _FRAME.unpack(header)
            compressed = length & _COMPRESSED
            length &= ~_COMPRESSED
            data = f.read(length)
            if len(data) != length or zlib.crc32(data) != crc:
                raise SpillCorruptedError(path, "checksum mismatch")
            if compressed:
                data = _lz4().decompress(data)
            yield from _impl.serde.loads_batch(data)


def _sub_partition(key, level, fanout):
    h = _impl.shuffle.portable_hash(key) & 0xFFFFFFFFFFFFFFFF
    h = ((h ^ (0x9E3779B97F4A7C15 * (level + 1))) * 0xFF51AFD7ED558CCD) & 0xFFFFFFFFFFFFFFFF
    return (h >> 40) % fanout


class _Spiller:
    """Shared by merger and grouper: a dict that can be split into sub-files."""

    def __init__(self, ctx, level):
        self.ctx = ctx
        self.level = level
        self.data = {}
        self.writers = None

    def _spill(self):
        if self.writers is None:
            self.writers = [self.ctx.new_writer(f"merge{self.level}-{i}")
                            for i in range(self.ctx.fanout)]
        parts = [[] for _ in range(self.ctx.fanout)]
        fanout, level = self.ctx.fanout, self.level
        for item in self._spill_items():
            parts[_sub_partition(item[0], level, fanout)].append(item)
        before = sum(w.bytes for w in self.writers)
        for writer, part in zip(self.writers, parts):
            writer.write(part)
        self.data = {}
        self.ctx.monitor.spilled(sum(w.bytes for w in self.writers) - before)

    def _spill_items(self):
        return self.data.items()

    def _maybe_spill(self):
        if self.level < MAX_LEVEL and self.ctx.over():
            self._spill()

    def items(self):
        if self.writers is None:
            return iter(self.data.items())
        return self._merged_items()

    def _merged_items(self):
        if self.data:
            self._spill()
        paths = [w.path for w in self.writers]
        for w in self.writers:
            w.close()
        for path in paths:
            sub = self._child()
            sub.add(read_run(path))
            yield from sub.items()


class ExternalMerger(_Spiller):
    """Reduce-side merge of (key, combiner) pairs with ``merge_combiners``."""

    def __init__(self, merge, ctx=None, level=0):
        super().__init__(ctx or context(), level)
        self.merge = merge
        self.merge_is_add = is_plain_add(merge)

    def _child(self):
        return ExternalMerger(self.merge, self.ctx, self.level + 1)

    def add(self, records):
        if self.merge_is_add:
            return self._add_sums(records)
        for chunk in chunks(records, CHUNK):
            _impl.shuffle.merge_combiners(chunk, self.merge, self.data, self.merge_is_add)
            self._maybe_spill()
        return self

    def _add_sums(self, records):
        """``add`` for a plain ``+``: summed by ``sum_pairs`` (int keys with int or float
        sums in C arrays), moved into ``self.data`` before a spill and at the end."""
        sums = _impl.sums.NumericSums()
        for chunk in chunks(records, CHUNK):
            _impl.sums.sum_pairs(chunk, self.merge, sums)
            if self.level < MAX_LEVEL and self.ctx.over():
                self._take_sums(sums)
                self._spill()
        self._take_sums(sums)
        return self

    def _take_sums(self, sums):
        if not self.data:
            self.data = sums.to_dict()
        elif len(sums):
            _impl.shuffle.merge_combiners(sums.to_dict().items(), self.merge, self.data, True)

    def add_values(self, records, create_combiner, merge_value):
        """Combine raw (key, value) pairs; spilled parts are merged as combiners later."""
        is_add = is_plain_add(merge_value)
        for chunk in chunks(records, CHUNK):
            _impl.shuffle.combine_pairs(chunk, create_combiner, merge_value, self.data, is_add)
            self._maybe_spill()
        return self


class DiskList:
    """A list of values kept in a run file (plus an in-memory tail): iterable, sized."""

    def __init__(self, ctx, values):
        self.ctx = ctx
        self.writer = ctx.new_writer("values")
        self.path = self.writer.path
        self.tail = []
        self.length = 0
        self.extend(values)

    def extend(self, values):
        self.tail.extend(values)
        self.length += len(values)
        if len(self.tail) >= HOT_KEY_VALUES:
            self.flush()

    def append(self, value):
        self.tail.append(value)
        self.length += 1
        if len(self.tail) >= HOT_KEY_VALUES:
            self.flush()

    def flush(self):
        before = self.writer.bytes
        self.writer.write(self.tail)
        self.ctx.monitor.spilled(self.writer.bytes - before)
        self.tail = []

    def __len__(self):
        return self.length

    def __iter__(self):
        self.writer.f.flush()
        yield from read_run(self.path)
        yield from list(self.tail)

    def __reduce__(self):  # leaves the task only as a plain list
        return (list, (list(self),))


class ExternalGrouper(_Spiller):
    """Reduce-side grouping of (key, list of values) pairs into one list per key."""

    def __init__(self, ctx=None, level=0):
        super().__init__(ctx or context(), level)

    def _child(self):
        return ExternalGrouper(self.ctx, self.level + 1)

    def add(self, records):
        data = self.data
        for chunk in chunks(records, CHUNK):
            for key, values in chunk:
                mine = data.get(key)
                if mine is None:
                    data[key] = values if type(values) is list else list(values)
                else:
                    mine.extend(values)
            if self.ctx.over():
                self._offload_hot_keys()
                data = self.data
        return self

    def add_values(self, records):
        """Group raw (key, value) pairs (no map-side combine)."""
        for chunk in chunks(records, CHUNK):
            _impl.shuffle.group_pairs(chunk, self.data)
            if self.ctx.over():
                self._offload_hot_keys()
        return self

    def _offload_hot_keys(self):
        """Move big value lists to disk; if memory is still short, spill the whole dict."""
        for key, values in self.data.items():
            if type(values) is list and len(values) >= HOT_KEY_VALUES:
                self.data[key] = DiskList(self.ctx, values)
        if self.level < MAX_LEVEL and self.ctx.over():
            self._spill()

    def _spill_items(self):
        for key, values in self.data.items():
            if isinstance(values, DiskList):
                chunk = []
                for v in values:
                    chunk.append(v)
                    if len(chunk) >= HOT_KEY_VALUES:
                        yield key, chunk
                        chunk = []
                if chunk:
                    yield key, chunk
            else:
                yield key, values


def external_sorted(records, key=None, reverse=False, ctx=None):
    """``sorted(records, key, reverse)`` with runs spilled to disk when memory is short."""
    ctx = ctx or context()
    buffer, runs = [], []
    for chunk in chunks(records, CHUNK):
        buffer.extend(chunk)
        if ctx.over():
            buffer.sort(key=key, reverse=reverse)
            path = ctx.new_path("sort")
            ctx.monitor.spilled(write_run(path, buffer, ctx.compress))
            runs.append(path)
            buffer = []
    buffer.sort(key=key, reverse=reverse)
    if not runs:
        return iter(buffer)
    return heapq.merge(*[read_run(p) for p in runs], buffer, key=key, reverse=reverse)

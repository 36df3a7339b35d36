"""The map side of a shuffle: one map task's records into one file of its worker.

Data flow of one shuffle ``s`` with M map tasks and R reduce partitions::

    map task m (in worker w)                      reduce task r (any worker)
    records --combine_pairs/bucket_pairs--> R buckets
            --frames--> <dir of w>/shuffle_s_m.data --BlockFetcher.shuffle_region--> records
                        [bucket 0][bucket 1]...[bucket R-1][R+1 offsets]    (reader.py)

* Each map output is one file in the directory of the worker that wrote it
  (tmpfs when /dev/shm is big enough).  It is written under a temporary name
  and renamed when complete, so a reader never sees half a file.
* The trailing index holds R+1 little-endian int64 offsets; reduce task r
  reads bytes ``offsets[r]:offsets[r+1]``: three system calls per map output.
* A reader that cannot get a region (its worker died, the file is gone)
  raises ``FetchFailedError``; the scheduler recomputes that map output.

Placement and pre-combining are compiled (``_impl.shuffle``); this module is
the policy around them.
"""
import os
import sys
from array import array

from itertools import chain, islice

from fastrdd import _impl
from fastrdd.serializers import chunks, dump_frames
from fastrdd.specialize import identity, is_plain_add
from fastrdd.storage.blocks import map_output_name
from fastrdd.storage.spill import _check_disk, context

__all__ = ["write_map_output", "MapOutputWriter"]


class MapOutputWriter:
    """Buckets (and pre-combines) one map task's records, spilling runs when memory is short.

    Records are taken ``MAP_CHUNK`` at a time.  Without an aggregator each chunk
    is bucketed and serialized at once; with one, a dict of combiners grows
    until the end or until memory runs short, then is bucketed.  Serialized
    buckets accumulate in memory and go to a spill file (all R buckets,
    with their offsets) when memory runs short; the final file concatenates,
    for each reduce partition, its parts from every spill and from memory.
    """

    def __init__(self, dep, ctx):
        self.dep = dep
        self.ctx = ctx
        self.n = dep.num_partitions
        self.buffers = [[] for _ in range(self.n)]
        self.buffered = 0
        #: records written, after the map-side combine (``TaskMetrics``)
        self.records = 0
        #: (path, offsets) of spilled bucket sets
        self.spills = []

    def _add_buckets(self, buckets):
        for r, bucket in enumerate(buckets):
            if bucket:
                self.records += len(bucket)
                self.buffered += dump_frames(bucket, self.buffers[r].append)

    def _spill_buffers(self):
        path = self.ctx.new_path("mapout")
        offsets, pos = [0], 0
        try:
            with open(path, "wb") as f:
                for parts in self.buffers:
                    for c in parts:
                        f.write(c)
                        pos += len(c)
                    offsets.append(pos)
        except OSError as e:
            _check_disk(e, path)
        self.spills.append((path, offsets))
        self.buffers = [[] for _ in range(self.n)]
        self.ctx.monitor.spilled(pos, self.buffered)
        self.buffered = 0

    def consume(self, records):
        agg, pf, n = self.dep.aggregator, self.dep.partition_func, self.n
        if agg is None or not agg.map_side_combine:
            size = bucketing_chunk(n)
            between_checks = MAP_CHUNK // size  # chunks: reading RSS costs a system call
            for i, chunk in enumerate(chunks(records, size), 1):
                self._add_buckets(_impl.shuffle.bucket_pairs(chunk, n, pf))
                if i % between_checks == 0 and self.ctx.over():
                    self._spill_buffers()
            return
        if agg.kind == "group":
            self._combine(records, _impl.shuffle.group_pairs)
            return
        create, merge, is_add = _combine_functions(agg)
        if is_add and create is identity:
            # reduceByKey(add): int keys with int or float sums are kept in C arrays
            sum_pairs = _impl.sums.sum_pairs
            self._combine(records, lambda chunk, sums: sum_pairs(chunk, merge, sums),
                          _impl.sums.NumericSums)
            return
        combine_pairs = _impl.shuffle.combine_pairs
        self._combine(records, lambda chunk, combined: combine_pairs(
            chunk, create, merge, combined, is_add))

    def consume_keys(self, keys, value):
        """``consume`` of ``(k, value)`` for every ``k`` of ``keys``, never building the pairs."""
        create, merge, is_add = _combine_functions(self.dep.aggregator)
        combine_keys = _impl.shuffle.combine_keys
        self._combine(keys, lambda chunk, combined: combine_keys(
            chunk, value, create, merge, combined, is_add))

    def _combine(self, records, fold, table=dict):
        """Pre-combine with ``fold(chunk, table)``, bucketing and spilling when memory is
        short; ``table`` is a dict or a ``NumericSums`` (read with ``to_dict``)."""
        pf, n = self.dep.partition_func, self.n
        combined = table()
        for chunk in _lazy_chunks(records, MAP_CHUNK):
            # the kernels read the chunk straight from the pipeline: no list built
            fold(chunk, combined)
            if self.ctx.over():
                self._add_buckets(_bucketed(combined, n, pf))
                combined = table()
                self._spill_buffers()
        if combined:
            self._add_buckets(_bucketed(combined, n, pf))

    def write(self, directory, map_id):
        """Write the final map output file; return its size in bytes."""
        path = os.path.join(directory, map_output_name(self.dep.shuffle_id, map_id))
        tmp = f"{path}.{os.getpid()}.tmp"
        offsets = array("q", [0])
        spilled = [(open(p, "rb"), offs) for p, offs in self.spills]
        try:
            with open(tmp, "wb", buffering=1 << 20) as out:
                pos = 0
                for r in range(self.n):
                    for f, offs in spilled:
                        f.seek(offs[r])
                        data = f.read(offs[r + 1] - offs[r])
                        out.write(data)
                        pos += len(data)
                    for c in self.buffers[r]:
                        out.write(c)
                        pos += len(c)
                    offsets.append(pos)
                out.write(offsets.tobytes() if sys.byteorder == "little" else _swap(offsets))
            os.replace(tmp, path)
        except OSError as e:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            _check_disk(e, path)
        finally:
            for f, _ in spilled:
                f.close()
        return pos


def _bucketed(combined, n, pf):
    """A dict's or a ``NumericSums``' combiners in ``n`` lists by ``pf`` (None: the
    portable hash, which ``NumericSums.buckets`` applies without building a dict)."""
    if type(combined) is dict:
        return _impl.shuffle.bucket_dict(combined, n, pf)
    if pf is None or pf is _impl.shuffle.portable_hash:
        return combined.buckets(n)
    return _impl.shuffle.bucket_dict(combined.to_dict(), n, pf)


def _combine_functions(agg):
    """createCombiner, mergeValue, and whether mergeValue is a plain ``+`` (``specialize``)."""
    return agg.create_combiner, agg.merge_value, is_plain_add(agg.merge_value)


#: records between two memory checks on the map side (bigger than spill.CHUNK:
#: chunking costs a little on the hottest path of every shuffle)
MAP_CHUNK = 65536

#: records per bucket, at least, in a chunk bucketed and serialised at once
BUCKET_RECORDS = 256


def bucketing_chunk(num_partitions):
    """Records bucketed at once when no aggregator combines them: few enough that they
    are still in the CPU's cache when serialised (4096 int pairs take 0.5 MB; chunks of
    65536 took 616 ns a record against 417, parse included, best of 7 alternating runs in
    one process), enough that each bucket's frame holds ``BUCKET_RECORDS`` records or more."""
    return min(MAP_CHUNK, max(4096, BUCKET_RECORDS * num_partitions))


def _lazy_chunks(records, size):
    """Iterators over consecutive runs of up to ``size`` records (each must be consumed)."""
    it = iter(records)
    end = object()
    while True:
        first = next(it, end)
        if first is end:
            return
        yield chain((first,), islice(it, size - 1))


def write_map_output(directory, dep, map_id, node, runtime):
    """Partition (and pre-combine) the records of ``node`` into this map task's output file."""
    writer = MapOutputWriter(dep, context())
    agg = dep.aggregator
    paired = node.map_side_keys(map_id, runtime) if (
        agg is not None and agg.map_side_combine and agg.kind == "combine") else None
    if paired is not None:
        # map(lambda x: (x, C)) + combine: the keys alone, no call or pair per record
        keys, value = paired
        writer.consume_keys(keys, value)
    else:
        writer.consume(node.iterator(map_id, runtime))
    size = writer.write(directory, map_id)
    runtime.shuffle_write_bytes += size
    runtime.shuffle_write_records += writer.records
    return size


def _swap(offsets):  # pragma: no cover - big-endian hosts only
    swapped = array("q", offsets)
    swapped.byteswap()
    return swapped.tobytes()

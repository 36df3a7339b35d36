"""Shuffle files: how map tasks hand records to reduce tasks, never via the driver.

Data flow of one shuffle ``s`` with M map tasks and R reduce partitions::

    map task m (in worker w)                      reduce task r (any worker)
    records --combine_pairs/bucket_pairs--> R buckets
            --frames--> <dir of w>/shuffle_s_m.data ----pread region r----> records
                        [bucket 0][bucket 1]...[bucket R-1][R+1 offsets]

* Each map output is one file in the directory of the worker that wrote it
  (tmpfs when /dev/shm is big enough).  It is written under a temporary name
  and renamed when complete, so a reader never sees half a file.
* The trailing index holds R+1 little-endian int64 offsets; reduce task r
  reads bytes ``offsets[r]:offsets[r+1]``: three system calls per map output.
* A missing file (its worker died and its directory was removed) raises
  ``FetchFailedError``; the scheduler recomputes that map output from lineage.

Placement and pre-combining are compiled (``_impl.shuffle``); this module is
the policy around them.
"""
import os
import sys
import struct
from array import array

from ._impl import shuffle as kernels
from .errors import FetchFailedError
from .serializers import dump_frames, iter_frames

__all__ = ["write_map_output", "read_reduce_input", "map_output_path", "aggregate_map_side",
           "aggregate_reduce_side"]

_OFFSET = struct.Struct("<q")


def shuffle_file_prefix(shuffle_id):
    return f"shuffle_{shuffle_id}_"


def map_output_path(directory, shuffle_id, map_id):
    return os.path.join(directory, f"{shuffle_file_prefix(shuffle_id)}{map_id}.data")


def aggregate_map_side(records, dep):
    """Place (and pre-combine where the aggregator allows) one map partition's records."""
    agg = dep.aggregator
    n = dep.num_partitions
    pf = dep.partition_func
    if agg is None or not agg.map_side_combine:
        return kernels.bucket_pairs(records, n, pf)
    if agg.kind == "group":
        return kernels.bucket_dict(kernels.group_pairs(records), n, pf)
    combined = kernels.combine_pairs(records, agg.create_combiner, agg.merge_value)
    return kernels.bucket_dict(combined, n, pf)


def aggregate_reduce_side(records, agg):
    """Merge the pre-combined records of one reduce partition; an iterator of pairs."""
    if agg is None:
        return records
    if agg.kind == "group":
        if agg.map_side_combine:
            groups = {}
            for key, values in records:
                mine = groups.get(key)
                if mine is None:
                    groups[key] = values
                else:
                    mine.extend(values)
            return iter(groups.items())
        return iter(kernels.group_pairs(records).items())
    if agg.map_side_combine:
        return iter(kernels.merge_combiners(records, agg.merge_combiners).items())
    return iter(kernels.combine_pairs(records, agg.create_combiner, agg.merge_value).items())


def write_map_output(directory, dep, map_id, buckets):
    """Write ``buckets`` (one list per reduce partition); return total bytes."""
    path = map_output_path(directory, dep.shuffle_id, map_id)
    tmp = f"{path}.{os.getpid()}.tmp"
    offsets = array("q", [0])
    with open(tmp, "wb", buffering=1 << 20) as out:
        pos = 0
        for bucket in buckets:
            pos += dump_frames(bucket, out.write)
            offsets.append(pos)
        if offsets.itemsize != 8:  # pragma: no cover - 'q' is 8 bytes on every CPython
            raise RuntimeError("int64 array expected")
        out.write(offsets.tobytes() if sys.byteorder == "little" else _swap(offsets))
    os.replace(tmp, path)
    return pos


def _swap(offsets):  # pragma: no cover - big-endian hosts only
    swapped = array("q", offsets)
    swapped.byteswap()
    return swapped.tobytes()


def read_reduce_input(shuffle_id, reduce_id, num_reduces, locations):
    """Yield the records for ``reduce_id`` from every map output, in map order.

    ``locations[m]`` is the directory holding map output ``m``.
    """
    for map_id, directory in enumerate(locations):
        if directory is None:
            raise FetchFailedError(shuffle_id, map_id, "its worker was lost")
        path = map_output_path(directory, shuffle_id, map_id)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError as e:
            raise FetchFailedError(shuffle_id, map_id, f"{path} is missing") from e
        try:
            size = os.fstat(fd).st_size
            index_pos = size - (num_reduces + 1) * 8
            start, end = struct.unpack("<qq", os.pread(fd, 16, index_pos + reduce_id * 8))
            data = os.pread(fd, end - start, start) if end > start else b""
        finally:
            os.close(fd)
        if len(data) != end - start:
            raise FetchFailedError(shuffle_id, map_id, f"{path} is truncated")
        for batch in iter_frames(data):
            yield from batch

"""Whole-file, fixed-length-record and pickle-file sources, and pickle-file output.

Each source is a list of splits computed on the driver and a reader that a
task applies to its split; the files themselves are read by the workers.
``saveAsPickleFile`` writes record frames (``serializers.py``: msgpack or
pickle batches) into part files through textio's commit protocol, and
``pickleFile`` reads them back: a format compatible with itself across runs
and versions of this package.
"""
import os
from functools import partial

from fastrdd.io import text as textio
from fastrdd.serializers import dump_frames, iter_frames

__all__ = ["group_files", "read_whole_files", "record_splits", "read_records",
           "pickle_chunks", "read_pickle_file"]


def _uri(path):
    return "file:" + os.path.abspath(path)


def group_files(paths, min_partitions):
    """Contiguous groups of files of about equal total size, at most ``min_partitions``."""
    if not paths:
        return []
    sizes = [os.path.getsize(p) for p in paths]
    groups_wanted = max(1, min(min_partitions, len(paths)))
    target = sum(sizes) / groups_wanted
    groups, current, current_size = [], [], 0
    for path, size in zip(paths, sizes):
        remaining_groups = groups_wanted - len(groups)
        if current and (current_size + size > target) and remaining_groups > 1:
            groups.append(current)
            current, current_size = [], 0
        current.append(path)
        current_size += size
    groups.append(current)
    return groups


def read_whole_files(paths, mode):
    """(file URI, content) per file: ``mode`` is "text", "text-bytes" or "binary"."""
    for path in paths:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise OSError(e.errno, f"Could not read {path}: {e.strerror}", path) from e
        if mode == "text":
            data = data.decode("utf-8", errors="replace")
        yield _uri(path), data


def record_splits(paths, record_length, min_partitions):
    """Byte ranges of fixed-length records, cut on record boundaries."""
    if record_length <= 0:
        raise ValueError(f"recordLength must be positive, got {record_length}")
    splits = []
    total = sum(os.path.getsize(p) for p in paths)
    goal = max(record_length, total // max(min_partitions, 1))
    per_split = max(1, goal // record_length) * record_length
    for path in paths:
        size = os.path.getsize(path)
        if size % record_length:
            raise ValueError(f"{path} has {size} bytes, not a multiple of recordLength "
                             f"{record_length}")
        for start in range(0, max(size, 1), per_split):
            splits.append(textio.Split(path, start, min(start + per_split, size)))
    return splits


def read_records(split, record_length):
    with open(split.path, "rb") as f:
        f.seek(split.start)
        remaining = split.end - split.start
        while remaining > 0:
            block = f.read(min(remaining, max(record_length, 1 << 20) // record_length * record_length))
            if not block:
                raise OSError(f"{split.path} ended early (truncated while reading?)")
            remaining -= len(block)
            for i in range(0, len(block), record_length):
                yield block[i:i + record_length]


def pickle_chunks(records, batch_size):
    """Bytes of record frames, ``batch_size`` records per frame."""
    out = []
    dump_frames(records, out.append, batch_size=max(1, batch_size))
    return out


def write_local_checkpoint(name, records):
    """A partition of ``localCheckpoint()``: to the driver's checkpoint area, in place."""
    from fastrdd.storage import blocks

    blocks.fetcher().driver_put("checkpoint", name, b"".join(pickle_chunks(records, 1024)))


def read_local_checkpoint(name):
    """The records of a ``localCheckpoint()`` partition, from the driver's checkpoint area."""
    from fastrdd.storage import blocks

    data = blocks.fetcher().driver_get("checkpoint", name)
    if data is None:
        raise RuntimeError(f"local checkpoint {name} is gone (localCheckpoint() data lives "
                           f"only as long as its SparkContext)")
    for batch in iter_frames(data):
        yield from batch


def read_pickle_file(path):
    with open(path, "rb") as f:
        data = f.read()
    try:
        for batch in iter_frames(data):
            yield from batch
    except ValueError as e:
        raise ValueError(f"{path} is not a fastrdd pickle file (written by saveAsPickleFile): "
                         f"{e}") from e


def whole_files_reader(mode):
    return partial(read_whole_files, mode=mode)

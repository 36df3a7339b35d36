"""Whole-file, fixed-length-record and pickle-file sources, and pickle-file output.

Each source is a list of splits computed on the driver and a reader that a
task applies to its split; the files themselves are read by the workers.
``saveAsPickleFile`` writes record frames (``serializers.py``: msgpack or
pickle batches) into part files through textio's commit protocol, and
``pickleFile`` reads them back: a format compatible with itself across runs
and versions of this package.

Every path here may also be a ``filesystems.RemotePath`` (an fsspec URL
carrying its options), read through fsspec by the worker.
"""
import os
from functools import partial

from fastrdd.io import filesystems, packing, text as textio
from fastrdd.io.filesystems import RemotePath
from fastrdd.serializers import dump_frames, iter_frames

__all__ = ["group_files", "read_whole_files", "record_splits", "read_records",
           "pickle_chunks", "read_pickle_file"]


def _uri(path):
    if isinstance(path, RemotePath):
        return str(path)  # a plain str: the options stay out of the user's records
    return "file:" + os.path.abspath(path)


def group_files(paths, min_partitions, max_bytes=packing.MAX_PARTITION_BYTES,
                open_cost=packing.OPEN_COST, parallelism=None):
    """Consecutive files packed into groups (one partition each) as PySpark packs them.

    ``wholeTextFiles`` (``parallelism`` None) closes a group at
    ``ceil(total bytes / minPartitions)``, as its WholeTextFileInputFormat;
    ``binaryFiles`` at ``min(maxPartitionBytes, max(openCost, sum(size +
    openCost) / max(parallelism, minPartitions)))``, as StreamFileInputFormat.
    Never fewer than ``min(min_partitions, len(paths))`` groups.
    """
    if not paths:
        return []
    sizes = [textio.file_size(p) for p in paths]
    parts = max(min_partitions, 1)
    if parallelism is None:
        target = -(-sum(sizes) // parts)
    else:
        per_core = sum(s + open_cost for s in sizes) // max(parallelism, parts)
        target = min(max_bytes, max(open_cost, per_core))
    target = target or float("inf")  # Hadoop: a target of 0 means no limit
    return [[paths[i] for i in group]
            for group in packing.pack(sizes, target, min(min_partitions, len(paths)))]


def read_whole_files(paths, mode):
    """(file URI, content) per file: ``mode`` is "text", "text-bytes" or "binary"."""
    for path in paths:
        if isinstance(path, RemotePath):
            data = filesystems.read_bytes(path)
        else:
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError as e:
                raise OSError(e.errno, f"Could not read {path}: {e.strerror}", path) from e
        if mode == "text":
            data = data.decode("utf-8", textio.JVM_REPLACE)
        elif mode == "text-bytes" and not data.isascii():
            # PySpark's bytes are the JVM's decoded text re-encoded as UTF-8.
            data = data.decode("utf-8", textio.JVM_REPLACE).encode("utf-8")
        yield _uri(path), data


def record_splits(paths, record_length, min_partitions):
    """Byte ranges of fixed-length records, cut on record boundaries."""
    if record_length <= 0:
        raise ValueError(f"recordLength must be positive, got {record_length}")
    splits = []
    sizes = [textio.file_size(p) for p in paths]
    goal = max(record_length, sum(sizes) // max(min_partitions, 1))
    per_split = max(1, goal // record_length) * record_length
    for path, size in zip(paths, sizes):
        if size % record_length:
            raise ValueError(f"{path} has {size} bytes, not a multiple of recordLength "
                             f"{record_length}")
        for start in range(0, max(size, 1), per_split):
            splits.append(textio.Split(path, start, min(start + per_split, size)))
    return splits


def _open(path):
    """A local or remote file, for reading bytes."""
    if isinstance(path, RemotePath):
        return filesystems.open_input(path)
    return open(path, "rb")


def read_records(split, record_length):
    with _open(split.path) as f:
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
    if isinstance(path, RemotePath):
        data = filesystems.read_bytes(path)
    else:
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

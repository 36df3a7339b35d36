"""Framing of record batches, over the compiled ``dumps_batch``/``loads_batch``.

A stream of records is cut into batches of ``BATCH_SIZE`` records; each
batch is one frame: a 4-byte little-endian length, then the batch bytes
(whose first byte says msgpack or pickle).  Shuffle files, ``parallelize``'s
slices, action results and pickle files use this format.  Spills and cached
blocks on disk do not: they are ``storage/spill.py``'s run files, the same
batches in frames that carry a CRC32 and may be LZ4-compressed.

PySpark's serializer classes (``PickleSerializer``, ``AutoBatchedSerializer``...)
are importable from here too, as from ``pyspark.serializers``; they live in
``fastrdd.stream_serializers`` and do not carry fastrdd's own records.
"""
import struct

from fastrdd import _impl
from fastrdd.stream_serializers import (  # noqa: F401 - PySpark's public names, re-exported
    AutoBatchedSerializer, AutoSerializer, BatchedSerializer, CartesianDeserializer,
    CloudPickleSerializer, CompressedSerializer, CPickleSerializer, FlattenedValuesSerializer,
    FramedSerializer, MarshalSerializer, NoOpSerializer, PairDeserializer, PickleSerializer,
    Serializer, SpecialLengths, UTF8Deserializer)

__all__ = ["BATCH_SIZE", "chunks", "dump_frames", "iter_frames", "load_frames", "dumps_records",
           "loads_records",
           # PySpark's serializer classes (fastrdd.stream_serializers), for programs that name them
           "Serializer", "FramedSerializer", "PickleSerializer", "CPickleSerializer",
           "CloudPickleSerializer", "MarshalSerializer", "AutoSerializer", "BatchedSerializer",
           "AutoBatchedSerializer", "FlattenedValuesSerializer", "CompressedSerializer",
           "NoOpSerializer", "UTF8Deserializer", "PairDeserializer", "CartesianDeserializer",
           "SpecialLengths"]

#: Records per frame.  Bigger batches amortise per-frame costs (a header,
#: one msgpack call); smaller ones bound the memory of a reader that holds
#: one decoded batch at a time.  4096 small tuples are about 40 KB.
BATCH_SIZE = 4096

_HEADER = struct.Struct("<I")


def chunks(records, size):
    """Lists of up to ``size`` consecutive records, taken lazily: the one chunking
    loop of every stage that works a chunk at a time (frames, memory checks,
    batched writes).  ``_impl.iterators.take`` keeps the collector off the
    records a chunk holds."""
    it = iter(records)
    take = _impl.iterators.take
    while True:
        chunk = take(it, size)
        if not chunk:
            return
        yield chunk


def dump_frames(records, write, batch_size=BATCH_SIZE):
    """Write ``records`` (any iterable) as frames through ``write``; return bytes written."""
    total = 0
    if isinstance(records, list):
        batches = (records[i:i + batch_size] for i in range(0, len(records), batch_size))
    else:
        batches = chunks(records, batch_size)
    pack = _HEADER.pack
    for batch in batches:
        data = _impl.serde.dumps_batch(batch)
        write(pack(len(data)))
        write(data)
        total += _HEADER.size + len(data)
    return total


def iter_frames(buf):
    """Yield the decoded batches (lists) of a buffer holding whole frames."""
    view = memoryview(buf)
    pos, end = 0, len(view)
    unpack_from = _HEADER.unpack_from
    while pos < end:
        (length,) = unpack_from(view, pos)
        pos += _HEADER.size
        if pos + length > end:
            raise ValueError(f"truncated frame: {length} bytes announced, {end - pos} present")
        yield _impl.serde.loads_batch(view[pos:pos + length])
        pos += length


def load_frames(buf):
    """All records of a buffer of frames, as one list."""
    out = []
    for batch in iter_frames(buf):
        out.extend(batch)
    return out


def dumps_records(records):
    """Serialize a list of records as frames, into one bytes object."""
    chunks = []
    dump_frames(records, chunks.append)
    return b"".join(chunks)


loads_records = load_frames

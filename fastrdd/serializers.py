"""Framing of record batches, over the compiled ``dumps_batch``/``loads_batch``.

A stream of records is cut into batches of ``BATCH_SIZE`` records; each
batch is one frame: a 4-byte little-endian length, then the batch bytes
(whose first byte says msgpack or pickle).  Shuffle files, ``parallelize``'s
slices, action results and pickle files use this format.  Spills and cached
blocks on disk do not: they are ``storage/spill.py``'s run files, the same
batches in frames that carry a CRC32 and may be LZ4-compressed.
"""
import struct
from itertools import islice

from fastrdd import _impl

__all__ = ["BATCH_SIZE", "chunks", "dump_frames", "iter_frames", "load_frames", "dumps_records",
           "loads_records"]

#: Records per frame.  Bigger batches amortise per-frame costs (a header,
#: one msgpack call); smaller ones bound the memory of a reader that holds
#: one decoded batch at a time.  4096 small tuples are about 40 KB.
BATCH_SIZE = 4096

_HEADER = struct.Struct("<I")


def chunks(records, size):
    """Lists of up to ``size`` consecutive records, taken lazily: the one chunking
    loop of every stage that works a chunk at a time (frames, memory checks,
    batched writes)."""
    it = iter(records)
    while True:
        chunk = list(islice(it, size))
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


class Serializer:
    """PySpark's serializer interface: ``dumps(obj) -> bytes`` and ``loads(bytes)``.

    fastrdd chooses its own format per record batch (msgpack for plain
    records, pickle otherwise), so a serializer given to SparkContext is
    kept for the user's own use and compatibility; records always travel in
    the batch format above.

    >>> MarshalSerializer().loads(MarshalSerializer().dumps([1, "a"]))
    [1, 'a']
    >>> CPickleSerializer().loads(CPickleSerializer().dumps({"k": (1, 2)}))
    {'k': (1, 2)}
    """

    def dumps(self, obj):
        raise NotImplementedError

    def loads(self, data):
        raise NotImplementedError

    def __eq__(self, other):
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __hash__(self):
        return hash(type(self))

    def __repr__(self):
        return f"{type(self).__name__}()"


class PickleSerializer(Serializer):
    """pickle, protocol 5."""

    def dumps(self, obj):
        """Serialize ``obj`` to bytes with pickle.

        >>> data = PickleSerializer().dumps({"a": [1, 2]})
        >>> isinstance(data, bytes)
        True
        >>> CPickleSerializer().loads(data)
        {'a': [1, 2]}
        """
        import pickle

        return pickle.dumps(obj, protocol=5)

    def loads(self, data):
        """Deserialize an object from bytes written by ``dumps``.

        >>> ser = PickleSerializer()
        >>> ser.loads(ser.dumps((1, "two", 3.0)))
        (1, 'two', 3.0)
        """
        import pickle

        return pickle.loads(data)


CPickleSerializer = PickleSerializer


class CloudPickleSerializer(PickleSerializer):
    """cloudpickle: also functions and classes defined in __main__."""

    def dumps(self, obj):
        """Serialize ``obj`` with cloudpickle, so lambdas and local functions work too.

        >>> ser = CloudPickleSerializer()
        >>> f = ser.loads(ser.dumps(lambda x: x * 2))
        >>> f(21)
        42
        """
        import cloudpickle

        return cloudpickle.dumps(obj, protocol=5)


class MarshalSerializer(Serializer):
    """marshal: fast, for builtin types only."""

    def dumps(self, obj):
        """Serialize a builtin-typed ``obj`` to bytes with marshal.

        >>> isinstance(MarshalSerializer().dumps([1, 2.0, "x"]), bytes)
        True
        """
        import marshal

        return marshal.dumps(obj)

    def loads(self, data):
        """Deserialize an object from bytes written by ``dumps``.

        >>> ser = MarshalSerializer()
        >>> ser.loads(ser.dumps({"k": [1, 2.5, None]}))
        {'k': [1, 2.5, None]}
        """
        import marshal

        return marshal.loads(data)


class BatchedSerializer(Serializer):
    """A serializer applied to lists of ``batchSize`` records."""

    UNLIMITED_BATCH_SIZE = -1
    UNKNOWN_BATCH_SIZE = 0

    def __init__(self, serializer, batchSize=UNLIMITED_BATCH_SIZE):
        self.serializer = serializer
        self.batchSize = batchSize

    def dumps(self, obj):
        return self.serializer.dumps(list(obj))

    def loads(self, data):
        return self.serializer.loads(data)


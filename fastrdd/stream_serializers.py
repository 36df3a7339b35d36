"""PySpark's serializer classes, for code that names or passes them.

fastrdd moves records in its own batch format (``fastrdd.serializers``), so
these classes do not carry its data; they exist so that programs written
for PySpark import them, pass them to ``SparkContext(serializer=...)`` and
use them on their own files and streams with PySpark's results.  The
format is PySpark's, byte for byte:

* a *framed* stream is a sequence of ``length, payload`` pairs, the length a
  4-byte big-endian signed int; the length -1 (``END_OF_DATA_SECTION``)
  ends the stream early and -5 (``NULL``) stands for None with no payload;
* a *batched* serializer hands lists of records to the serializer it wraps,
  so each frame holds one list; ``AutoBatchedSerializer`` doubles its batch
  while frames stay under ``bestSize`` bytes and halves it past ten times that;
* ``CompressedSerializer`` zlib-compresses (level 1) each frame's payload.

Equality follows PySpark: two serializers are equal when they are of the
same class with equal attributes (output of one is readable by the other),
and the hash is that of ``str(serializer)``.
"""
import io
import itertools
import marshal
import pickle
import struct
import zlib

__all__ = [
    "SpecialLengths", "Serializer", "FramedSerializer", "BatchedSerializer",
    "FlattenedValuesSerializer", "AutoBatchedSerializer", "CartesianDeserializer",
    "PairDeserializer", "NoOpSerializer", "PickleSerializer", "CloudPickleSerializer",
    "CPickleSerializer", "MarshalSerializer", "AutoSerializer", "CompressedSerializer",
    "UTF8Deserializer", "ChunkedStream", "read_int", "write_int", "read_long", "write_long",
    "pack_long", "read_bool", "write_with_length",
]

#: pickle protocol of PickleSerializer and CloudPickleSerializer (PySpark: the highest)
PICKLE_PROTOCOL = pickle.HIGHEST_PROTOCOL
#: a frame's length is a signed 32-bit int, so no payload may be larger
MAX_FRAME = 1 << 31

_INT = struct.Struct("!i")
_LONG = struct.Struct("!q")
_BOOL = struct.Struct("!?")


class SpecialLengths:
    """Negative frame lengths that are markers, not sizes (PySpark's values)."""

    END_OF_DATA_SECTION = -1
    PYTHON_EXCEPTION_THROWN = -2
    TIMING_DATA = -3
    END_OF_STREAM = -4
    NULL = -5
    START_ARROW_STREAM = -6
    START_OF_INIT_MESSAGE = -8


def _read_packed(stream, packing):
    """One ``struct`` value from ``stream``; EOFError at its end."""
    data = stream.read(packing.size)
    if not data:
        raise EOFError
    return packing.unpack(data)[0]


def read_int(stream):
    """A 4-byte big-endian int from ``stream``; EOFError at its end."""
    return _read_packed(stream, _INT)


def read_frame(stream, whole=False):
    """The bytes of one length-prefixed frame, None for a NULL one; EOFError at the end.

    ``whole``: a truncated last frame also ends the stream (PySpark's framed
    serializers), rather than being returned short (its UTF8Deserializer).
    """
    length = read_int(stream)
    if length == SpecialLengths.END_OF_DATA_SECTION:
        raise EOFError
    if length == SpecialLengths.NULL:
        return None
    data = stream.read(length)
    if whole and len(data) < length:
        raise EOFError
    return data


def write_int(value, stream):
    stream.write(_INT.pack(value))


def read_long(stream):
    """An 8-byte big-endian int from ``stream``; EOFError at its end."""
    return _read_packed(stream, _LONG)


def write_long(value, stream):
    stream.write(_LONG.pack(value))


def pack_long(value):
    return _LONG.pack(value)


def read_bool(stream):
    return _read_packed(stream, _BOOL)


def write_with_length(obj, stream):
    write_int(len(obj), stream)
    stream.write(obj)


class Serializer:
    """The interface: ``dumps``/``loads`` one object, ``dump_stream``/``load_stream`` many.

    >>> ser = CompressedSerializer(PickleSerializer())
    >>> buf = io.BytesIO()
    >>> ser.dump_stream(["a", (1, 2)], buf)
    >>> _ = buf.seek(0)
    >>> list(ser.load_stream(buf))
    ['a', (1, 2)]
    """

    def dump_stream(self, iterator, stream):
        raise NotImplementedError

    def load_stream(self, stream):
        raise NotImplementedError

    def dumps(self, obj):
        raise NotImplementedError

    def loads(self, obj):
        raise NotImplementedError

    def _load_stream_without_unbatching(self, stream):
        """The stream's batches; a serializer that does not batch yields one-item lists."""
        return ([obj] for obj in self.load_stream(stream))

    def __eq__(self, other):
        return isinstance(other, type(self)) and self.__dict__ == other.__dict__

    def __ne__(self, other):
        return not self == other

    def __repr__(self):
        return f"{type(self).__name__}()"

    def __hash__(self):
        return hash(str(self))


class FramedSerializer(Serializer):
    """One frame per object: its length (4 bytes, big-endian), then ``dumps(obj)``."""

    def dump_stream(self, iterator, stream):
        for obj in iterator:
            self._write_with_length(obj, stream)

    def load_stream(self, stream):
        while True:
            try:
                yield self._read_with_length(stream)
            except EOFError:
                return

    def _write_with_length(self, obj, stream):
        data = self.dumps(obj)
        if data is None:
            raise ValueError("serialized value should not be None")
        if len(data) > MAX_FRAME:
            raise ValueError("can not serialize object larger than 2G")
        write_int(len(data), stream)
        stream.write(data)

    def _read_with_length(self, stream):
        data = read_frame(stream, whole=True)
        return None if data is None else self.loads(data)


class BatchedSerializer(Serializer):
    """Hands lists of ``batchSize`` records (all of them for -1) to ``serializer``."""

    UNLIMITED_BATCH_SIZE = -1
    UNKNOWN_BATCH_SIZE = 0

    def __init__(self, serializer, batchSize=UNLIMITED_BATCH_SIZE):
        self.serializer = serializer
        self.batchSize = batchSize

    def _batched(self, iterator):
        if self.batchSize == self.UNLIMITED_BATCH_SIZE:
            yield list(iterator)
            return
        it = iter(iterator)
        while True:
            batch = list(itertools.islice(it, self.batchSize))
            if not batch:
                return
            yield batch

    def dump_stream(self, iterator, stream):
        self.serializer.dump_stream(self._batched(iterator), stream)

    def load_stream(self, stream):
        return itertools.chain.from_iterable(self._load_stream_without_unbatching(stream))

    def _load_stream_without_unbatching(self, stream):
        return self.serializer.load_stream(stream)

    def __repr__(self):
        return "BatchedSerializer(%s, %d)" % (self.serializer, self.batchSize)


class FlattenedValuesSerializer(BatchedSerializer):
    """Splits each ``(key, values)`` into pairs of at most ``batchSize`` values."""

    def __init__(self, serializer, batchSize=10):
        super().__init__(serializer, batchSize)

    def _batched(self, iterator):
        n = self.batchSize
        for key, values in iterator:
            for start in range(0, len(values), n):
                yield key, values[start:start + n]

    def load_stream(self, stream):
        return self.serializer.load_stream(stream)

    def __repr__(self):
        return "FlattenedValuesSerializer(%s, %d)" % (self.serializer, self.batchSize)


class AutoBatchedSerializer(BatchedSerializer):
    """Batches sized on the fly: frames of about ``bestSize`` bytes.

    >>> ser = AutoBatchedSerializer(PickleSerializer())
    >>> buf = io.BytesIO()
    >>> ser.dump_stream(range(100), buf)
    >>> _ = buf.seek(0)
    >>> list(ser.load_stream(buf)) == list(range(100))
    True
    """

    def __init__(self, serializer, bestSize=1 << 16):
        super().__init__(serializer, self.UNKNOWN_BATCH_SIZE)
        self.bestSize = bestSize

    def dump_stream(self, iterator, stream):
        size, best = 1, self.bestSize
        it = iter(iterator)
        while True:
            batch = list(itertools.islice(it, size))
            if not batch:
                return
            data = self.serializer.dumps(batch)
            write_int(len(data), stream)
            stream.write(data)
            if len(data) < best:
                size *= 2
            elif len(data) > best * 10 and size > 1:
                size //= 2

    def __repr__(self):
        return "AutoBatchedSerializer(%s)" % self.serializer


class _BatchPairs(Serializer):
    """Reads two batched streams from one, batch by batch, and combines each pair."""

    def __init__(self, key_ser, val_ser):
        self.key_ser = key_ser
        self.val_ser = val_ser

    def _load_stream_without_unbatching(self, stream):
        keys = self.key_ser._load_stream_without_unbatching(stream)
        values = self.val_ser._load_stream_without_unbatching(stream)
        for key_batch, value_batch in zip(keys, values):
            yield self._combine(key_batch, value_batch)

    def load_stream(self, stream):
        return itertools.chain.from_iterable(self._load_stream_without_unbatching(stream))

    def __repr__(self):
        return "%s(%s, %s)" % (type(self).__name__, self.key_ser, self.val_ser)


class CartesianDeserializer(_BatchPairs):
    """Every pair of a key batch and the value batch read after it (cartesian())."""

    def _combine(self, key_batch, value_batch):
        return itertools.product(key_batch, value_batch)


class PairDeserializer(_BatchPairs):
    """A key batch zipped with the value batch read after it (zip()); equal sizes only."""

    def _combine(self, key_batch, value_batch):
        key_batch = key_batch if hasattr(key_batch, "__len__") else list(key_batch)
        value_batch = value_batch if hasattr(value_batch, "__len__") else list(value_batch)
        if len(key_batch) != len(value_batch):
            raise ValueError("Can not deserialize PairRDD with different number of items in "
                             "batches: (%d, %d)" % (len(key_batch), len(value_batch)))
        return zip(key_batch, value_batch)


class NoOpSerializer(FramedSerializer):
    """Frames of bytes, passed through as they are."""

    def dumps(self, obj):
        return obj

    def loads(self, obj):
        return obj


class PickleSerializer(FramedSerializer):
    """pickle, at the highest protocol."""

    def dumps(self, obj):
        return pickle.dumps(obj, PICKLE_PROTOCOL)

    def loads(self, obj, encoding="bytes"):
        return pickle.loads(obj, encoding=encoding)


class _AllowedNamesUnpickler(pickle.Unpickler):
    """Refuses every global but the ``(module, name)`` pairs it is given."""

    def __init__(self, file, allowed_names, *, encoding="bytes"):
        super().__init__(file, encoding=encoding)
        self.allowed_names = allowed_names

    def find_class(self, module, name):
        if (module, name) not in self.allowed_names:
            raise pickle.UnpicklingError(f"Unpickling {module}.{name} is not allowed")
        return super().find_class(module, name)


class CloudPickleSerializer(FramedSerializer):
    """cloudpickle: also lambdas, local functions and classes of ``__main__``.

    ``allowed_names``, a list of ``(module, name)`` pairs, restricts what
    ``loads`` may import (anything else is an UnpicklingError).

    >>> ser = CloudPickleSerializer()
    >>> ser.loads(ser.dumps(lambda x: x * 2))(21)
    42
    """

    #: read through the class when an instance pickled without it is loaded
    allowed_names = None

    def __init__(self, allowed_names=None):
        self.allowed_names = allowed_names

    def dumps(self, obj):
        import cloudpickle

        try:
            return cloudpickle.dumps(obj, PICKLE_PROTOCOL)
        except pickle.PickleError:
            raise
        except Exception as e:
            text = str(e)
            if "'i' format requires" in text:
                raise pickle.PicklingError(f"Object too large to serialize: {text}") from e
            raise pickle.PicklingError(
                f"Could not serialize object: {type(e).__name__}: {text}") from e

    def loads(self, obj, encoding="bytes"):
        if self.allowed_names is not None:
            return _AllowedNamesUnpickler(io.BytesIO(obj), self.allowed_names,
                                          encoding=encoding).load()
        return pickle.loads(obj, encoding=encoding)


#: PySpark's default serializer (cloudpickle unless its namedtuple patch is enabled)
CPickleSerializer = CloudPickleSerializer


class MarshalSerializer(FramedSerializer):
    """marshal: faster than pickle, for built-in types only."""

    def dumps(self, obj):
        return marshal.dumps(obj)

    def loads(self, obj):
        return marshal.loads(obj)


class AutoSerializer(FramedSerializer):
    """marshal while it works, then pickle for the rest; a tag byte says which.

    (PySpark's ``loads`` compares an int to a bytes tag and so never reads
    its own output; this one does.)
    """

    def __init__(self):
        self._type = None

    def dumps(self, obj):
        if self._type is None:
            try:
                return b"M" + marshal.dumps(obj)
            except Exception:  # noqa: BLE001 - marshal refuses with several types
                self._type = b"P"
        return b"P" + pickle.dumps(obj, -1)

    def loads(self, obj):
        tag = bytes(obj[:1])
        if tag == b"M":
            return marshal.loads(obj[1:])
        if tag == b"P":
            return pickle.loads(obj[1:])
        raise ValueError("invalid serialization type: %s" % tag)


class CompressedSerializer(FramedSerializer):
    """Another framed serializer's payloads, zlib-compressed (level 1)."""

    def __init__(self, serializer):
        if not isinstance(serializer, FramedSerializer):
            raise AssertionError("serializer must be a FramedSerializer")
        self.serializer = serializer

    def dumps(self, obj):
        return zlib.compress(self.serializer.dumps(obj), 1)

    def loads(self, obj):
        return self.serializer.loads(zlib.decompress(obj))

    def __repr__(self):
        return "CompressedSerializer(%s)" % self.serializer


class UTF8Deserializer(Serializer):
    """Framed UTF-8 strings (``use_unicode=False``: the raw bytes).

    >>> buf = io.BytesIO(b"\\x00\\x00\\x00\\x02hi\\xff\\xff\\xff\\xfb")
    >>> list(UTF8Deserializer().load_stream(buf))
    ['hi', None]
    """

    def __init__(self, use_unicode=True):
        self.use_unicode = use_unicode

    def loads(self, stream):
        data = read_frame(stream)
        if data is None:
            return None
        return data.decode("utf-8") if self.use_unicode else data

    def load_stream(self, stream):
        try:
            while True:
                yield self.loads(stream)
        except (struct.error, EOFError):
            return

    def __repr__(self):
        return "UTF8Deserializer(%s)" % self.use_unicode


class ChunkedStream:
    """A writable file that sends what it is given as frames of ``buffer_size`` bytes.

    ``close()`` sends what is left, then the length -1, then closes the
    wrapped file: a reader learns the end without knowing the size first.
    """

    def __init__(self, wrapped, buffer_size):
        self.buffer_size = buffer_size
        self.buffer = bytearray(buffer_size)
        #: bytes of ``buffer`` filled so far
        self.current_pos = 0
        self.wrapped = wrapped

    def write(self, data):
        view = memoryview(data).cast("B")
        while len(view):
            room = self.buffer_size - self.current_pos
            if len(view) < room:
                self.buffer[self.current_pos:self.current_pos + len(view)] = view
                self.current_pos += len(view)
                return
            self.buffer[self.current_pos:] = view[:room]
            write_int(self.buffer_size, self.wrapped)
            self.wrapped.write(bytes(self.buffer))  # the buffer is reused: hand out a copy
            self.current_pos = 0
            view = view[room:]

    def close(self):
        if self.current_pos:
            write_int(self.current_pos, self.wrapped)
            self.wrapped.write(self.buffer[:self.current_pos])
        write_int(SpecialLengths.END_OF_DATA_SECTION, self.wrapped)
        self.wrapped.close()

    @property
    def closed(self):
        return self.wrapped.closed

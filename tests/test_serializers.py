"""PySpark's serializer classes, and records whose class another process cannot import.

Expected values were checked against PySpark 4.3 (its test_serializers.py,
test_rdd.py's test_namedtuple_in_rdd, and the frames its classes write).
"""
import collections
import io
import json
import math
import os
import pickle
import subprocess
import sys
import textwrap

import pytest

from fastrdd import StorageLevel
from fastrdd.serializers import (AutoBatchedSerializer, AutoSerializer, BatchedSerializer,
                                 CartesianDeserializer, CloudPickleSerializer,
                                 CompressedSerializer, CPickleSerializer,
                                 FlattenedValuesSerializer, MarshalSerializer, NoOpSerializer,
                                 PairDeserializer, PickleSerializer, UTF8Deserializer)
from fastrdd.stream_serializers import ChunkedStream, read_int, write_int

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _stream(ser, records):
    out = io.BytesIO()
    ser.dump_stream(records, out)
    return out.getvalue()


# -- PySpark's serializer classes ---------------------------------------------------------
def test_frames_are_big_endian_lengths():
    assert _stream(NoOpSerializer(), [b"ab", b""]) == b"\x00\x00\x00\x02ab\x00\x00\x00\x00"
    assert _stream(MarshalSerializer(), [1]) == b"\x00\x00\x00\x05" + b"\xe9\x01\x00\x00\x00"
    data = _stream(PickleSerializer(), [(1, "a")])
    assert read_int(io.BytesIO(data)) == len(data) - 4 and data[4:6] == b"\x80\x05"
    # -1 ends the stream, -5 is None, a truncated frame ends it too
    buf = io.BytesIO(b"\x00\x00\x00\x01x\xff\xff\xff\xfb\xff\xff\xff\xff\x00\x00\x00\x01y")
    assert list(NoOpSerializer().load_stream(buf)) == [b"x", None]
    assert list(NoOpSerializer().load_stream(io.BytesIO(b"\x00\x00\x00\x05ab"))) == []


@pytest.mark.parametrize("ser", [PickleSerializer(), CloudPickleSerializer(), MarshalSerializer(),
                                 AutoSerializer(), CompressedSerializer(PickleSerializer()),
                                 BatchedSerializer(PickleSerializer(), 3),
                                 BatchedSerializer(CloudPickleSerializer()),
                                 AutoBatchedSerializer(MarshalSerializer(), bestSize=64)],
                         ids=repr)
def test_streams_round_trip(ser):
    records = [1, "two", (3.0, None), [4]] * 30
    assert list(ser.load_stream(io.BytesIO(_stream(ser, records)))) == records


def test_batched_frames_hold_lists():
    frames = _stream(BatchedSerializer(PickleSerializer(), 2), range(5))
    assert list(PickleSerializer().load_stream(io.BytesIO(frames))) == [[0, 1], [2, 3], [4]]
    frames = _stream(AutoBatchedSerializer(PickleSerializer()), range(10))
    assert [len(b) for b in PickleSerializer().load_stream(io.BytesIO(frames))] == [1, 2, 4, 3]
    pairs = _stream(FlattenedValuesSerializer(PickleSerializer(), 2), [("k", [1, 2, 3])])
    assert list(FlattenedValuesSerializer(PickleSerializer(), 2).load_stream(
        io.BytesIO(pairs))) == [("k", [1, 2]), ("k", [3])]


def test_compressed_serializer_appends():
    """PySpark's test_compressed_serializer."""
    ser = CompressedSerializer(CPickleSerializer())
    buf = io.BytesIO()
    ser.dump_stream(["abc", "123", range(5)], buf)
    buf.seek(0)
    assert list(ser.load_stream(buf)) == ["abc", "123", range(5)]
    ser.dump_stream(range(1000), buf)
    buf.seek(0)
    assert list(ser.load_stream(buf)) == ["abc", "123", range(5)] + list(range(1000))
    with pytest.raises(AssertionError):
        CompressedSerializer(BatchedSerializer(PickleSerializer()))


def test_pair_and_cartesian_deserializers():
    batched = BatchedSerializer(PickleSerializer(), 2)
    both = _stream(PickleSerializer(), [["a", "b"], [1, 2], ["c"], [3]])
    assert list(PairDeserializer(batched, batched).load_stream(io.BytesIO(both))) == [
        ("a", 1), ("b", 2), ("c", 3)]
    assert list(CartesianDeserializer(batched, batched).load_stream(io.BytesIO(both))) == [
        ("a", 1), ("a", 2), ("b", 1), ("b", 2), ("c", 3)]
    uneven = _stream(PickleSerializer(), [["a"], [1, 2]])
    with pytest.raises(ValueError, match="different number of items in batches: \\(1, 2\\)"):
        list(PairDeserializer(batched, batched).load_stream(io.BytesIO(uneven)))


def test_utf8_deserializer():
    data = b"\x00\x00\x00\x03h\xc3\xa9\xff\xff\xff\xfb\x00\x00\x00\x01z\x00\x00"
    assert list(UTF8Deserializer().load_stream(io.BytesIO(data))) == ["hé", None, "z"]
    assert list(UTF8Deserializer(False).load_stream(io.BytesIO(data))) == [b"h\xc3\xa9", None, b"z"]


def test_reprs_equality_and_hashes():
    """PySpark's test_hash_serializer, and the reprs PySpark prints."""
    assert repr(AutoBatchedSerializer(CloudPickleSerializer())) == \
        "AutoBatchedSerializer(CloudPickleSerializer())"
    assert repr(BatchedSerializer(PickleSerializer(), 7)) == "BatchedSerializer(PickleSerializer(), 7)"
    assert repr(PairDeserializer(NoOpSerializer(), UTF8Deserializer())) == \
        "PairDeserializer(NoOpSerializer(), UTF8Deserializer(True))"
    assert repr(CompressedSerializer(MarshalSerializer())) == "CompressedSerializer(MarshalSerializer())"
    assert CPickleSerializer is CloudPickleSerializer
    assert BatchedSerializer(PickleSerializer(), 2) == BatchedSerializer(PickleSerializer(), 2)
    assert BatchedSerializer(PickleSerializer(), 2) != BatchedSerializer(PickleSerializer(), 3)
    for ser in [NoOpSerializer(), UTF8Deserializer(), CPickleSerializer(), MarshalSerializer(),
                AutoSerializer(), BatchedSerializer(CPickleSerializer()),
                AutoBatchedSerializer(MarshalSerializer()),
                PairDeserializer(NoOpSerializer(), UTF8Deserializer()),
                CartesianDeserializer(NoOpSerializer(), UTF8Deserializer()),
                CompressedSerializer(CPickleSerializer()),
                FlattenedValuesSerializer(CPickleSerializer())]:
        assert hash(ser) == hash(str(ser))


def test_cloudpickle_serializer():
    """PySpark's test_itemgetter, test_function_module_name, test_restricted_unpickler."""
    from operator import itemgetter

    ser = CloudPickleSerializer()
    assert ser.loads(ser.dumps(itemgetter(0, 3)))(range(10)) == (0, 3)

    def func(x):
        return x

    assert ser.loads(ser.dumps(func)).__module__ == func.__module__
    restricted = CloudPickleSerializer(allowed_names=[("collections", "deque")])
    assert restricted.loads(restricted.dumps(collections.deque([1, 2]))) == collections.deque([1, 2])
    with pytest.raises(pickle.UnpicklingError, match="collections.defaultdict is not allowed"):
        restricted.loads(restricted.dumps(collections.defaultdict(int)))
    with pytest.raises(pickle.PicklingError, match="Could not serialize object"):
        ser.dumps(_Unpicklable())


class _Unpicklable:
    def __reduce__(self):
        raise RuntimeError("not picklable")


def test_chunked_stream():
    """PySpark's SerializersTest.test_chunked_stream."""
    original = bytearray(range(100))
    for data_length in [1, 10, 100]:
        for buffer_length in [1, 2, 3, 5, 20, 99, 100, 101, 500]:
            dest = io.BytesIO()
            dest.close = lambda: None  # keep the bytes readable after close()
            stream = ChunkedStream(dest, buffer_length)
            stream.write(original[:data_length])
            stream.close()
            written = dest.getvalue()
            num_chunks = int(math.ceil(data_length / buffer_length))
            assert len(written) == (num_chunks + 1) * 4 + data_length
            src = io.BytesIO(written)
            chunks = []
            while (length := read_int(src)) != -1:
                chunks.append(src.read(length))
            assert b"".join(chunks) == bytes(original[:data_length])
            assert all(len(c) == buffer_length for c in chunks[:-1])
            assert written[-4:] == b"\xff\xff\xff\xff"
    out = io.BytesIO()
    write_int(-1, out)
    assert out.getvalue() == b"\xff\xff\xff\xff"


def test_context_keeps_the_serializer_batched(fresh):
    """As PySpark: wrapped for batching (batchSize 0: automatic), records unaffected."""
    from fastrdd import SparkContext

    default = fresh("local[1]")
    assert repr(default.serializer) == "AutoBatchedSerializer(CloudPickleSerializer())"
    default.stop()  # only one context may be active
    with SparkContext("local[1]", "ser", serializer=MarshalSerializer(), batchSize=10) as sc:
        assert sc.serializer == BatchedSerializer(MarshalSerializer(), 10)
        assert sc.parallelize([1, 2]).collect() == [1, 2]


# -- records of classes made in a function or in the user's script ------------------------
def test_namedtuple_in_rdd(sc):
    """PySpark's test_namedtuple_in_rdd: a namedtuple made in a function, through workers."""
    Person = collections.namedtuple("Person", "id firstName lastName")
    jon, jane = Person(1, "Jon", "Doe"), Person(2, "Jane", "Doe")
    assert sc.parallelize([jon, jane]).collect() == [jon, jane]


def test_local_classes_cross_every_boundary(sc):
    Key = collections.namedtuple("Key", "x y")

    class Value:
        def __init__(self, v):
            self.v = v

        def __eq__(self, other):
            return type(other) is Value and other.v == self.v

        def __hash__(self):
            return hash(self.v)

    records = [(Key(i % 3, 0), Value(i)) for i in range(12)]
    rdd = sc.parallelize(records, 3)
    out = rdd.collect()
    assert out == records and type(out[0][0]) is Key and type(out[0][1]) is Value
    sums = rdd.mapValues(lambda v: v.v).reduceByKey(lambda a, b: a + b).collect()
    assert sorted(sums) == [(Key(0, 0), 18), (Key(1, 0), 22), (Key(2, 0), 26)]
    groups = rdd.groupByKey().mapValues(lambda vs: sorted(v.v for v in vs)).collect()
    assert sorted(groups) == [(Key(0, 0), [0, 3, 6, 9]), (Key(1, 0), [1, 4, 7, 10]),
                              (Key(2, 0), [2, 5, 8, 11])]
    made = sc.parallelize(range(6), 2).map(lambda i: (Key(i % 2, 1), Value(i)))
    assert sorted(made.reduceByKey(lambda a, b: Value(a.v + b.v)).collect()) == [
        (Key(0, 1), Value(6)), (Key(1, 1), Value(9))]
    for level in (StorageLevel.MEMORY_ONLY, StorageLevel.DISK_ONLY):
        kept = rdd.map(lambda kv: kv).persist(level)
        assert kept.count() == 12 and kept.collect() == records
        kept.unpersist()
    assert rdd.map(lambda kv: kv[1]).reduce(lambda a, b: Value(a.v + b.v)) == Value(66)


SCRIPT = textwrap.dedent('''
    import collections, json, sys
    from fastrdd import SparkConf, SparkContext, StorageLevel

    Point = collections.namedtuple("Point", "x y")

    class Weight:
        def __init__(self, w):
            self.w = w

        def __eq__(self, other):
            return type(other) is Weight and other.w == self.w

        def __hash__(self):
            return hash(self.w)

    conf = SparkConf().set("fastrdd.purepython", sys.argv[1]).set("spark.ui.enabled", "false")
    sc = SparkContext("local[2]", "main-classes", conf=conf)
    records = [(Point(i % 2, 0), Weight(i)) for i in range(8)]
    rdd = sc.parallelize(records, 2)
    out = {
        "collect": rdd.collect() == records,
        "types": [type(k) is Point and type(v) is Weight for k, v in rdd.collect()] == [True] * 8,
        "reduce": sorted(rdd.mapValues(lambda v: v.w).reduceByKey(lambda a, b: a + b).collect()),
        "group": sorted((k, sorted(v.w for v in vs)) for k, vs in rdd.groupByKey().collect()),
        "made": sorted(sc.parallelize(range(4), 2).map(lambda i: (Point(i, i), Weight(i)))
                       .reduceByKey(lambda a, b: a).keys().collect()),
    }
    for name, level in (("cache", StorageLevel.MEMORY_ONLY), ("disk", StorageLevel.DISK_ONLY)):
        kept = rdd.map(lambda kv: kv).persist(level)
        out[name] = kept.count() == 8 and kept.collect() == records
    sc.stop()
    print(json.dumps(out))
''')


@pytest.mark.parametrize("pure", ["false", "true"], ids=["compiled", "pure"])
def test_classes_of_main_cross_every_boundary(tmp_path, pure):
    """A script run as __main__, its namedtuple and class used as keys and values."""
    script = tmp_path / "job.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, str(script), pure], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out == {"collect": True, "types": True, "reduce": [[[0, 0], 12], [[1, 0], 16]],
                   "group": [[[0, 0], [0, 2, 4, 6]], [[1, 0], [1, 3, 5, 7]]],
                   "made": [[0, 0], [1, 1], [2, 2], [3, 3]], "cache": True, "disk": True}

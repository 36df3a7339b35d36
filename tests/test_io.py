"""textFile and saveAsTextFile through a live context, with real files."""
import gzip
import os

import pytest


def write(path, text, mode="w"):
    with open(path, mode) as f:
        f.write(text)
    return str(path)


def test_text_file_sources(sc, tmp_path):
    d = tmp_path / "dir"
    d.mkdir()
    write(d / "a.txt", "1\n2\n")
    write(d / "b.txt", "3\n")
    write(d / "_SUCCESS", "")
    write(d / ".hidden", "x\n")
    with gzip.open(d / "c.gz", "wt") as f:
        f.write("4\n5\n")
    assert sorted(sc.textFile(str(d)).collect()) == ["1", "2", "3", "4", "5"]
    assert sorted(sc.textFile(str(d / "*.txt")).collect()) == ["1", "2", "3"]
    assert sc.textFile(f"{d / 'b.txt'},{d / 'a.txt'}").collect() == ["3", "1", "2"]
    assert sc.textFile(str(d / "c.gz")).collect() == ["4", "5"]


def test_big_file_is_split_and_read_in_parallel(sc, tmp_path):
    lines = [f"line {i} " + "x" * (i % 50) for i in range(20000)]
    path = write(tmp_path / "big.txt", "\n".join(lines) + "\n")
    rdd = sc.textFile(path, minPartitions=7)
    assert rdd.getNumPartitions() >= 7
    assert rdd.collect() == lines
    assert rdd.map(len).sum() == sum(map(len, lines))


def test_invalid_utf8_does_not_crash(sc, tmp_path):
    path = write(tmp_path / "bad.txt", b"ok\n\xff\xfebad\n", "wb")
    assert sc.textFile(path).collect() == ["ok", "\ufffd\ufffdbad"]
    # as PySpark 4.3: the JVM's decoded line, re-encoded as UTF-8
    assert sc.textFile(path, use_unicode=False).collect() == [b"ok", "\ufffd\ufffdbad".encode()]


def test_save_refuses_existing_path(sc, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(FileExistsError, match="already exists"):
        sc.parallelize([1]).saveAsTextFile(str(out))


def test_failed_save_leaves_nothing(sc, tmp_path):
    out = tmp_path / "out"

    def boom(x):
        if x == 7:
            raise ValueError("bad record 7")
        return x

    with pytest.raises(ValueError, match="bad record 7"):
        sc.parallelize(range(10), 3).map(boom).saveAsTextFile(str(out))
    assert os.listdir(tmp_path) == []


def test_save_round_trip_and_compression(sc, tmp_path):
    data = ["a", "b", 3, ("t", 1), b"raw"]
    out = str(tmp_path / "out")
    sc.parallelize(data, 2).saveAsTextFile(out)
    assert sorted(os.listdir(out)) == ["_SUCCESS", "part-00000", "part-00001"]
    assert sc.textFile(out).collect() == ["a", "b", "3", "('t', 1)", "raw"]
    gz = str(tmp_path / "gz")
    sc.parallelize(["x", "y"], 1).saveAsTextFile(gz, "org.apache.hadoop.io.compress.GzipCodec")
    assert "part-00000.gz" in os.listdir(gz)
    assert sc.textFile(gz).collect() == ["x", "y"]


def test_whole_files_binary_records_and_pickle_files(sc, tmp_path):
    d = tmp_path / "many"
    d.mkdir()
    for i in range(5):
        write(d / f"f{i}.txt", f"content {i}\nline")
    pairs = sorted(sc.wholeTextFiles(str(d), 3).collect())
    assert [p.rsplit("/", 1)[1] for p, _ in pairs] == [f"f{i}.txt" for i in range(5)]
    assert pairs[0][0].startswith("file:/") and pairs[2][1] == "content 2\nline"
    assert sc.wholeTextFiles(str(d), 3).getNumPartitions() == 3
    assert sorted(c for _, c in sc.binaryFiles(str(d / "f1.txt")).collect()) == [b"content 1\nline"]
    rec = write(tmp_path / "rec.bin", bytes(range(40)), "wb")
    records = sc.binaryRecords(rec, 4).collect()
    assert records == [bytes(range(i, i + 4)) for i in range(0, 40, 4)]
    with pytest.raises(ValueError, match="not a multiple of recordLength 7"):
        sc.binaryRecords(rec, 7).count()
    data = [1, "two", (3, 4.0), {"five": [5]}, None]
    out = str(tmp_path / "pickled")
    sc.parallelize(data, 3).saveAsPickleFile(out, 2)
    assert sorted(map(repr, sc.pickleFile(out).collect())) == sorted(map(repr, data))

"""File sources and sinks on fsspec URLs: a real S3 server (moto's, on loopback) and memory://.

The S3 tests run the same files through ``s3a://`` and through local paths
and compare partitions and records, so the remote path is held to the local
one's rules (splits, globbing, hidden names, codecs, packing, committed
output).  They need ``moto[server]`` and ``s3fs`` (the test extra).
"""
import bz2
import gzip
import sys
import uuid

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fastrdd import SparkConf, SparkContext
from fastrdd.io import filesystems, text as textio

moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed: "
                                  "pip install -e '.[test]' runs the S3 tests")
s3fs = pytest.importorskip("s3fs", reason="s3fs is not installed: pip install -e '.[test]'")
zstandard = pytest.importorskip("zstandard", reason="zstandard is not installed")

BUCKET = "fastrdd-test"
KEY, SECRET, REGION = "testing", "testing", "us-east-1"


@pytest.fixture(scope="module")
def endpoint():
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    import boto3

    boto3.client("s3", endpoint_url=url, aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                 region_name=REGION).create_bucket(Bucket=BUCKET)
    yield url
    server.stop()


@pytest.fixture
def s3(endpoint):
    """The test's own view of the bucket (not the one the context caches)."""
    fs = s3fs.S3FileSystem(key=KEY, secret=SECRET, skip_instance_cache=True,
                           client_kwargs={"endpoint_url": endpoint, "region_name": REGION})
    fs.invalidate_cache()
    return fs


_contexts = {}


@pytest.fixture
def s3sc(endpoint):
    """A local[2] context configured as a PySpark job on S3 would be; kept across tests."""
    active = SparkContext._active_spark_context
    ctx = _contexts.get("s3")
    if ctx is None or ctx is not active:
        if active is not None:
            active.stop()
        conf = (SparkConf().setMaster("local[2]").setAppName("fsspec")
                .set("spark.hadoop.fs.s3a.access.key", KEY)
                .set("spark.hadoop.fs.s3a.secret.key", SECRET)
                .set("spark.hadoop.fs.s3a.endpoint", endpoint)
                .set("spark.hadoop.fs.s3a.endpoint.region", REGION))
        ctx = _contexts["s3"] = SparkContext(conf=conf)
    return ctx


@pytest.fixture(scope="module", autouse=True)
def _stop_contexts():
    yield
    for ctx in _contexts.values():
        ctx.stop()


def prefix():
    return f"{BUCKET}/{uuid.uuid4().hex[:8]}"


def mirror(s3, tmp_path, files):
    """Write ``files`` ({name: bytes}) under a local directory and an S3 prefix."""
    where = prefix()
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
        s3.pipe_file(f"{where}/{name}", data)
    return str(tmp_path), f"s3a://{where}"


def small_files(n=12):
    files = {f"f{i:02d}.txt": "".join(f"file {i} line {j}\n" for j in range(i + 1)).encode()
             for i in range(n)}
    files["_SUCCESS"] = b""
    files[".hidden"] = b"never read\n"
    return files


def same(sc, local, remote, **kwargs):
    a, b = sc.textFile(local, **kwargs), sc.textFile(remote, **kwargs)
    assert a.getNumPartitions() == b.getNumPartitions()
    assert a.glom().collect() == b.glom().collect()
    return b


def test_text_file_object_directory_glob_and_lists_match_local(s3sc, s3, tmp_path):
    files = small_files()
    files["big.log"] = b"".join(b"big line %d %s\n" % (i, b"x" * (i % 40)) for i in range(20000))
    local, remote = mirror(s3, tmp_path, files)
    assert same(s3sc, f"{local}/big.log", f"{remote}/big.log", minPartitions=5) \
        .getNumPartitions() >= 5
    rdd = same(s3sc, local, remote)
    assert rdd.getNumPartitions() >= 14  # a split per small file, as PySpark: no packing
    assert "never read" not in rdd.collect()
    same(s3sc, f"{local}/f0*.txt", f"{remote}/f0*.txt")
    same(s3sc, f"{local}/f{{01,1[01]}}.txt", f"{remote}/f{{01,1[01]}}.txt")
    same(s3sc, f"{local}/f03.txt,{local}/f01.txt", f"{remote}/f03.txt,{remote}/f01.txt")
    same(s3sc, f"{local}/f0[^0-8].txt", f"{remote}/f0[^0-8].txt")
    with pytest.raises(FileNotFoundError, match="Input path does not exist: s3a://"):
        s3sc.textFile(f"{remote}/missing.txt").count()
    with pytest.raises(FileNotFoundError, match="matches 0 files"):
        s3sc.textFile(f"{remote}/*.csv").count()


def test_compressed_objects(s3sc, s3, tmp_path):
    text = b"".join(b"compressed %d\n" % i for i in range(3000))
    local, remote = mirror(s3, tmp_path, {
        "a.gz": gzip.compress(text), "b.bz2": bz2.compress(text),
        "c.zst": zstandard.ZstdCompressor().compress(text), "d.txt": text})
    for name in ("a.gz", "b.bz2", "c.zst"):
        rdd = same(s3sc, f"{local}/{name}", f"{remote}/{name}", minPartitions=4)
        assert rdd.getNumPartitions() == 1  # compressed: read whole, as Hadoop does
        assert rdd.count() == 3000
    assert same(s3sc, local, remote).count() == 12000


def test_whole_text_and_binary_files_are_packed(s3sc, s3, tmp_path):
    local, remote = mirror(s3, tmp_path, small_files(10))
    pairs = s3sc.wholeTextFiles(remote).collect()
    assert [k for k, _ in pairs] == [f"{remote}/f{i:02d}.txt" for i in range(10)]
    assert all(type(k) is str for k, _ in pairs)  # no RemotePath: the options stay inside
    assert pairs[3][1] == (tmp_path / "f03.txt").read_text()
    # defaultMinPartitions (2) on 10 tiny files: packed, as CombineFileInputFormat does
    assert s3sc.wholeTextFiles(remote).getNumPartitions() == 2
    assert s3sc.wholeTextFiles(local).getNumPartitions() == 2
    for n in (1, 4, 7, 10, 30):
        rdd = s3sc.binaryFiles(remote, n)
        assert rdd.getNumPartitions() == min(n, 10)
        assert sorted(v for _, v in rdd.collect()) == sorted(
            (tmp_path / f"f{i:02d}.txt").read_bytes() for i in range(10))


def test_binary_records_and_pickle_round_trip(s3sc, s3, tmp_path):
    _, remote = mirror(s3, tmp_path, {"rec.bin": bytes(range(200))})
    assert s3sc.binaryRecords(f"{remote}/rec.bin", 8).collect() == [
        bytes(range(i, i + 8)) for i in range(0, 200, 8)]
    out = f"s3://{prefix()}/pickled"
    data = [1, "two", (3, 4.0), {"five": [5]}, None] * 20
    s3sc.parallelize(data, 3).saveAsPickleFile(out, 4)
    assert sorted(map(repr, s3sc.pickleFile(out).collect())) == sorted(map(repr, data))


def test_save_as_text_file_commits_to_s3(s3sc, s3):
    where = prefix()
    out = f"s3a://{where}/out"
    s3sc.parallelize(["a", "b", 3, b"raw"], 3).saveAsTextFile(out)
    s3.invalidate_cache()
    assert sorted(p.rsplit("/", 1)[1] for p in s3.ls(f"{where}/out")) == [
        "_SUCCESS", "part-00000", "part-00001", "part-00002"]
    assert [p.rsplit("/", 1)[1] for p in s3.ls(where)] == ["out"]  # no temporary left
    assert s3sc.textFile(out).collect() == ["a", "b", "3", "raw"]
    with pytest.raises(FileExistsError, match="already exists"):
        s3sc.parallelize([1]).saveAsTextFile(out)
    s3sc.parallelize(["x", "y"], 1).saveAsTextFile(f"{out}-gz", "gzip")
    assert gzip.decompress(s3.cat_file(f"{where}/out-gz/part-00000.gz")) == b"x\ny\n"
    s3sc.parallelize(["x", "y"], 1).saveAsTextFile(f"{out}-zst", "zstd")
    assert s3sc.textFile(f"{out}-zst").collect() == ["x", "y"]


def test_save_of_empty_partitions_and_no_partitions(s3sc, s3):
    where = prefix()
    s3sc.parallelize([], 2).saveAsTextFile(f"s3://{where}/empty")
    assert s3sc.textFile(f"s3://{where}/empty").collect() == []
    s3sc.emptyRDD().saveAsTextFile(f"s3://{where}/none")
    s3.invalidate_cache()
    assert s3.ls(f"{where}/none") == [f"{where}/none/_SUCCESS"]


def test_failed_save_leaves_nothing_on_s3(s3sc, s3):
    where = prefix()
    s3.pipe_file(f"{where}/keep", b"")

    def boom(split, iterator):
        if split == 3:
            raise ValueError("bad partition 3")
        return iterator

    with pytest.raises(ValueError, match="bad partition 3"):
        s3sc.parallelize(range(60), 6).mapPartitionsWithIndex(boom) \
            .saveAsTextFile(f"s3://{where}/out")
    s3.invalidate_cache()
    assert not s3.exists(f"{where}/out")
    assert not s3.exists(f"{where}/out/_SUCCESS")
    assert [p.rsplit("/", 1)[1] for p in s3.find(where)] == ["keep"]  # temporaries gone too


def test_wrong_credentials_name_the_url(s3sc, s3, tmp_path):
    from moto.core.authorization import enable_iam_authentication

    _, remote = mirror(s3, tmp_path, {"a.txt": b"a\n"})
    rdd = s3sc.textFile(f"{remote}/a.txt")
    assert rdd.getNumPartitions() == 2  # listed before the credentials go bad
    with enable_iam_authentication():  # from now on moto checks keys: "testing" is unknown
        with pytest.raises(PermissionError, match=f"Access denied listing {remote}/a.txt: "):
            s3sc.textFile(f"{remote}/a.txt").count()
        with pytest.raises(PermissionError, match=f"Access denied reading {remote}/a.txt: "):
            rdd.collect()  # in a worker
        with pytest.raises(PermissionError, match="Access denied checking the output s3"):
            s3sc.parallelize([1]).saveAsTextFile(f"{remote}/out")


def test_memory_urls_need_an_in_process_master(s3sc):
    with pytest.raises(ValueError, match="inprocess"):
        s3sc.textFile("memory://data/x.txt")
    with pytest.raises(ValueError, match="inprocess"):
        s3sc.parallelize([1]).saveAsTextFile("memory://data/out")


def test_memory_round_trip_in_process(fresh):
    sc = fresh("inprocess[2]")
    base = f"memory://fastrdd-{uuid.uuid4().hex[:8]}"
    try:
        sc.parallelize(range(100), 4).saveAsTextFile(f"{base}/text")
        assert sc.textFile(f"{base}/text").map(int).collect() == list(range(100))
        assert sc.textFile(f"{base}/text").getNumPartitions() == 4
        sc.parallelize([("k", 1), ("v", [2])], 2).saveAsPickleFile(f"{base}/pickle")
        assert sorted(sc.pickleFile(f"{base}/pickle").collect()) == [("k", 1), ("v", [2])]
        with pytest.raises(FileExistsError, match="already exists"):
            sc.parallelize([1]).saveAsPickleFile(f"{base}/pickle")
    finally:
        import fsspec

        fsspec.filesystem("memory").rm(base[len("memory://"):], recursive=True)


def test_combine_small_files_for_text_file(fresh, s3, tmp_path):
    local, remote = mirror(s3, tmp_path, small_files(12))
    sc = fresh("local[2]", fastrdd_files_combineSmallFiles="true")
    assert sc.textFile(local).getNumPartitions() == 2  # the floor: min(defaultMinPartitions, 12)
    assert sc.textFile(local, 5).getNumPartitions() == 5
    expected = [line for i in range(12) for line in
                (tmp_path / f"f{i:02d}.txt").read_text().splitlines()]
    assert sc.textFile(local, 5).collect() == expected  # file order kept


def test_remote_url_without_fsspec_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "fsspec", None)
    with pytest.raises(ImportError, match=r'pip install "fastrdd\[remote\]"'):
        textio.expand_paths("s3://bucket/data/*.txt")
    with pytest.raises(ImportError, match=r"s3://bucket/out needs fsspec"):
        textio.prepare_output_dir("s3://bucket/out")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from([b"a", b"bc", b"\n", b"\r", b"\r\n", b"\xef\xbb\xbf", b"\xff"]),
                max_size=60), st.integers(1, 9), st.integers(1, 7))
def test_remote_splits_read_as_local(tmp_path_factory, pieces, min_partitions, read_size):
    """Line ownership over fsspec (memory://) equals the local reader's, split by split."""
    import fsspec

    data = b"".join(pieces)
    local = tmp_path_factory.mktemp("r") / "f.txt"
    local.write_bytes(data)
    name = f"/fastrdd-{uuid.uuid4().hex[:8]}/f.txt"
    memory = fsspec.filesystem("memory")
    memory.pipe_file(name, data)
    try:
        ours = textio.compute_splits(textio.expand_paths(f"memory://{name}"), min_partitions)
        theirs = textio.compute_splits([str(local)], min_partitions)
        assert [(s.start, s.end) for s in ours] == [(s.start, s.end) for s in theirs]
        for a, b in zip(ours, theirs):
            assert list(textio.read_lines(a, False, read_size=read_size)) == \
                list(textio.read_lines(b, False, read_size=read_size))
    finally:
        memory.rm(name.rsplit("/", 1)[0], recursive=True)


def test_options_from_conf_and_what_travels():
    conf = [("spark.hadoop.fs.s3a.access.key", "AK"), ("spark.hadoop.fs.s3a.secret.key", "SK"),
            ("spark.hadoop.fs.s3a.session.token", "T"),
            ("spark.hadoop.fs.s3a.endpoint", "minio.local:9000"),
            ("spark.hadoop.fs.s3a.connection.ssl.enabled", "false"),
            ("spark.hadoop.fs.s3a.path.style.access", "true"),
            ("fastrdd.fs.gcs.token", "anon"), ("fastrdd.fs.s3.requester_pays", "true"),
            ("fastrdd.fs.s3.config_kwargs", '{"retries": {"max_attempts": 2}}')]
    options = filesystems.options_from_conf(conf)
    assert options["s3"] == {"key": "AK", "secret": "SK", "token": "T",
                             "client_kwargs": {"endpoint_url": "http://minio.local:9000"},
                             "config_kwargs": {"retries": {"max_attempts": 2}},
                             "requester_pays": True}
    assert options["gcs"] == {"token": "anon"}
    assert filesystems.options_from_conf([]) == {}
    import pickle

    path = filesystems.remote_path("s3a://b/k.txt", options)
    again = pickle.loads(pickle.dumps(textio.Split(path, 0, None)))
    assert again.path.options == options["s3"] and again.path == "s3a://b/k.txt"
    assert "SK" not in repr(again) and type(str(again.path)) is str

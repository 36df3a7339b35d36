"""Tests for fastrdd.textio: input paths, Hadoop splits, line ownership, committed output."""

import bz2
import errno
import gzip
import os
import re

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fastrdd.io import packing
from fastrdd.io.text import (
    Split,
    abort_output_dir,
    combine_splits,
    commit_output_dir,
    compute_splits,
    expand_paths,
    prepare_output_dir,
    read_lines,
    write_part,
)

BOM = b"\xef\xbb\xbf"


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(path)


# ---------------------------------------------------------------------------
# The reference: Hadoop's LineRecordReader, written the slow obvious way


def hadoop_lines(content):
    """[(start offset, raw line)] with terminators \\n, \\r\\n, lone \\r; BOM dropped."""
    lines, i = [], 0
    for m in re.finditer(rb"\r\n|\r|\n", content):
        lines.append((i, content[i:m.start()]))
        i = m.end()
    if i < len(content):
        lines.append((i, content[i:]))
    if lines and lines[0][1].startswith(BOM):
        lines[0] = (0, lines[0][1][len(BOM):])
    return lines


def owned(lines, split):
    """The lines a split owns: first byte in (start, end], or byte 0 for the first split."""
    return [
        raw for pos, raw in lines if (pos > split.start or split.start == 0) and pos <= split.end
    ]


FRAGMENTS = [
    b"a", b"bc", b" ", b"\xc3\xa9", b"\xe2\x82\xac", b"\xff", b"\xe2\x82", b"\x80",
    b"\n", b"\n", b"\r\n", b"\r", b"\x0b", b"\x1c", b"\xe2\x80\xa8", BOM, b"\x00",
]


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    content=st.lists(st.sampled_from(FRAGMENTS), max_size=60).map(b"".join),
    min_partitions=st.integers(1, 30),
    block_size=st.integers(1, 50),
    read_size=st.integers(1, 17),
    use_unicode=st.booleans(),
)
def test_splits_yield_every_line_once_as_hadoop(
    tmp_path, content, min_partitions, block_size, read_size, use_unicode
):
    path = write(tmp_path / "f.txt", content)
    splits = compute_splits([path], min_partitions, block_size=block_size)
    reference = hadoop_lines(content)
    got_all = []
    for split in splits:
        got = list(read_lines(split, use_unicode, read_size=read_size))
        expected = owned(reference, split)
        # No fragment is an encoded surrogate, where the JVM's replacement
        # differs from Python's.  Bytes are PySpark's: the decoded line as
        # UTF-8 (checked against PySpark 4.3).
        expected = [raw.decode("utf-8", "replace") for raw in expected]
        if not use_unicode:
            expected = [line.encode() for line in expected]
        assert got == expected, split
        got_all.extend(got)
    assert len(got_all) == len(reference)
    # and a single whole-file read agrees with the concatenation
    assert list(read_lines(Split(path, 0, None), use_unicode, read_size=read_size)) == got_all


def test_reference_matches_python_semantics_without_lone_cr():
    content = b"a\r\n\nb\xff\nc"
    assert [raw for _, raw in hadoop_lines(content)] == [b"a", b"", b"b\xff", b"c"]
    assert [raw for _, raw in hadoop_lines(b"a\n")] == [b"a"]
    assert hadoop_lines(b"") == []


# ---------------------------------------------------------------------------
# read_lines details


def test_line_terminators_and_decoding(tmp_path):
    path = write(tmp_path / "t.txt", b"a\r\nb\rc\x0bd\xe2\x80\xa8e\x1cf\n\nbad\xff\xfe\nlast")
    assert list(read_lines(Split(path, 0, None))) == [
        "a", "b", "c\x0bd\u2028e\x1cf", "", "bad\ufffd\ufffd", "last",
    ]
    # PySpark's bytes are the decoded line as UTF-8 (checked against PySpark 4.3)
    assert list(read_lines(Split(path, 0, None), use_unicode=False))[4] == b"bad\xef\xbf\xbd\xef\xbf\xbd"


def test_final_newline_adds_no_empty_line(tmp_path):
    assert list(read_lines(Split(write(tmp_path / "a", b"x\n"), 0, None))) == ["x"]
    assert list(read_lines(Split(write(tmp_path / "b", b"x\n\n"), 0, None))) == ["x", ""]
    assert list(read_lines(Split(write(tmp_path / "c", b"\n"), 0, None))) == [""]
    assert list(read_lines(Split(write(tmp_path / "d", b""), 0, 0))) == []


def test_line_starting_at_boundary_goes_to_the_earlier_split(tmp_path):
    # "aaaa\n" is bytes 0-4, "bbbb" starts at byte 5 == the first split's end
    path = write(tmp_path / "f", b"aaaa\nbbbb\ncc\n")
    assert list(read_lines(Split(path, 0, 5))) == ["aaaa", "bbbb"]
    assert list(read_lines(Split(path, 5, 13))) == ["cc"]
    # a split that starts and ends inside one line owns nothing
    assert list(read_lines(Split(path, 6, 8))) == []


def test_crlf_torn_by_split_boundary(tmp_path):
    path = write(tmp_path / "f", b"ab\r\ncd\r\nef")
    # boundary between '\r' and '\n'
    assert list(read_lines(Split(path, 0, 3))) == ["ab"]
    assert list(read_lines(Split(path, 3, 10))) == ["cd", "ef"]


def test_long_lines_cross_many_blocks(tmp_path):
    lines = ["x" * 1000, "", "y" * 37, "\u00e9" * 500]
    path = write(tmp_path / "f", "\r\n".join(lines).encode())
    assert list(read_lines(Split(path, 0, None), read_size=7)) == lines
    assert list(read_lines(Split(path, 0, None), read_size=1)) == lines


def test_bom_is_dropped_from_first_line_only(tmp_path):
    path = write(tmp_path / "f", BOM + b"a\n" + BOM + b"b\n")
    assert list(read_lines(Split(path, 0, None))) == ["a", "\ufeffb"]
    assert list(read_lines(Split(write(tmp_path / "g", BOM), 0, None))) == [""]


def test_read_is_lazy_and_names_missing_file(tmp_path):
    missing = str(tmp_path / "gone.txt")
    it = read_lines(Split(missing, 0, None))
    with pytest.raises(FileNotFoundError) as info:
        next(it)
    assert info.value.filename == missing


def test_invalid_splits_are_refused(tmp_path):
    path = write(tmp_path / "f.gz", gzip.compress(b"a\n"))
    with pytest.raises(ValueError, match="compressed file cannot be read from byte 5"):
        read_lines(Split(path, 5, None))
    with pytest.raises(ValueError, match="Invalid split"):
        read_lines(Split(path, 4, 2))


# ---------------------------------------------------------------------------
# Compressed input


@pytest.mark.parametrize("suffix, compress", [(".gz", gzip.compress), (".bz2", bz2.compress)])
def test_compressed_files_read_whole(tmp_path, suffix, compress):
    content = b"one\r\ntwo\n\xff\nthree"
    path = write(tmp_path / ("f.txt" + suffix), compress(content))
    splits = compute_splits([path], 8, block_size=4)
    assert splits == [Split(path, 0, None)]
    assert list(read_lines(splits[0])) == ["one", "two", "\ufffd", "three"]
    assert list(read_lines(splits[0], use_unicode=False, read_size=3)) == [
        b"one", b"two", b"\xef\xbf\xbd", b"three",
    ]


def test_multi_member_gzip(tmp_path):
    path = write(tmp_path / "f.gz", gzip.compress(b"a\nb") + gzip.compress(b"c\n"))
    assert list(read_lines(Split(path, 0, None))) == ["a", "bc"]


@pytest.mark.parametrize("suffix, data", [(".gz", b"not gzip at all"), (".gz", gzip.compress(b"abc\n" * 100)[:-12]),
                                          (".bz2", b"BZh9 nope")])
def test_corrupt_compressed_input_names_the_file(tmp_path, suffix, data):
    path = write(tmp_path / ("bad" + suffix), data)
    with pytest.raises(OSError) as info:
        list(read_lines(Split(path, 0, None)))
    assert info.value.filename == path


# ---------------------------------------------------------------------------
# expand_paths


def test_expand_file_dir_glob_and_list(tmp_path):
    a = write(tmp_path / "a.txt", b"a")
    d = tmp_path / "out"
    for name in ["part-00001", "part-00000", "_SUCCESS", ".part-00000.crc", "_temporary"]:
        write(d / name, b"x")
    write(tmp_path / "b1.log", b"")
    write(tmp_path / "b2.log", b"")
    write(tmp_path / "_b3.log", b"")
    assert expand_paths(a) == [a]
    assert expand_paths(str(d)) == [str(d / "part-00000"), str(d / "part-00001")]
    assert expand_paths(str(d) + "/") == [str(d / "part-00000"), str(d / "part-00001")]
    assert expand_paths(str(tmp_path / "*.log")) == [str(tmp_path / "b1.log"), str(tmp_path / "b2.log")]
    assert expand_paths(str(tmp_path / "b[^1].log")) == [str(tmp_path / "b2.log")]
    assert expand_paths(str(d / "part-*")) == [str(d / "part-00000"), str(d / "part-00001")]
    # comma list keeps component order; braces do not split the list
    spec = f"file://{tmp_path}/b?.log,{a},file:{tmp_path}/{{a.txt,b2.log}}"
    assert expand_paths(spec) == [
        str(tmp_path / "b1.log"), str(tmp_path / "b2.log"), a, a, str(tmp_path / "b2.log"),
    ]


def test_glob_matching_directories_lists_them(tmp_path):
    write(tmp_path / "d1" / "x", b"")
    write(tmp_path / "d2" / "y", b"")
    write(tmp_path / "d2" / "_SUCCESS", b"")
    assert expand_paths(str(tmp_path / "d*")) == [str(tmp_path / "d1" / "x"), str(tmp_path / "d2" / "y")]


def test_empty_directory_gives_no_files(tmp_path):
    (tmp_path / "empty").mkdir()
    assert expand_paths(str(tmp_path / "empty")) == []


def test_sub_directory_is_not_a_file(tmp_path):
    write(tmp_path / "d" / "sub" / "x", b"")
    with pytest.raises(IsADirectoryError, match="Not a file: .*sub.*use a glob"):
        expand_paths(str(tmp_path / "d"))


def test_missing_path_and_empty_glob(tmp_path):
    write(tmp_path / "a.txt", b"")
    missing = str(tmp_path / "nope.txt")
    with pytest.raises(FileNotFoundError) as info:
        expand_paths(f"{tmp_path}/a.txt,{missing}")
    assert info.value.strerror == f"Input path does not exist: {missing}"
    assert info.value.errno == errno.ENOENT
    assert info.value.filename == missing
    pattern = f"file:{tmp_path}/*.csv"
    with pytest.raises(FileNotFoundError) as info:
        expand_paths(pattern)
    assert info.value.strerror == f"Input Pattern {pattern} matches 0 files"
    assert info.value.filename == f"{tmp_path}/*.csv"


def test_bad_specs(tmp_path):
    with pytest.raises(ValueError, match="Empty path"):
        expand_paths(f"{tmp_path},")
    with pytest.raises(ValueError, match="Unsupported filesystem .*nosuchfs://"):
        expand_paths("nosuchfs://namenode/data")
    with pytest.raises(ValueError, match="Unclosed"):
        expand_paths(f"{tmp_path}/{{a,b")
    with pytest.raises(TypeError, match="must be a str"):
        expand_paths(["a"])


# ---------------------------------------------------------------------------
# compute_splits: Hadoop's arithmetic


def sized(tmp_path, name, size):
    return write(tmp_path / name, b"x" * size)


@pytest.mark.parametrize(
    "size, min_partitions, block_size, expected",
    [
        (100, 2, 32 << 20, [(0, 50), (50, 100)]),
        (105, 2, 32 << 20, [(0, 52), (52, 105)]),  # 53/52 <= 1.1: slop keeps it whole
        (100, 1, 30, [(0, 30), (30, 60), (60, 90), (90, 100)]),
        (63, 1, 30, [(0, 30), (30, 63)]),  # 33/30 == 1.1 is not > SPLIT_SLOP
        (64, 1, 30, [(0, 30), (30, 60), (60, 64)]),
        (3, 10, 32 << 20, [(0, 1), (1, 2), (2, 3)]),  # goal 0 → split size 1
        (10, 0, 32 << 20, [(0, 10)]),
    ],
)
def test_split_counts_like_hadoop(tmp_path, size, min_partitions, block_size, expected):
    path = sized(tmp_path, "f", size)
    splits = compute_splits([path], min_partitions, block_size=block_size)
    assert [(s.start, s.end) for s in splits] == expected
    assert all(s.path == path for s in splits)


def test_splits_across_files(tmp_path):
    a, empty, b = sized(tmp_path, "a", 60), sized(tmp_path, "e", 0), sized(tmp_path, "b", 40)
    gz = write(tmp_path / "c.gz", gzip.compress(b"x" * 1000))
    # total counts the compressed file too (as Hadoop): goal = (100 + len(gz)) // 4
    total = 100 + os.path.getsize(gz)
    goal = total // 4
    splits = compute_splits([a, empty, gz, b], 4)
    assert Split(empty, 0, 0) in splits and Split(gz, 0, None) in splits
    assert [s for s in splits if s.path == a][0] == Split(a, 0, min(goal, 60) if 60 / goal > 1.1 else 60)
    assert [s.path for s in splits] == sorted([s.path for s in splits], key=[a, empty, gz, b].index)


def test_split_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        compute_splits([str(tmp_path / "missing")], 2)
    with pytest.raises(IsADirectoryError, match="Not a file"):
        compute_splits([str(tmp_path)], 2)
    with pytest.raises(ValueError, match="block_size"):
        compute_splits([], 2, block_size=0)


# ---------------------------------------------------------------------------
# Packing small files (wholeTextFiles, binaryFiles, combineSmallFiles)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 1000), max_size=40), st.integers(1, 50), st.integers(1, 3000))
def test_pack_keeps_order_and_the_floor(weights, min_groups, target):
    groups = packing.pack(weights, target, min_groups)
    assert [i for g in groups for i in g] == list(range(len(weights)))  # consecutive, in order
    assert all(groups) and len(groups) >= min(min_groups, len(weights))
    if min_groups == 1:  # no halving: every group but the last stopped at the target
        assert all(sum(weights[i] for i in g[:-1]) < target for g in groups)
        assert all(sum(weights[i] for i in g) >= target for g in groups[:-1])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 10 ** 6), min_size=1, max_size=30), st.integers(1, 40))
def test_group_files_floor(tmp_path_factory, sizes, min_partitions):
    from fastrdd.io.binary import group_files

    d = tmp_path_factory.mktemp("g")
    paths = [sized(d, f"f{i:02d}", 0) for i in range(len(sizes))]
    for path, size in zip(paths, sizes):
        os.truncate(path, size)  # sparse: sizes without writing them
    groups = group_files(paths, min_partitions, max_bytes=1 << 20, open_cost=1 << 12)
    assert [p for g in groups for p in g] == paths
    assert len(groups) >= min(min_partitions, len(paths))


def test_group_files_byte_target(tmp_path):
    from fastrdd.io.binary import group_files

    paths = [sized(tmp_path, f"f{i}", 10) for i in range(8)]

    def sizes(min_partitions, parallelism=None):
        return [len(g) for g in group_files(paths, min_partitions, max_bytes=50, open_cost=4,
                                            parallelism=parallelism)]

    # wholeTextFiles (PySpark's WholeTextFileInputFormat): a group closes at ceil(80 / min)
    assert sizes(1) == [8] and sizes(3) == [3, 3, 2]
    # binaryFiles (StreamFileInputFormat): min(50, max(4, 8 * (10 + 4) // max(2, 1))) = 50
    assert sizes(1, parallelism=2) == [5, 3]
    # min(50, max(4, 112 // 5)) = 22: groups of 3, then the heaviest halved for the floor of 5
    assert sizes(5, parallelism=1) == [2, 1, 2, 1, 2]


def test_combine_splits(tmp_path):
    small = [sized(tmp_path, f"s{i}", 10) for i in range(4)]
    big = sized(tmp_path, "big", 100)
    groups = combine_splits(small + [big], 1, max_bytes=40, open_cost=4, block_size=40)
    # the four small files packed (14 bytes each, a group closes at 40); big's pieces alone
    assert [[(os.path.basename(s.path), s.start, s.end) for s in g] for g in groups] == [
        [("s0", 0, 10), ("s1", 0, 10), ("s2", 0, 10)], [("s3", 0, 10)],
        [("big", 0, 40)], [("big", 40, 80)], [("big", 80, 100)]]
    assert len(combine_splits(small, 4, max_bytes=1000, open_cost=4)) == 4


# ---------------------------------------------------------------------------
# Committed output


def visible(directory):
    return sorted(n for n in os.listdir(directory) if not n.startswith("."))


def test_write_and_commit(tmp_path):
    out = tmp_path / "sub" / "out"  # missing parents are created
    temp = prepare_output_dir(str(out))
    assert os.path.dirname(temp) == str(tmp_path / "sub")
    assert os.path.basename(temp).startswith(".out._temporary-")
    assert not out.exists()
    p0 = write_part(temp, 0, ["a", "é", 3, b"\xff raw", None])
    p1 = write_part(temp, 1, iter([]))
    assert os.path.basename(p0) == "part-00000" and os.path.basename(p1) == "part-00001"
    assert os.listdir(temp) and not out.exists()
    assert visible(tmp_path / "sub") == []  # nothing visible before commit
    commit_output_dir(temp, str(out))
    assert not os.path.exists(temp)
    assert sorted(os.listdir(out)) == ["_SUCCESS", "part-00000", "part-00001"]
    assert (out / "_SUCCESS").read_bytes() == b""
    assert (out / "part-00000").read_bytes() == "a\né\n3\n".encode() + b"\xff raw\nNone\n"
    assert (out / "part-00001").read_bytes() == b""
    # and it reads back through the input side, hidden files skipped
    files = expand_paths(str(out))
    assert [line for f in files for line in read_lines(Split(f, 0, None))] == [
        "a", "é", "3", "\ufffd raw", "None",
    ]


def test_many_records_in_batches(tmp_path):
    temp = prepare_output_dir(str(tmp_path / "out"))
    records = [str(i) for i in range(10000)] + [b"bytes"] + list(range(5000))
    path = write_part(temp, 7, records)
    expected = "".join(f"{r.decode() if isinstance(r, bytes) else r}\n" for r in records).encode()
    with open(path, "rb") as f:
        assert f.read() == expected
    abort_output_dir(temp)


def test_existing_output_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(FileExistsError) as info:
        prepare_output_dir(str(out))
    assert info.value.strerror == f"Output directory {out} already exists"
    assert info.value.errno == errno.EEXIST


def test_output_appearing_before_commit(tmp_path):
    out = tmp_path / "out"
    temp = prepare_output_dir(str(out))
    write_part(temp, 0, ["x"])
    write(out / "other", b"someone else's")
    with pytest.raises(FileExistsError, match="already exists"):
        commit_output_dir(temp, str(out))
    assert os.listdir(tmp_path) == ["out"]
    assert os.listdir(out) == ["other"]


def test_abort_leaves_nothing(tmp_path):
    temp = prepare_output_dir(str(tmp_path / "out"))
    write_part(temp, 0, ["x"])
    abort_output_dir(temp)
    assert os.listdir(tmp_path) == []
    abort_output_dir(temp)  # already gone: fine


def test_failing_iterator_leaves_no_attempt_file(tmp_path):
    temp = prepare_output_dir(str(tmp_path / "out"))

    def records():
        yield from ("r%d" % i for i in range(10000))
        raise RuntimeError("boom in user code")

    with pytest.raises(RuntimeError, match="boom in user code"):
        write_part(temp, 0, records())
    with pytest.raises(UnicodeEncodeError):
        write_part(temp, 1, ["ok", "\udc80"], compression="gzip")
    assert os.listdir(temp) == []


def test_retried_task_replaces_part_and_stray_attempts_are_dropped(tmp_path):
    temp = prepare_output_dir(str(tmp_path / "out"))
    write_part(temp, 0, ["first"])
    write_part(temp, 0, ["second"])
    write(tmp_path / os.path.basename(temp) / ".part-00001.deadbeef.tmp", b"killed")
    commit_output_dir(temp, str(tmp_path / "out"))
    assert sorted(os.listdir(tmp_path / "out")) == ["_SUCCESS", "part-00000"]
    assert (tmp_path / "out" / "part-00000").read_text() == "second\n"


@pytest.mark.parametrize(
    "compression, suffix, decompress",
    [("gzip", ".gz", gzip.decompress), ("bz2", ".bz2", bz2.decompress),
     ("org.apache.hadoop.io.compress.GzipCodec", ".gz", gzip.decompress),
     ("zstd", ".zst", lambda data: _zstd_decompress(data))],
)
def test_compressed_output(tmp_path, compression, suffix, decompress):
    out = tmp_path / "out"
    temp = prepare_output_dir(str(out))
    path = write_part(temp, 2, ["a", "b"] * 3000, compression=compression)
    assert path.endswith("part-00002" + suffix)
    commit_output_dir(temp, str(out))
    part = out / ("part-00002" + suffix)
    assert decompress(part.read_bytes()) == b"a\nb\n" * 3000
    (split,) = compute_splits(expand_paths(str(out)), 4)
    assert list(read_lines(split)) == ["a", "b"] * 3000


def _zstd_decompress(data):
    zstandard = pytest.importorskip("zstandard")
    return zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True).read()


def test_unknown_compression(tmp_path):
    temp = prepare_output_dir(str(tmp_path / "out"))
    with pytest.raises(ValueError, match="Unsupported compression 'lzma'"):
        write_part(temp, 0, ["x"], compression="lzma")
    assert os.listdir(temp) == []

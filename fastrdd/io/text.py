"""Text files in and out: the file side of ``textFile`` and ``saveAsTextFile``.

PySpark reads text through Hadoop's ``TextInputFormat`` and writes it through
``TextOutputFormat``; this module reproduces what a user can observe of both
(which files are read, how many partitions, which partition holds which line,
what the output directory looks like) with the standard library only.

Input::

    "logs/2024-*.txt,extra/"            the user's path specification
        │ expand_paths                  comma list → globs → directory listings
        ▼                               (names starting with "_" or "." hidden)
    ["logs/2024-01.txt", ...]
        │ compute_splits                FileInputFormat.getSplits arithmetic
        ▼
    [Split(path, start, end), ...]      one per partition
        │ read_lines                    LineRecordReader ownership rule
        ▼
    "line", "line", ...

Line ownership (Hadoop 2+ ``LineRecordReader``): a line starts at byte 0 or
just after a terminator, and the terminators are ``\\n``, ``\\r\\n`` and a
lone ``\\r``.  A split ``[start, end)`` owns the lines whose first byte ``p``
satisfies ``start < p <= end`` (the first split also owns ``p == 0``): a split
with ``start > 0`` discards everything up to and including the first
terminator at or after ``start``, then reads lines while the next line starts
at or before ``end``.  Every line therefore belongs to exactly one split of a
file, whatever the split size, and a line that starts exactly at a split
boundary goes to the split *before* the boundary, as in PySpark.  A UTF-8
byte-order mark at byte 0 is dropped from the first line, as Hadoop does.

Output::

    prepare_output_dir("out")      → ./.out._temporary-<uuid>/        (hidden sibling)
    write_part(tmp, 3, lines)      → tmp/.part-00003.<uuid>.tmp ──os.replace──▶ tmp/part-00003
    commit_output_dir(tmp, "out")  → drop stray attempts, write _SUCCESS, rename tmp → out
    abort_output_dir(tmp)          → rm -r tmp

The output directory appears in one rename, complete with ``_SUCCESS``; a task
killed mid-write leaves only a hidden attempt file, which commit removes, and
a retried task replaces its part atomically.

Any other URL (``s3://``, ``gs://``, ``memory://``...) is a
``filesystems.RemotePath``: the same grammar, splits, codecs and output
layout, through fsspec (see ``filesystems.py``); each function below tells
the two apart with one ``isinstance`` test, so local files keep this code.
"""

import bz2
import codecs
import errno
import glob
import gzip
import os
import re
import shutil
import time
import uuid
import zlib
from itertools import chain
from typing import Iterable, Iterator, List, NamedTuple, Optional, Union

from fastrdd.io import filesystems, packing
from fastrdd.io.filesystems import RemotePath
from fastrdd.serializers import chunks as _chunks

__all__ = [
    "Split",
    "expand_paths",
    "compute_splits",
    "combine_splits",
    "read_lines",
    "read_split_group",
    "prepare_output_dir",
    "codec",
    "write_part",
    "commit_output_dir",
    "abort_output_dir",
]

#: Hadoop's fs.local.block.size: the largest split of a local file.
DEFAULT_BLOCK_SIZE = 32 * 1024 * 1024

#: Hadoop's FileInputFormat.SPLIT_SLOP: the last split of a file may be up to
#: 10% larger than the others rather than leave a tiny split behind.
SPLIT_SLOP = 1.1

#: Bytes per read() in read_lines.  Larger blocks amortise the per-block
#: Python calls, but the decoded block (up to 4x its bytes) and its list of
#: lines must stay in the CPU cache: measured on a 100 MB file, 32-128 KiB
#: match ``for line in open(path)`` while 1 MiB is ~2x slower.
READ_SIZE = 64 * 1024

#: Name of the decode error handler that replaces invalid UTF-8 as the JVM
#: does (see _jvm_replace).
JVM_REPLACE = "fastrdd.jvm_replace"

#: Records joined into one write() by write_part: enough to make the per-call
#: cost negligible, small enough that a batch of long records stays modest.
WRITE_BATCH = 4096



class _Zstd:
    """``.zst`` through the optional zstandard package, imported at the first .zst file."""

    @staticmethod
    def open(file, mode="rb"):
        zstd = _zstandard()
        if isinstance(file, str):
            return zstd.ZstdDecompressor().stream_reader(open(file, "rb"), read_across_frames=True,
                                                         closefd=True)
        return zstd.ZstdDecompressor().stream_reader(file, read_across_frames=True, closefd=False)


def _zstandard():
    try:
        import zstandard
    except ImportError:
        raise ImportError('.zst files need the zstandard package: pip install zstandard '
                          '(or "fastrdd[zstd]")') from None
    return zstandard


#: Suffix → module with an ``open(path or file, mode)``.  These codecs are read
#: whole by one task.  (Hadoop can split .bz2 at its block markers; we do not.)
_CODECS = {".gz": gzip, ".bz2": bz2, ".zst": _Zstd}

#: compressionCodecClass names (Hadoop's classes, and short names) → suffix of
#: the part files; ``codec`` and ``write_part`` both read this one table.
_OUTPUT_CODECS = {
    "org.apache.hadoop.io.compress.GzipCodec": ".gz",
    "org.apache.hadoop.io.compress.DefaultCodec": ".gz",
    "org.apache.hadoop.io.compress.BZip2Codec": ".bz2",
    "org.apache.hadoop.io.compress.ZStandardCodec": ".zst",
    "gzip": ".gz",
    "bz2": ".bz2",
    "zstd": ".zst",
}

_BOM = b"\xef\xbb\xbf"
_TERMINATORS = (b"\n", b"\r")
_GLOB_CHARS = re.compile(r"[*?\[{]")
_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


class Split(NamedTuple):
    """A byte range of one input file, read by one task.

    ``end is None`` means the whole file; compressed files are never cut.
    """

    path: str
    start: int
    end: Optional[int]


# ---------------------------------------------------------------------------
# Paths


def expand_paths(spec: str, fs_options: Optional[dict] = None) -> List[str]:
    """Turn a ``textFile`` path specification into the list of files to read.

    ``spec`` is a comma-separated list (commas inside ``{...}`` do not
    separate) of files, directories and glob patterns (``*``, ``?``,
    ``[...]``, ``[^...]``, ``{a,b}``), each optionally prefixed with
    ``file://`` or ``file:``.  A directory contributes its files, sorted,
    without recursion and without Hadoop's hidden files (names starting with
    ``_`` or ``.``, such as ``_SUCCESS``), so the output of
    ``saveAsTextFile`` reads back as is.  Glob matches are sorted and
    filtered the same way; a matched directory is listed.  Components keep
    their given order.  A URL of another filesystem (``s3://bucket/logs/*``)
    follows the same rules through fsspec and yields ``RemotePath``s that
    carry ``fs_options[protocol]`` (``filesystems.options_from_conf``).

    An existing empty directory contributes no files, as in Hadoop.  A
    sub-directory inside a listed directory is an error, as Hadoop's
    "Not a file" is; use a glob such as ``dir/*`` to read one level down.

    >>> expand_paths("/nonexistent/x.txt")
    Traceback (most recent call last):
    ...
    FileNotFoundError: [Errno 2] Input path does not exist: /nonexistent/x.txt: '/nonexistent/x.txt'
    """
    if not isinstance(spec, str):
        raise TypeError(f"input path must be a str, got {type(spec).__name__}: {spec!r}")
    files: List[str] = []
    for component in _split_top_level(spec):
        if not component:
            raise ValueError(
                f"Empty path in input specification {spec!r}; "
                "separate paths with single commas and no trailing comma"
            )
        if filesystems.is_remote(component):
            patterns = None
            if _GLOB_CHARS.search(component.split("://", 1)[1]):
                patterns = [_fnmatch_syntax(p) for p in _expand_braces(component, component)]
            files.extend(filesystems.expand(component, patterns, fs_options or {}))
            continue
        path = _local_path(component)
        if _GLOB_CHARS.search(path):
            matches = sorted(
                {m for pattern in _expand_braces(path, component) for m in glob.glob(_fnmatch_syntax(pattern))}
            )
            matches = [m for m in matches if not _is_hidden(m)]
            if not matches:
                raise _not_found(f"Input Pattern {component} matches 0 files", path)
        elif os.path.exists(path):
            matches = [path]
        else:
            raise _not_found(f"Input path does not exist: {component}", path)
        for match in matches:
            if os.path.isdir(match):
                files.extend(_list_dir(match, component))
            else:
                files.append(match)
    return files


def _local_path(component: str) -> str:
    """Strip the ``file:`` scheme; refuse any other filesystem by name."""
    if component.startswith("file://"):
        return component[len("file://"):]
    if component.startswith("file:"):
        return component[len("file:"):]
    if _URI_SCHEME.match(component):
        raise ValueError(
            f"Unsupported filesystem in path {component!r}: fastrdd reads and writes "
            "local files only (a plain path or a file:// URI)"
        )
    return component


def _split_top_level(text: str) -> List[str]:
    """Split on commas outside ``{...}``, like Hadoop's getPathStrings."""
    parts, depth, begin = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "{":
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
        elif ch == "," and not depth:
            parts.append(text[begin:i])
            begin = i + 1
    parts.append(text[begin:])
    return parts


def _expand_braces(pattern: str, component: str) -> List[str]:
    """``a{b,c{d,e}}f`` → ``[abf, acdf, acef]``: Python's glob has no braces."""
    depth = 0
    for i, ch in enumerate(pattern):
        if ch == "{":
            if not depth:
                open_at = i
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            if not depth:
                head, body, tail = pattern[:open_at], pattern[open_at + 1:i], pattern[i + 1:]
                return [
                    expanded
                    for alternative in _split_top_level(body)
                    for expanded in _expand_braces(head + alternative + tail, component)
                ]
    if depth:
        raise ValueError(f"Unclosed '{{' in input pattern {component!r}")
    return [pattern]


def _fnmatch_syntax(pattern: str) -> str:
    """Hadoop negates a class with ``[^...]``; fnmatch spells it ``[!...]``."""
    return pattern.replace("[^", "[!")


def _is_hidden(path: str) -> bool:
    """Hadoop's hiddenFileFilter: _SUCCESS, _temporary, .crc files and the like."""
    return os.path.basename(path.rstrip(os.sep)).startswith(("_", "."))


def _list_dir(directory: str, component: str) -> List[str]:
    files = []
    for name in sorted(os.listdir(directory)):
        if name.startswith(("_", ".")):
            continue
        path = os.path.join(directory, name)
        if os.path.isdir(path):
            raise IsADirectoryError(
                errno.EISDIR,
                f"Not a file: {path} (input {component} contains a sub-directory and "
                f"directories are not read recursively; use a glob such as "
                f"{os.path.join(directory, '*')} to read one level down)",
                path,
            )
        files.append(path)
    return files


def _not_found(message: str, path: str) -> FileNotFoundError:
    return FileNotFoundError(errno.ENOENT, message, path)


# ---------------------------------------------------------------------------
# Splits


def _codec(path: str):
    """The decompressing module for ``path``, or None if it is plain text."""
    return _CODECS.get(os.path.splitext(path)[1])


def compute_splits(
    paths: List[str], min_partitions: int, block_size: int = DEFAULT_BLOCK_SIZE
) -> List[Split]:
    """Cut files into splits exactly as Hadoop's ``FileInputFormat.getSplits``.

    ``goal = total_bytes // max(min_partitions, 1)`` where the total counts
    every file, compressed ones included (Hadoop does); each plain file is
    cut into ``max(1, min(goal, block_size))``-byte splits, the last of
    which may be up to ``SPLIT_SLOP`` (1.1) times that size.  A compressed
    file is one ``end=None`` split; an empty file is one empty split
    ``(path, 0, 0)``, so it still has a (empty) partition.

    >>> import pathlib, shutil, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp(), "a.txt")
    >>> _ = p.write_bytes(b"x" * 105)
    >>> [(s.start, s.end) for s in compute_splits([str(p)], 2)]
    [(0, 52), (52, 105)]
    >>> shutil.rmtree(p.parent)
    """
    if block_size < 1:
        raise ValueError(f"block_size must be at least 1 byte, got {block_size}")
    sizes = [file_size(path) for path in paths]
    goal = sum(sizes) // max(min_partitions, 1)
    split_size = max(1, min(goal, block_size))
    splits = []
    for path, size in zip(paths, sizes):
        if size == 0:
            splits.append(Split(path, 0, 0))
        elif _codec(path) is not None:
            splits.append(Split(path, 0, None))
        else:
            remaining = size
            # float division, as Java's (double) bytesRemaining / splitSize
            while remaining / split_size > SPLIT_SLOP:
                offset = size - remaining
                splits.append(Split(path, offset, offset + split_size))
                remaining -= split_size
            if remaining:
                splits.append(Split(path, size - remaining, size))
    return splits


def file_size(path: str) -> int:
    """Bytes in a file: a local path, or a RemotePath (from its listing, if it saw them)."""
    if isinstance(path, RemotePath):
        return filesystems.size(path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, f"Not a file: {path}", path)
    return os.stat(path).st_size


def combine_splits(paths: List[str], min_partitions: int,
                   max_bytes: int = packing.MAX_PARTITION_BYTES,
                   open_cost: int = packing.OPEN_COST,
                   block_size: int = DEFAULT_BLOCK_SIZE) -> List[List[Split]]:
    """``compute_splits``, with consecutive small whole files packed into one group.

    ``textFile`` with ``fastrdd.files.combineSmallFiles=true``: a group is
    one partition, read file after file (``read_split_group``); pieces of a
    file cut into several splits stay alone.  The byte target and the
    ``min_partitions`` floor are ``packing``'s.
    """
    splits = compute_splits(paths, min_partitions, block_size)
    sizes = {path: file_size(path) for path in paths}
    whole = [s.start == 0 and s.end in (None, sizes[s.path]) for s in splits]
    weights = [(sizes[s.path] if s.end is None else s.end - s.start) + open_cost for s in splits]
    target = packing.byte_target(weights, min_partitions, max_bytes, open_cost)
    groups = packing.pack(weights, target, min(min_partitions, len(paths)),
                          alone=[not w for w in whole])
    return [[splits[i] for i in group] for group in groups]


def read_split_group(splits: List[Split], use_unicode: bool = True) -> Iterator[Union[str, bytes]]:
    """The lines of a ``combine_splits`` group, split after split."""
    return chain.from_iterable(read_lines(split, use_unicode) for split in splits)


def read_split_group_batches(splits: List[Split], use_unicode: bool = True):
    """``read_split_group`` as lists of lines."""
    return chain.from_iterable(read_line_batches(split, use_unicode) for split in splits)


# ---------------------------------------------------------------------------
# Reading


def read_lines(
    split: Split, use_unicode: bool = True, *, read_size: int = READ_SIZE
) -> Iterator[Union[str, bytes]]:
    """Iterate over the lines ``split`` owns, without their terminators.

    Lines end at ``\\n``, ``\\r\\n`` or a lone ``\\r`` (Hadoop's rule, also
    Python's universal newlines); ``\\x0b``, ``\\x1c`` or ``\\u2028`` do not
    end a line.  A final line without terminator is a line; a terminator at
    end of file does not start an empty one.  With ``use_unicode`` lines are
    ``str`` decoded as UTF-8, invalid bytes shown as U+FFFD exactly as the
    JVM shows them to PySpark; otherwise they are ``bytes``: the raw bytes of
    valid UTF-8, and PySpark's UTF-8 of the decoded line where it is not.

    The file is opened on first ``next()`` and closed when the iterator is
    exhausted or dropped.  Blocks of ``read_size`` bytes are cut after their
    last terminator, decoded once and split once, so the per-line cost is a
    list iteration in C.

    >>> import pathlib, shutil, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp(), "a.txt")
    >>> _ = p.write_bytes(b"one\\r\\ntwo\\n\\nthree")
    >>> list(read_lines(Split(str(p), 0, None)))
    ['one', 'two', '', 'three']
    >>> list(read_lines(Split(str(p), 0, 3))), list(read_lines(Split(str(p), 3, 15)))
    (['one'], ['two', '', 'three'])
    >>> shutil.rmtree(p.parent)
    """
    path, start, end = split
    if start < 0 or (end is not None and end < start):
        raise ValueError(f"Invalid split of {path}: start={start}, end={end}")
    if start and _codec(path) is not None:
        raise ValueError(
            f"Invalid split of {path}: a compressed file cannot be read from byte {start}; "
            "compute_splits gives compressed files a single split"
        )
    if read_size < 1:
        raise ValueError(f"read_size must be at least 1 byte, got {read_size}")
    return chain.from_iterable(read_line_batches(split, use_unicode, read_size=read_size))


def read_line_batches(
    split: Split, use_unicode: bool = True, *, read_size: int = READ_SIZE
) -> Iterator[List[Union[str, bytes]]]:
    """``read_lines`` a block at a time: lists of lines (a task counts them per list)."""
    path, start, end = split
    to_lines = _text_lines if use_unicode else _byte_lines
    return map(to_lines, _owned_chunks(path, start, end, read_size))


def _jvm_replace(err: UnicodeDecodeError):
    """One U+FFFD per malformed sequence, cut where Java's UTF-8 decoder cuts.

    PySpark's lines are Hadoop ``Text`` decoded by the JVM, which agrees with
    Python's ``"replace"`` (one U+FFFD per maximal valid prefix) except for
    an encoded surrogate: ``ED`` followed by ``A0``-``BF`` is taken as the
    start of a 3-byte sequence, so ``ED A0 80`` is one U+FFFD (three in
    Python), and ``ED A0`` before a non-continuation byte or the end of the
    line is one (two in Python).
    """
    data, i = err.object, err.start
    if data[i] == 0xED and i + 1 < len(data) and 0xA0 <= data[i + 1] <= 0xBF:
        end = i + 3 if i + 2 < len(data) and data[i + 2] & 0xC0 == 0x80 else i + 2
        return "\ufffd", end
    return "\ufffd", err.end


codecs.register_error(JVM_REPLACE, _jvm_replace)


def _text_lines(chunk: bytes) -> List[str]:
    text = chunk.decode("utf-8", JVM_REPLACE)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if chunk.endswith(_TERMINATORS):
        lines.pop()  # the '' after the final terminator is not a line
    return lines


def _byte_lines(chunk: bytes) -> List[bytes]:
    ends = chunk.endswith(_TERMINATORS)
    if not chunk.isascii():
        # PySpark's bytes are the JVM's decoded line re-encoded as UTF-8, so
        # invalid input comes back with U+FFFD in it; valid input unchanged.
        try:
            chunk.decode("utf-8")
        except UnicodeDecodeError:
            chunk = chunk.decode("utf-8", JVM_REPLACE).encode("utf-8")
    if b"\r" in chunk:
        chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    lines = chunk.split(b"\n")
    if ends:
        lines.pop()
    return lines


def _line_end(buf: bytes, i: int) -> int:
    """Index just past the first terminator at or after ``buf[i]``, or -1.

    A ``\\r`` at the very end of ``buf`` counts as a terminator on its own:
    callers only pass buffers cut where that is known to be true.
    """
    lf = buf.find(b"\n", i)
    cr = buf.find(b"\r", i, lf if lf >= 0 else len(buf))
    if cr >= 0:
        return cr + 2 if buf[cr + 1:cr + 2] == b"\n" else cr + 1
    return lf + 1 if lf >= 0 else -1


def _owned_chunks(path: str, start: int, end: Optional[int], read_size: int) -> Iterator[bytes]:
    """Yield the bytes of the lines the split owns, in blocks of whole lines.

    Each block ends just after a terminator, except the last one of a file
    without a final terminator.  The only empty block yielded is a file's
    first line when it is nothing but a byte-order mark (Hadoop makes that
    one empty line).
    """
    codec = _codec(path)
    if isinstance(path, RemotePath):
        f = filesystems.open_input(path, codec, from_start=not start)
    else:
        f = codec.open(path, "rb") if codec is not None else open(path, "rb", buffering=0)
    with f as f:
        if start:
            f.seek(start)
        pos = start  # file offset of the first byte of the next block
        carry: List[bytes] = []  # bytes read after the last safe cut point
        skipping = start > 0  # the first (partial) line belongs to the previous split
        at_origin = start == 0  # the next block begins at byte 0 (BOM check)
        while True:
            data = _read(f, read_size, path)
            if data:
                # Cut after the last '\n', or after the last '\r' whose next
                # byte is known (so a '\r\n' is never torn apart).
                cut = max(data.rfind(b"\n"), data.rfind(b"\r", 0, len(data) - 1)) + 1
                if not cut:
                    carry.append(data)  # a line longer than read_size
                    continue
                if carry:
                    carry.append(data[:cut])
                    buf = b"".join(carry)
                else:
                    buf = data[:cut] if cut < len(data) else data
                carry = [data[cut:]] if cut < len(data) else []
            else:
                buf = b"".join(carry)
                if not buf:
                    return
                carry = []
            if skipping:
                skip = _line_end(buf, 0)
                if skip < 0:
                    return  # end of file inside the previous split's line
                buf = buf[skip:]
                pos += skip
                skipping = False
            last = False
            if end is not None:
                if pos > end:
                    return
                if pos + len(buf) > end + 1:
                    # keep up to the line containing byte `end`, the last one
                    # starting at or before it
                    stop = _line_end(buf, end - pos)
                    if stop >= 0:
                        buf = buf[:stop]
                    last = True
            size = len(buf)
            if buf:
                if at_origin:
                    at_origin = False
                    yield from _strip_bom(buf)
                else:
                    yield buf
            if last or not data:
                return
            pos += size


def _strip_bom(buf: bytes) -> Iterator[bytes]:
    """The first block of a file, without a leading UTF-8 byte-order mark."""
    if buf.startswith(_BOM):
        yield buf[len(_BOM):]  # may be b"": a BOM-only first line is one empty line
    else:
        yield buf


def _read(f, size: int, path: str) -> bytes:
    """``f.read(size)``, with decompression errors naming the file."""
    try:
        return f.read(size)
    except OSError as e:
        if e.filename is not None:
            raise
        raise OSError(errno.EIO, f"Cannot read input file ({e})", path) from e
    except (EOFError, zlib.error) as e:
        raise OSError(errno.EIO, f"Corrupt or truncated compressed input ({e})", path) from e
    except Exception as e:
        if type(e).__module__.startswith("zstandard"):  # ZstdError, of an optional package
            raise OSError(errno.EIO, f"Corrupt or truncated compressed input ({e})", path) from e
        raise


# ---------------------------------------------------------------------------
# Writing


def prepare_output_dir(path: str, fs_options: Optional[dict] = None) -> str:
    """Refuse an existing output path; create and return its hidden temporary twin.

    The temporary directory ``{parent}/.{name}._temporary-{uuid}`` is a
    sibling, so the final rename stays within one filesystem, and hidden, so
    a glob over the parent does not pick up half-written output.  Missing
    parents are created, as Hadoop's mkdirs does.  A URL of another
    filesystem gets a hidden sibling prefix (``filesystems.prepare_output``).
    """
    if filesystems.is_remote(path):
        return filesystems.prepare_output(path, fs_options or {})
    target = os.path.abspath(_local_path(path))
    if os.path.lexists(target):
        raise _exists(path, target)
    parent, name = os.path.split(target)
    os.makedirs(parent, exist_ok=True)
    temp_dir = os.path.join(parent, f".{name}._temporary-{uuid.uuid4().hex}")
    os.mkdir(temp_dir)
    return temp_dir


def codec(name: Optional[str]) -> Optional[str]:
    """``saveAsTextFile``'s compressionCodecClass, checked on the driver so that a
    bad name fails before any task runs; returned as is for ``write_part``."""
    if name is not None and name not in _OUTPUT_CODECS:
        raise ValueError(f"unsupported compressionCodecClass {name!r}: use one of "
                         f"{sorted(_OUTPUT_CODECS)}")
    return name


def write_part(
    temp_dir: str,
    partition_index: int,
    lines_iter: Iterable,
    compression: Optional[str] = None,
) -> str:
    """Write one partition as ``temp_dir/part-NNNNN[.gz|.bz2|.zst]``; return its path.

    Each element becomes one line: ``bytes`` as is, ``str`` encoded UTF-8,
    anything else ``str(x)`` encoded UTF-8 (PySpark's rule).  The data goes
    to a hidden attempt file first and is renamed into place with
    ``os.replace``, so a retried task overwrites atomically and a killed one
    leaves no visible part.  If ``lines_iter`` raises, the attempt file is
    removed and the exception propagates.

    ``compression`` is None or a name ``codec`` accepts: ``"gzip"``, ``"bz2"``,
    ``"zstd"`` or the Hadoop codec class names PySpark passes.
    """
    try:
        suffix = "" if compression is None else _OUTPUT_CODECS[compression]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unsupported compression {compression!r}; use None, 'gzip', 'bz2' or 'zstd'"
        ) from None
    return write_part_chunks(temp_dir, partition_index, _encoded_batches(lines_iter), suffix)


def write_part_chunks(temp_dir: str, partition_index: int, chunks: Iterable[bytes],
                      suffix: str = "") -> str:
    """Write ``chunks`` of bytes as ``temp_dir/part-NNNNN<suffix>``, atomically (see write_part).

    A ``.gz``, ``.bz2`` or ``.zst`` suffix compresses; any other suffix is
    only a name.  Under a RemotePath the part is one object, which appears
    whole or not at all (``filesystems.write_file``).
    """
    if partition_index < 0:
        raise ValueError(f"partition_index must be >= 0, got {partition_index}")
    name = "part-%05d%s" % (partition_index, suffix)
    if isinstance(temp_dir, RemotePath):
        return filesystems.write_file(temp_dir.child(name),
                                      lambda raw: _write_encoded(raw, chunks, suffix))
    final = os.path.join(temp_dir, name)
    attempt = os.path.join(temp_dir, ".part-%05d.%s.tmp" % (partition_index, uuid.uuid4().hex))
    try:
        with open(attempt, "xb") as raw:
            _write_encoded(raw, chunks, suffix)
        os.replace(attempt, final)
    except BaseException:
        _remove_file(attempt)
        raise
    return final


def _write_encoded(raw, chunks: Iterable[bytes], suffix: str) -> None:
    """Write ``chunks`` into the binary file ``raw``, compressed as ``suffix`` says."""
    if suffix == ".gz":
        # level 6 as zlib's (and Hadoop's) default: level 9 costs ~3x the
        # time for ~1% smaller files; mtime=0 keeps reruns byte-identical
        out = gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0)
    elif suffix == ".bz2":
        out = bz2.BZ2File(raw, "wb")
    elif suffix == ".zst":
        out = _zstandard().ZstdCompressor().stream_writer(raw, closefd=False)
    else:
        out = raw
    try:
        for data in chunks:
            out.write(data)
    finally:
        if out is not raw:
            out.close()  # before raw: it writes the trailer into raw


def _encoded_batches(items: Iterable) -> Iterator[bytes]:
    """UTF-8 bytes of WRITE_BATCH records at a time, each record + ``\\n``."""
    for batch in _chunks(items, WRITE_BATCH):
        batch.append("")  # so the join ends with the last record's "\n"
        try:
            text = "\n".join(batch)  # all str: one join, one encode
        except TypeError:
            yield b"\n".join([_record_bytes(x) for x in batch])
        else:
            yield text.encode("utf-8")


def _record_bytes(x) -> bytes:
    if isinstance(x, bytes):
        return x
    if isinstance(x, str):
        return x.encode("utf-8")
    return str(x).encode("utf-8")


def commit_output_dir(temp_dir: str, path: str) -> None:
    """Publish ``temp_dir`` as ``path``: drop stray attempts, add ``_SUCCESS``, rename.

    If ``path`` appeared since prepare_output_dir, the output is discarded
    and FileExistsError raised.  (An *empty* directory created at ``path``
    in the instant between the check and the rename would be replaced:
    POSIX rename allows that and the standard library has no no-replace
    rename.)  A RemotePath ``temp_dir`` is copied into place instead
    (``filesystems.commit_output``).
    """
    if isinstance(temp_dir, RemotePath):
        return filesystems.commit_output(temp_dir, path)
    target = os.path.abspath(_local_path(path))
    for name in os.listdir(temp_dir):
        if name.startswith(".part-") and name.endswith(".tmp"):
            _remove_file(os.path.join(temp_dir, name))  # a killed or losing attempt
    with open(os.path.join(temp_dir, "_SUCCESS"), "wb"):
        pass
    if os.path.lexists(target):
        abort_output_dir(temp_dir)
        raise _exists(path, target)
    try:
        os.rename(temp_dir, target)
    except OSError as e:
        if e.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
            raise
        abort_output_dir(temp_dir)
        raise _exists(path, target) from e


#: how long an aborted save waits for the failed job's other tasks to stop writing
ABORT_WAIT = 10.0


def abort_output_dir(temp_dir: str) -> None:
    """Remove ``temp_dir`` and everything in it; a missing directory is fine.

    The failed job's other tasks may still be writing their parts: a file
    they create while the directory is removed makes the removal fail, so
    it is retried until the directory is gone (their next file then cannot
    be created: its directory no longer exists).
    """
    if isinstance(temp_dir, RemotePath):
        return filesystems.abort_output(temp_dir)
    deadline = time.monotonic() + ABORT_WAIT
    while True:
        try:
            shutil.rmtree(temp_dir)
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _remove_file(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _exists(path: str, target: str) -> FileExistsError:
    return FileExistsError(errno.EEXIST, f"Output directory {path} already exists", target)

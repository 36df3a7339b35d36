"""Deterministic input files for the macro benchmarks (``compare.py``).

    python -m benchmarks.datagen --size 64MB --dir /tmp/fastrdd-bench-data

One size drives every file, scaled from the issue's reference sizes at
256 MB (``scale = size / 256 MB``):

    file        content                                     at 256 MB
    ----------  ------------------------------------------  --------------------
    text.txt    Zipf-distributed words (vocabulary 50 000),  256 MB
                5-15 words a line, one space between words
    log.txt     LEVEL<TAB>2013-08-DD HH:MM:SS<TAB>topic w..  256 MB, 20% ERROR
    points.txt  y x1 .. x10 (y in {-1, 1}, x ~ N(0.7 y, 1))  1M points
    pairs.txt   key<TAB>value, keys uniform in [0, K)        10M pairs, K = 100k
    dim.txt     key<TAB>weight, every key in [0, K) once     100k rows
    graph.txt   src<TAB>dst, 1-19 out-links per page,        2M edges, 200k pages
                destinations skewed towards low page ids

Every file is a pure function of ``(size, GENERATOR_VERSION)``: the random
numbers come from a counter-based generator (splitmix64 over a counter,
computed with numpy), so they do not depend on numpy's own generators or
on the platform.  Lines are assembled with vectorised gathers from a token
table instead of a per-word Python loop, which keeps 256 MB of text at a few
seconds.  ``ensure(directory, size)`` writes a ``manifest.json`` beside the
files and reuses them when the manifest matches.
"""
import argparse
import json
import os
import time

import numpy as np

__all__ = ["GENERATOR_VERSION", "REFERENCE_SIZE", "parse_size", "plan", "ensure", "vocabulary"]

#: Bump when any file's content changes, so stale data directories are rewritten.
GENERATOR_VERSION = 1
#: The size at which the issue's reference counts (1M points, 10M pairs...) apply.
REFERENCE_SIZE = 256 * 10**6
#: Words in the Zipf vocabulary: large enough that word count shuffles many keys.
VOCABULARY = 50_000
#: Zipf exponent of the word frequencies (natural text is close to 1).
ZIPF_S = 1.05
SYLLABLES = ("ka ri to ne mu sa pe li go da zu hi yo be chi wa ex qu vi jo "
             "ran tel om us ar").split()
LEVELS = ("INFO", "INFO", "INFO", "WARN", "ERROR")
#: The log's topics; log mining queries for the first five.
TOPICS = ("foo", "bar", "disk", "net", "mysql", "php")
DIMS = 10

_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}


def parse_size(text):
    """Bytes in a size such as ``256MB``, ``1.5GB``, ``64MiB`` or ``4096``.

    >>> parse_size("256MB"), parse_size("64MiB"), parse_size("1000")
    (256000000, 67108864, 1000)
    """
    s = str(text).strip().upper().replace(" ", "")
    number = s.rstrip("KMGIB")
    unit = s[len(number):]
    if unit not in _UNITS or not number:
        raise ValueError(f"Cannot read size {text!r}: write it as e.g. 256MB, 1GB, 64MiB or 4096")
    return int(float(number) * _UNITS[unit])


def plan(size):
    """Record counts for ``size`` bytes, scaled from the 256 MB reference.

    >>> p = plan(256 * 10**6)
    >>> p["points"], p["pairs"], p["keys"], p["edges"], p["pages"]
    (1000000, 10000000, 100000, 2000000, 200000)
    """
    scale = size / REFERENCE_SIZE
    pairs = max(1000, round(10_000_000 * scale))
    edges = max(1000, round(2_000_000 * scale))
    return {
        "text_bytes": max(10_000, size),
        "log_bytes": max(10_000, size),
        "points": max(1000, round(1_000_000 * scale)),
        "pairs": pairs,
        "keys": max(10, pairs // 100),
        "edges": edges,
        "pages": max(10, edges // 10),
    }


# -- random numbers -------------------------------------------------------------
class Stream:
    """Uniform numbers in [0, 1) from splitmix64 over a counter (stable everywhere)."""

    def __init__(self, seed):
        #: seed in the top bits, so streams with different seeds never overlap
        self.base = np.uint64((seed & 0xFFFF) << 48)
        #: how many numbers were drawn so far (the counter)
        self.count = 0

    def bits(self, n):
        x = np.arange(self.count, self.count + n, dtype=np.uint64) + self.base
        self.count += n
        x += np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))

    def uniform(self, n):
        return (self.bits(n) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))

    def integers(self, n, high):
        return (self.uniform(n) * high).astype(np.int64)

    def normal(self, n):
        u1 = 1.0 - self.uniform(n)  # (0, 1]: log is finite
        u2 = self.uniform(n)
        return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def vocabulary(n=VOCABULARY):
    """``n`` distinct pseudo-words; rank 0 (the most frequent) is the shortest.

    >>> vocabulary(3)
    ['ri', 'to', 'ne']
    """
    base = len(SYLLABLES)
    words = []
    for i in range(1, n + 1):
        parts = []
        while i:
            i, d = divmod(i, base)
            parts.append(SYLLABLES[d])
        words.append("".join(reversed(parts)))
    return words


class Tokens:
    """A table of byte strings from which lines are assembled by index."""

    def __init__(self, tokens):
        lengths = np.array([len(t) for t in tokens], dtype=np.int64)
        self.blob = np.frombuffer(b"".join(tokens), dtype=np.uint8)
        self.lengths = lengths
        self.starts = np.cumsum(lengths) - lengths

    def render(self, ids):
        """The concatenation of ``tokens[i] for i in ids``, without a Python loop."""
        lens = self.lengths[ids]
        out_start = np.cumsum(lens) - lens
        src = np.repeat(self.starts[ids] - out_start, lens) + np.arange(int(lens.sum()))
        return self.blob[src].tobytes()


def zipf_sampler(n=VOCABULARY, s=ZIPF_S):
    cdf = np.cumsum(1.0 / np.arange(1, n + 1) ** s)
    cdf /= cdf[-1]
    return lambda u: np.minimum(np.searchsorted(cdf, u, side="right"), n - 1)


def _write_lines(path, target_bytes, make_chunk, line_bytes_guess):
    """Call ``make_chunk(lines)`` until ``target_bytes`` are written."""
    written = 0
    with open(path, "wb") as out:
        while written < target_bytes:
            lines = int(min(200_000, (target_bytes - written) / line_bytes_guess + 1))
            chunk = make_chunk(max(1, lines))
            out.write(chunk)
            written += len(chunk)
    return written


# -- the files ------------------------------------------------------------------
def write_text(path, size):
    rng, zipf = Stream(1), zipf_sampler()
    vocab = [w.encode() for w in vocabulary()]
    table = Tokens([w + b" " for w in vocab] + [w + b"\n" for w in vocab])

    def chunk(lines):
        words = 5 + rng.integers(lines, 11)
        ids = zipf(rng.uniform(int(words.sum())))
        ids[np.cumsum(words) - 1] += VOCABULARY  # last word of a line ends it
        return table.render(ids)

    return _write_lines(path, size, chunk, 60)


def write_log(path, size):
    rng, zipf = Stream(2), zipf_sampler()
    vocab = [w.encode() for w in vocabulary()]
    levels = [lv.encode() + b"\t" for lv in LEVELS]
    days = [b"2013-08-%02d " % d for d in range(1, 29)]
    clock = [b"%02d:%02d:%02d\t" % (t // 3600, t // 60 % 60, t % 60) for t in range(86400)]
    topics = [t.encode() + b" " for t in TOPICS]
    parts = [levels, days, clock, topics, [w + b" " for w in vocab], [w + b"\n" for w in vocab]]
    table = Tokens([t for part in parts for t in part])
    offsets = np.cumsum([0] + [len(p) for p in parts])
    state = {"line": 0}

    def chunk(lines):
        words = 3 + rng.integers(lines, 6)
        width = 4 + words
        first = np.cumsum(width) - width
        ids = offsets[4] + zipf(rng.uniform(int(width.sum())))
        ids[first] = offsets[0] + rng.integers(lines, len(levels))
        number = np.arange(state["line"], state["line"] + lines)
        ids[first + 1] = offsets[1] + (number // 20_000) % len(days)  # dates advance with the file
        ids[first + 2] = offsets[2] + rng.integers(lines, len(clock))
        ids[first + 3] = offsets[3] + rng.integers(lines, len(topics))
        ids[first + width - 1] += VOCABULARY
        state["line"] += lines
        return table.render(ids)

    return _write_lines(path, size, chunk, 50)


def write_points(path, count):
    rng = Stream(3)
    fmt = "%d" + " %.6f" * DIMS + "\n"
    with open(path, "w") as out:
        for start in range(0, count, 100_000):
            n = min(100_000, count - start)
            y = np.where(rng.uniform(n) < 0.5, -1, 1)
            x = rng.normal(n * DIMS).reshape(n, DIMS) + 0.7 * y[:, None]
            rows = zip(y.tolist(), x.tolist())
            out.write("".join(fmt % ((yi,) + tuple(row)) for yi, row in rows))


def _write_int_pairs(out, a, b):
    out.write("".join(map("%d\t%d\n".__mod__, zip(a.tolist(), b.tolist()))))


def write_pairs(path, count, keys):
    rng = Stream(4)
    with open(path, "w") as out:
        for start in range(0, count, 1_000_000):
            n = min(1_000_000, count - start)
            _write_int_pairs(out, rng.integers(n, keys), rng.integers(n, 1_000_000))


def write_dim(path, keys):
    rng = Stream(5)
    order = np.argsort(rng.uniform(keys), kind="stable")  # every key once, shuffled
    with open(path, "w") as out:
        _write_int_pairs(out, order, rng.integers(keys, 1000))


def write_graph(path, pages):
    rng = Stream(6)
    with open(path, "w") as out:
        for start in range(0, pages, 100_000):
            n = min(100_000, pages - start)
            degree = 1 + rng.integers(n, 19)
            src = np.repeat(np.arange(start, start + n), degree)
            dst = (rng.uniform(len(src)) ** 2 * pages).astype(np.int64)  # skewed in-degree
            _write_int_pairs(out, src, dst)


FILES = ("text", "log", "points", "pairs", "dim", "graph")


def ensure(directory, size, log=print):
    """Write the inputs for ``size`` into ``directory`` unless already there.

    Returns ``{"text": path, ..., "plan": plan(size)}``.
    """
    counts = plan(size)
    paths = {name: os.path.join(directory, name + ".txt") for name in FILES}
    manifest_path = os.path.join(directory, "manifest.json")
    wanted = {"version": GENERATOR_VERSION, "size": size, "plan": counts}
    try:
        with open(manifest_path) as f:
            if json.load(f) == wanted and all(os.path.exists(p) for p in paths.values()):
                return dict(paths, plan=counts)
    except (OSError, ValueError):
        pass
    os.makedirs(directory, exist_ok=True)
    t = time.perf_counter()
    write_text(paths["text"], counts["text_bytes"])
    write_log(paths["log"], counts["log_bytes"])
    write_points(paths["points"], counts["points"])
    write_pairs(paths["pairs"], counts["pairs"], counts["keys"])
    write_dim(paths["dim"], counts["keys"])
    write_graph(paths["graph"], counts["pages"])
    with open(manifest_path, "w") as f:
        json.dump(wanted, f, indent=1)
    total = sum(os.path.getsize(p) for p in paths.values())
    log(f"generated {total / 1e6:.0f} MB of input in {directory} ({time.perf_counter() - t:.1f} s)")
    return dict(paths, plan=counts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="64MB", help="text and log size (e.g. 256MB)")
    parser.add_argument("--dir", required=True, help="where to write the files")
    args = parser.parse_args(argv)
    print(json.dumps(ensure(args.dir, parse_size(args.size)), indent=1))


if __name__ == "__main__":
    main()

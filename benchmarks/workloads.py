"""The macro workloads, each written once against PySpark's RDD API.

Every workload has up to three forms, all returning the same *summary*:

    form       signature               runs on
    ---------  ----------------------  ----------------------------------------
    rdd        fn(sc, data, marks)     fastrdd and PySpark, unchanged
    ideal      fn(data, marks)         one plain Python process: the reference
    dask       fn(data, marks)         Dask bag (none for PageRank)

``data`` maps file names (``text``, ``log``, ``points``, ``pairs``, ``dim``,
``graph``, see ``datagen.py``) to paths, plus ``partitions`` (the number of
input partitions every engine is asked for) and ``plan`` (record counts).
``marks`` times named phases (``with marks.time("iteration"): ...``); a
phase named ``job`` replaces the whole call as the job time (log mining
times its uncached query outside it).

The ideal is hand-written: a dict loop, a list, ``list.sort``; it calls no
framework and no per-record function it can inline.  Its time divided by the
number of cores is what perfectly parallel Python would take.

A summary is small and compared across engines: ``exact`` (a digest of a
canonical Python value: word counts, sums of ints) must match bit for bit;
``approx`` (floating-point vectors: logistic regression weights, PageRank
projections) must match to a relative 1e-6, since engines add in different
orders.  A mismatch is reported as a wrong answer, never as a fast run.
"""
import hashlib
import math
import time
from bisect import bisect_right
from collections import namedtuple
from contextlib import contextmanager
from itertools import islice
from operator import add, itemgetter

# numpy is imported by the functions that use it, not here: an engine's workers import
# this module to run the functions of every workload (parse_pair...), and numpy would
# add 0.1 s to the first task of each worker, a cost the ideal's loop never pays.


__all__ = ["WORKLOADS", "Workload", "Marks", "exact", "approx", "agree",
           "count_summary", "weights_summary", "initial_w"]

#: Dimensions and iterations of the seed talk's logistic regression.
D = 10
ITERATIONS = 10
#: PageRank iterations (the RDD paper ran 10).
PAGERANK_ITERATIONS = 10
#: Rows per numpy block in the vectorised logistic regression: big enough that
#: numpy's per-call overhead vanishes, small enough to stay in cache-sized pieces.
BLOCK_ROWS = 65_536
#: Log mining: five cached queries; the first is also run uncached.
TERMS = ("foo", "bar", "disk", "net", "mysql")
#: Relative tolerance for floating-point summaries.
RTOL = 1e-6

Point = namedtuple("Point", ["x", "y"])


# -- timing and summaries ---------------------------------------------------------
class Marks:
    """Named phase timings of one run: ``{name: [seconds, ...]}``."""

    def __init__(self):
        self.times = {}

    @contextmanager
    def time(self, name):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.times.setdefault(name, []).append(time.perf_counter() - start)


def exact(value, show):
    """A summary that must match exactly: a digest of ``repr(value)``."""
    digest = hashlib.sha256(repr(value).encode()).hexdigest()[:16]
    return {"kind": "exact", "digest": digest, "show": show}


def approx(values, show):
    """A summary of floats compared to a relative ``RTOL``."""
    return {"kind": "approx", "values": [float(v) for v in values], "show": show}


def agree(reference, other, rtol=RTOL):
    """True when two summaries describe the same answer.

    >>> agree(approx([1.0, 2.0], ""), approx([1.0 + 1e-9, 2.0], ""))
    True
    >>> agree(exact(3, ""), exact(4, ""))
    False
    """
    if reference["kind"] != other["kind"]:
        return False
    if reference["kind"] == "exact":
        return reference["digest"] == other["digest"]
    a, b = reference["values"], other["values"]
    scale = max([abs(x) for x in a] + [1e-300])
    return len(a) == len(b) and all(
        math.isclose(x, y, rel_tol=rtol, abs_tol=rtol * scale) for x, y in zip(a, b))


def count_summary(pairs):
    """Summary of a ``(key, number)`` result: word counts, sums per key."""
    items = sorted(pairs)
    return exact(items, f"{len(items)} keys, total {sum(v for _, v in items)}")


def weights_summary(w):
    return approx(w, "w[:3] = " + ", ".join(f"{x:.6g}" for x in list(w)[:3]))


def initial_w():
    """The seed's ``numpy.random.rand(D)``, seeded so every engine starts alike."""
    import numpy

    return numpy.random.RandomState(42).rand(D)


def _lines(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            yield line.rstrip("\n")


def _pairs(path):
    with open(path) as f:
        for line in f:
            k, v = line.split("\t")
            yield int(k), int(v)


def parse_pair(line):
    k, v = line.split("\t")
    return int(k), int(v)


# -- word count -----------------------------------------------------------------
def word_count(sc, data, marks):
    counts = (sc.textFile(data["text"], data["partitions"])
              .flatMap(lambda line: line.split())
              .map(lambda word: (word, 1))
              .reduceByKey(add))
    return count_summary(counts.collect())


def word_count_ideal(data, marks):
    counts = {}
    get = counts.get
    with open(data["text"], encoding="utf-8") as f:
        for line in f:
            for word in line.split():
                counts[word] = get(word, 0) + 1
    return count_summary(counts.items())


def word_count_dask(data, marks):
    import dask.bag as db

    words = _dask_text(db, data, "text").str.split().flatten()
    return count_summary(words.frequencies().compute())


# -- log mining (the seed talk's, plus timing of cached and uncached queries) ---------
def _log_summary(counts, uncached, loaded):
    return exact((counts, uncached, loaded), f"{loaded} errors; counts {counts}")


def log_mining(sc, data, marks):
    P = data["partitions"]
    with marks.time("job"):
        lines = sc.textFile(data["log"], P)
        errors = lines.filter(lambda s: s.startswith("ERROR"))
        messages = errors.map(lambda s: s.split("\t")[2])
        messages.cache()
        with marks.time("load"):
            loaded = messages.count()
        counts = []
        for term in TERMS:
            with marks.time("cached_query"):
                counts.append(messages.filter(lambda s: term in s).count())
    with marks.time("uncached_query"):
        uncached = (sc.textFile(data["log"], P)
                    .filter(lambda s: s.startswith("ERROR"))
                    .map(lambda s: s.split("\t")[2])
                    .filter(lambda s: TERMS[0] in s).count())
    messages.unpersist()
    return _log_summary(counts, uncached, loaded)


def log_mining_ideal(data, marks):
    def load():
        return [s.split("\t")[2] for s in _lines(data["log"]) if s.startswith("ERROR")]

    with marks.time("job"):
        with marks.time("load"):
            messages = load()
        counts = []
        for term in TERMS:
            with marks.time("cached_query"):
                n = 0
                for s in messages:
                    if term in s:
                        n += 1
                counts.append(n)
    with marks.time("uncached_query"):
        uncached = sum(1 for s in load() if TERMS[0] in s)
    return _log_summary(counts, uncached, len(messages))


def log_mining_dask(data, marks):
    import dask.bag as db

    def messages_of(lines):
        return lines.filter(lambda s: s.startswith("ERROR")).map(
            lambda s: s.split("\t")[2])

    with marks.time("job"):
        with marks.time("load"):
            messages = messages_of(_dask_text(db, data, "log")).persist()
            loaded = messages.count().compute()
        counts = []
        for term in TERMS:
            with marks.time("cached_query"):
                counts.append(messages.filter(lambda s, t=term: t in s).count().compute())
    with marks.time("uncached_query"):
        uncached = messages_of(_dask_text(db, data, "log")).filter(
            lambda s: TERMS[0] in s).count().compute()
    return _log_summary(counts, uncached, loaded)


# -- logistic regression, exactly as in the seed talk ---------------------------
def readPoint(line):
    import numpy

    values = [float(v) for v in line.split()]
    return Point(x=numpy.array(values[1:]), y=values[0])


def logistic_regression(sc, data, marks):
    from numpy import exp

    points = sc.textFile(data["points"], data["partitions"]).map(readPoint).cache()
    w = initial_w()
    for i in range(ITERATIONS):
        with marks.time("iteration"):
            gradient = points.map(lambda p:
                (1 / (1 + exp(-p.y * w.dot(p.x)))) * p.y * p.x
            ).reduce(lambda x, y: x + y)
            w -= gradient
    points.unpersist()
    return weights_summary(w)


def logistic_regression_ideal(data, marks):
    import numpy
    from numpy import exp

    points = None
    w = initial_w()
    for i in range(ITERATIONS):
        with marks.time("iteration"):
            if points is None:  # as on an engine, the first iteration reads the input
                points = [readPoint(line) for line in _lines(data["points"])]
            gradient = numpy.zeros(D)
            for p in points:
                gradient += (1 / (1 + exp(-p.y * w.dot(p.x)))) * p.y * p.x
            w -= gradient
    return weights_summary(w)


def logistic_regression_dask(data, marks):
    import dask.bag as db
    from numpy import exp

    points = None
    w = initial_w()
    for i in range(ITERATIONS):
        with marks.time("iteration"):
            if points is None:
                points = _dask_text(db, data, "points").map(readPoint).persist()
            gradient = points.map(lambda p, w=w.copy():
                (1 / (1 + exp(-p.y * w.dot(p.x)))) * p.y * p.x
            ).fold(add).compute()
            w -= gradient
    return weights_summary(w)


# -- logistic regression, vectorised: numpy blocks through mapPartitions ---------
def read_blocks(lines):
    """``(X, y)`` numpy blocks of up to BLOCK_ROWS points from text lines."""
    import numpy

    it = iter(lines)
    while True:
        chunk = list(islice(it, BLOCK_ROWS))
        if not chunk:
            return
        a = numpy.loadtxt(chunk, ndmin=2)
        yield numpy.ascontiguousarray(a[:, 1:]), a[:, 0].copy()


def blocks_gradient(blocks, w):
    import numpy
    from numpy import exp

    gradient = numpy.zeros(D)
    for X, y in blocks:
        gradient += ((1 / (1 + exp(-y * X.dot(w)))) * y).dot(X)
    return gradient


def logistic_regression_vec(sc, data, marks):
    blocks = sc.textFile(data["points"], data["partitions"]).mapPartitions(read_blocks).cache()
    w = initial_w()
    for i in range(ITERATIONS):
        with marks.time("iteration"):
            gradient = blocks.mapPartitions(
                lambda bs: [blocks_gradient(bs, w)]).reduce(lambda x, y: x + y)
            w -= gradient
    blocks.unpersist()
    return weights_summary(w)


def logistic_regression_vec_ideal(data, marks):
    blocks = None
    w = initial_w()
    for i in range(ITERATIONS):
        with marks.time("iteration"):
            if blocks is None:
                blocks = list(read_blocks(_lines(data["points"])))
            w -= blocks_gradient(blocks, w)
    return weights_summary(w)


def logistic_regression_vec_dask(data, marks):
    import dask.bag as db

    blocks = None
    w = initial_w()
    for i in range(ITERATIONS):
        with marks.time("iteration"):
            if blocks is None:
                blocks = _dask_text(db, data, "points").map_partitions(
                    lambda lines: list(read_blocks(lines))).persist()
            gradient = blocks.map_partitions(
                lambda bs, w=w.copy(): [blocks_gradient(bs, w)]).fold(add).compute()
            w -= gradient
    return weights_summary(w)


# -- reduceByKey, groupByKey: int pairs, many keys ---------------------------------
def reduce_by_key(sc, data, marks):
    pairs = sc.textFile(data["pairs"], data["partitions"]).map(parse_pair)
    return count_summary(pairs.reduceByKey(add).collect())


def reduce_by_key_ideal(data, marks):
    sums = {}
    get = sums.get
    with open(data["pairs"]) as f:
        for line in f:
            k, v = line.split("\t")
            k = int(k)
            sums[k] = get(k, 0) + int(v)
    return count_summary(sums.items())


def reduce_by_key_dask(data, marks):
    import dask.bag as db

    pairs = _dask_text(db, data, "pairs").map(parse_pair)
    sums = pairs.foldby(itemgetter(0), lambda acc, kv: acc + kv[1], 0, add, 0)
    return count_summary(sums.compute())


def _group_summary(rows):
    rows = sorted(rows)
    return exact(rows, f"{len(rows)} keys, {sum(r[1] for r in rows)} values")


def group_by_key(sc, data, marks):
    pairs = sc.textFile(data["pairs"], data["partitions"]).map(parse_pair)
    groups = pairs.groupByKey().map(lambda kv: (kv[0], len(kv[1]), sum(kv[1])))
    return _group_summary(groups.collect())


def group_by_key_ideal(data, marks):
    groups = {}
    with open(data["pairs"]) as f:
        for line in f:
            k, v = line.split("\t")
            k = int(k)
            vs = groups.get(k)
            if vs is None:
                groups[k] = [int(v)]
            else:
                vs.append(int(v))
    return _group_summary((k, len(vs), sum(vs)) for k, vs in groups.items())


def group_by_key_dask(data, marks):
    import dask.bag as db

    pairs = _dask_text(db, data, "pairs").map(parse_pair)
    groups = pairs.groupby(itemgetter(0)).map(
        lambda kv: (kv[0], len(kv[1]), sum(v for _, v in kv[1])))
    return _group_summary(groups.compute())


# -- sortByKey: the result must be in order and a permutation of the input -----------
#: sum(k * v) is kept modulo this prime so the summary stays small.
MOD = (1 << 61) - 1


def sorted_run(index, pairs):
    """One partition's ``(index, n, first, last, in_order, sum k, sum v, sum kv)``."""
    n = sk = sv = skv = 0
    first = last = None
    ordered = True
    for k, v in pairs:
        if last is not None and k < last:
            ordered = False
        if first is None:
            first = k
        last = k
        n += 1
        sk += k
        sv += v
        skv += k * v
    yield (index, n, first, last, ordered, sk, sv, skv % MOD)


def _sort_summary(runs):
    runs = sorted(runs, key=itemgetter(0))
    ordered, last = True, None
    for _, n, first, end, in_order, *_ in runs:
        if n:
            ordered &= in_order and (last is None or last <= first)
            last = end
    totals = tuple(sum(r[i] for r in runs) for i in (1, 5, 6, 7))
    value = (ordered, totals[0], totals[1], totals[2], totals[3] % MOD)
    return exact(value, f"{totals[0]} pairs, {'in order' if ordered else 'OUT OF ORDER'}")


def sort_by_key(sc, data, marks):
    pairs = sc.textFile(data["pairs"], data["partitions"]).map(parse_pair)
    return _sort_summary(pairs.sortByKey().mapPartitionsWithIndex(sorted_run).collect())


def sort_by_key_ideal(data, marks):
    pairs = list(_pairs(data["pairs"]))
    pairs.sort(key=itemgetter(0))
    return _sort_summary(sorted_run(0, pairs))


def sort_by_key_dask(data, marks):
    import dask.bag as db

    # Dask bag has no sort: sample the keys, range-partition with groupby, sort each range
    # (what PySpark's sortByKey does inside).
    P = data["partitions"]
    pairs = _dask_text(db, data, "pairs").map(parse_pair)
    sample = sorted(pairs.map(itemgetter(0)).random_sample(0.01, random_state=42).compute())
    bounds = [sample[len(sample) * i // P] for i in range(1, P)] if sample else []
    ranges = pairs.groupby(lambda kv: bisect_right(bounds, kv[0]), npartitions=P)
    runs = ranges.map(lambda g: next(sorted_run(g[0], sorted(g[1], key=itemgetter(0)))))
    return _sort_summary(runs.compute())


# -- join: int pairs with a table holding every key once ---------------------------
def join_run(rows):
    n = sv = sw = svw = 0
    for _, (v, w) in rows:
        n += 1
        sv += v
        sw += w
        svw += v * w
    yield (n, sv, sw, svw)


def _join_summary(runs):
    total = tuple(map(sum, zip(*runs))) or (0, 0, 0, 0)
    return exact(total, f"{total[0]} joined rows")


def join(sc, data, marks):
    P = data["partitions"]
    pairs = sc.textFile(data["pairs"], P).map(parse_pair)
    table = sc.textFile(data["dim"], P).map(parse_pair)
    return _join_summary(pairs.join(table).mapPartitions(join_run).collect())


def join_ideal(data, marks):
    # a hand-written join sums as it probes: no list of joined rows (10M at 256 MB)
    table = dict(_pairs(data["dim"]))
    n = sv = sw = svw = 0
    get = table.get
    with open(data["pairs"]) as f:
        for line in f:
            k, v = line.split("\t")
            w = get(int(k))
            if w is not None:
                v = int(v)
                n += 1
                sv += v
                sw += w
                svw += v * w
    return _join_summary([(n, sv, sw, svw)])


def join_dask(data, marks):
    import dask.bag as db

    # Dask bag joins a bag with one in-memory partition (a hash join against the table).
    pairs = _dask_text(db, data, "pairs").map(parse_pair)
    table = db.read_text(data["dim"]).map(parse_pair).repartition(1)
    rows = pairs.join(table, itemgetter(0)).map(lambda tp: (tp[1][0], (tp[1][1], tp[0][1])))
    return _join_summary(rows.map_partitions(lambda rs: list(join_run(rs))).compute())


# -- PageRank, with and without a partitioner on the cached links ---------------------
def parse_edge(line):
    src, dst = line.split("\t")
    return int(src), int(dst)


def compute_contribs(urls, rank):
    n = len(urls)
    for url in urls:
        yield url, rank / n


def _rank_summary(ranks):
    ranks = dict(ranks)
    total = math.fsum(ranks.values())
    proj = [math.fsum(r * ((k * m) % 1000003) / 1000003 for k, r in ranks.items())
            for m in (2654435761, 40503, 97)]
    return approx([len(ranks), total] + proj, f"{len(ranks)} pages, rank sum {total:.6g}")


def page_rank(sc, data, marks, partitioned=False):
    P = data["partitions"]
    edges = sc.textFile(data["graph"], P).map(parse_edge)
    if partitioned:
        # the RDD paper: hash-partition the links once and cache them, so each
        # iteration's join only moves the ranks
        links = edges.groupByKey(P).mapValues(list).partitionBy(P).cache()
        ranks = links.mapValues(lambda urls: 1.0)
    else:
        links = edges.groupByKey(P).map(lambda kv: (kv[0], list(kv[1]))).cache()
        ranks = links.map(lambda kv: (kv[0], 1.0))
    for i in range(PAGERANK_ITERATIONS):
        contribs = links.join(ranks, P).flatMap(
            lambda kv: compute_contribs(kv[1][0], kv[1][1]))
        ranks = contribs.reduceByKey(add, P).mapValues(lambda rank: rank * 0.85 + 0.15)
    result = ranks.collect()
    links.unpersist()
    return _rank_summary(result)


def page_rank_partitioned(sc, data, marks):
    return page_rank(sc, data, marks, partitioned=True)


def page_rank_ideal(data, marks):
    links = {}
    for src, dst in _pairs(data["graph"]):
        urls = links.get(src)
        if urls is None:
            links[src] = [dst]
        else:
            urls.append(dst)
    ranks = dict.fromkeys(links, 1.0)
    for i in range(PAGERANK_ITERATIONS):
        contribs = {}
        get = contribs.get
        for src, urls in links.items():
            rank = ranks.get(src)
            if rank is None:  # no in-links: dropped by the join, as on an engine
                continue
            share = rank / len(urls)
            for url in urls:
                contribs[url] = get(url, 0.0) + share
        ranks = {url: rank * 0.85 + 0.15 for url, rank in contribs.items()}
    return _rank_summary(ranks)


# -- Dask helpers ---------------------------------------------------------------------
def _dask_text(db, data, name):
    """``name``'s lines as a bag of ``data["partitions"]`` partitions.

    Dask keeps each line's newline; every parser here ignores it (``split()``,
    ``int``, ``float``) or keeps it in a message where no query looks.
    """
    import os

    size = os.path.getsize(data[name])
    block = max(1 << 16, -(-size // data["partitions"]))
    return db.read_text(data[name], blocksize=block)


# -- the registry ------------------------------------------------------------------
Workload = namedtuple("Workload", "name title rdd ideal dask hadoop")

WORKLOADS = {w.name: w for w in [
    Workload("wordcount", "word count (Zipf text)", word_count, word_count_ideal,
             word_count_dask, True),
    Workload("logmining", "log mining: load + cache + 5 queries", log_mining, log_mining_ideal,
             log_mining_dask, False),
    Workload("logreg", "logistic regression (seed), 10 iterations", logistic_regression,
             logistic_regression_ideal, logistic_regression_dask, True),
    Workload("logreg_vec", "logistic regression, numpy blocks", logistic_regression_vec,
             logistic_regression_vec_ideal, logistic_regression_vec_dask, False),
    Workload("reducebykey", "reduceByKey (int pairs)", reduce_by_key, reduce_by_key_ideal,
             reduce_by_key_dask, False),
    Workload("groupbykey", "groupByKey (int pairs)", group_by_key, group_by_key_ideal,
             group_by_key_dask, False),
    Workload("sortbykey", "sortByKey (int pairs)", sort_by_key, sort_by_key_ideal,
             sort_by_key_dask, False),
    Workload("join", "join (pairs with a key table)", join, join_ideal, join_dask, False),
    Workload("pagerank", "PageRank, no partitioner", page_rank, page_rank_ideal, None, False),
    Workload("pagerank_part", "PageRank, partitionBy + cache", page_rank_partitioned,
             page_rank_ideal, None, False),
]}

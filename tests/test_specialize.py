"""Functions the engine runs without calling them: recognition, and jobs that use it.

``map(lambda x: (x, C))`` feeding a combine is fed to the map-side combine
as bare keys, ``a + b`` merges are added in C, and ``X in s`` and
``s.startswith(X)`` filters test in C.  None may change any result, hide the
user's line when an operation fails, run user code twice, or read a captured
``X`` at another time than the user's function would.  Lookalikes, and code
the recogniser cannot read, are declined.
"""
import dis
import functools
import operator
import pathlib
import re
import subprocess
import sys
import types
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fastrdd.specialize import (NOT_CONSTANT, contains_operand, is_plain_add, pair_constant,
                                prefix_operand)

SETTINGS = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

GLOBAL_ONE = 1
GLOBAL_A = "a"
ROOT = pathlib.Path(__file__).resolve().parent.parent


def one(word):
    return (word, 1)


def user_add(a, b):
    return a + b


USER_ADD_LINE = user_add.__code__.co_firstlineno + 1


@pytest.mark.parametrize("f, value", [
    (lambda x: (x, 1), 1), (one, 1), (lambda w: (w, "a"), "a"), (lambda w: (w, None), None),
    (lambda w: (w, (1, 2)), (1, 2)), (lambda w: (w, 1.5), 1.5), (lambda w: (w, -3), -3),
])
def test_pair_with_a_constant_is_recognised(f, value):
    got = pair_constant(f)
    assert got == value and type(got) is type(value)


def closure_pair():
    c = 1
    return lambda x: (x, c)


@pytest.mark.parametrize("f", [
    lambda x: (1, x), lambda x: [x, 1], lambda x: (x, GLOBAL_ONE), closure_pair(),
    lambda x, y=1: (x, y), lambda x, *rest: (x, 1), lambda x: (x, 1, 2), lambda x: x,
    lambda x: (x.lower(), 1), str.split, len, operator.itemgetter(0),
])
def test_anything_else_is_not(f):
    assert pair_constant(f) is NOT_CONSTANT


def test_plain_add_is_recognised_and_nothing_else():
    assert is_plain_add(operator.add) and is_plain_add(user_add) and is_plain_add(lambda a, b: a + b)
    for f in [lambda a, b: b + a, lambda a, b: a - b, lambda a, b: a * b, operator.iadd, sum,
              lambda a, b, c=0: a + b, lambda a, *b: a + b[0], lambda a, b: a + b + 0, max, None]:
        assert not is_plain_add(f)


words = st.lists(st.sampled_from(["a", "b", "", "é", 1, 1.0, True, 0, (1, "x")]), max_size=60)


@SETTINGS
@given(data=words, n=st.integers(1, 4), m=st.integers(1, 3))
def test_paired_keys_jobs_match_python(sc, data, n, m):
    rdd = sc.parallelize(data, n)
    counts = Counter(data)
    expected = {k: c for k, c in counts.items()}
    pairs = rdd.map(lambda x: (x, 1))
    assert dict(pairs.reduceByKey(operator.add, m).collect()) == expected
    assert dict(pairs.reduceByKey(lambda a, b: a + b, m).collect()) == expected
    assert dict(pairs.reduceByKey(max, m).collect()) == {k: 1 for k in counts}
    assert dict(rdd.map(lambda x: (x, 2.5)).foldByKey(0.0, operator.add).collect()) == {
        k: sum([2.5] * c, 0.0) for k, c in counts.items()}
    assert dict(rdd.map(lambda x: (x, "s")).reduceByKey(user_add).collect()) == {
        k: "s" * c for k, c in counts.items()}
    assert {k: v for k, v in rdd.map(lambda x: (x, None)).combineByKey(
        lambda v: [v], lambda c, v: c + [v], lambda a, b: a + b).collect()} == {
        k: [None] * c for k, c in counts.items()}
    assert {k: list(v) for k, v in pairs.groupByKey().collect()} == {
        k: [1] * c for k, c in counts.items()}
    assert sorted(pairs.partitionBy(m).collect(), key=repr) == sorted(((x, 1) for x in data), key=repr)
    assert dict(rdd.filter(lambda x: x != "a").flatMap(lambda x: [x, x]).map(one)
                .reduceByKey(operator.add).collect()) == {
        k: 2 * c for k, c in counts.items() if k != "a"}


def test_the_keys_path_is_taken_only_where_it_may_be(sc):
    from fastrdd.worker.pipeline import MapNode, PairedKeysNode

    lines = sc.parallelize(["a b", "b"], 2)
    mapped = lines.flatMap(str.split).map(lambda w: (w, 1))
    node = mapped._make_node(lambda rdd: rdd._make_node(None))
    assert type(node) is PairedKeysNode and node.value == 1 and node.head is not None
    assert type(lines.map(lambda w: (w, 1))._make_node(lambda rdd: rdd._make_node(None))) is PairedKeysNode
    assert type(lines.map(lambda w: (w, w))._make_node(lambda rdd: rdd._make_node(None))) is MapNode
    # a cached map is computed whole (its records are kept), then combined
    cached = lines.flatMap(str.split).map(one).cache()
    try:
        assert sorted(cached.reduceByKey(operator.add).collect()) == [("a", 1), ("b", 2)]
        assert sorted(cached.collect()) == [("a", 1), ("b", 1), ("b", 1)]
        assert sorted(cached.reduceByKey(operator.add).collect()) == [("a", 1), ("b", 2)]
    finally:
        cached.unpersist()


def test_a_failing_addition_shows_the_users_line(sc):
    data = sc.parallelize([("a", 1), ("a", "x")], 1)
    with pytest.raises(TypeError) as info:
        data.reduceByKey(user_add).collect()
    assert "unsupported operand" in str(info.value)
    assert f'{__file__}", line {USER_ADD_LINE}, in user_add' in str(info.value.__cause__)
    with pytest.raises(TypeError) as info:
        sc.parallelize([1, 1], 1).map(lambda x: (x, {1})).reduceByKey(user_add).collect()
    assert f'{__file__}", line {USER_ADD_LINE}, in user_add' in str(info.value.__cause__)
    # the context is still usable
    assert sc.parallelize(["a", "a"]).map(one).reduceByKey(user_add).collect() == [("a", 2)]


# -- filter(lambda s: X in s): the test in C ------------------------------------------
texts = st.lists(st.one_of(st.text(max_size=6), st.binary(max_size=4),
                           st.lists(st.integers(0, 3), max_size=3), st.integers()), max_size=40)


@settings(max_examples=60, deadline=None)
@given(items=texts, needle=st.one_of(st.text(max_size=2), st.binary(max_size=1), st.integers(0, 3)))
def test_filter_contains_is_the_generator_it_replaces(iterators, items, needle):
    def user(s):
        return needle in s

    def reference():
        return [s for s in items if user(s)]

    try:
        expected = reference()
    except TypeError as e:
        with pytest.raises(TypeError, match=re.escape(str(e))) as info:
            list(iterators.filter_contains(iter(items), types.CellType(needle), user))
        assert info.traceback[-1].name == "user"  # raised by the user's own function
    else:
        assert list(iterators.filter_contains(iter(items), types.CellType(needle), user)) == expected


def test_contains_operand():
    def captured(term):
        return lambda s: term in s

    assert contains_operand(lambda s: "foo" in s).cell_contents == "foo"
    f = captured(b"x")
    assert contains_operand(f) is f.__closure__[0]  # the function's own cell: read at each test
    for f in [lambda s: "a" not in s, lambda s: s in "abc", lambda s: "a" in s.lower(), len,
              lambda s, t="a": t in s, lambda s: GLOBAL_ONE in s]:
        assert contains_operand(f) is NOT_CONSTANT


def test_contains_filters_in_jobs(sc):
    lines = sc.parallelize(["ERROR mysql down", "INFO ok", "ERROR php", "WARN mysql slow"], 2)
    assert lines.filter(lambda s: "mysql" in s).collect() == ["ERROR mysql down", "WARN mysql slow"]
    queries = []
    for term in ["mysql", "php"]:
        queries.append(lines.filter(lambda s: term in s))
    # Python closures bind late: both filters look for the last term, as in PySpark
    assert [q.count() for q in queries] == [1, 1]
    term = "ERROR"
    errors = lines.filter(lambda s: term in s)
    term = "INFO"
    assert errors.collect() == ["INFO ok"]
    term = "ERROR"  # the same RDD again: each job reads the variable anew
    assert errors.count() == 2
    with pytest.raises(TypeError) as info:
        sc.parallelize(["a", 5], 1).filter(lambda s: "a" in s).collect()
    assert "test_specialize.py" in str(info.value.__cause__)


class _Str(str):
    def startswith(self, prefix, *args):
        return True  # a subclass may answer differently: the user's function decides


@settings(max_examples=60, deadline=None)
@given(items=st.lists(st.one_of(st.text(max_size=5), st.binary(max_size=3), st.integers(),
                                st.text(max_size=3).map(_Str)), max_size=40),
       prefix=st.one_of(st.text(max_size=2), st.binary(max_size=1), st.tuples(st.text(max_size=1))))
def test_filter_prefix_is_the_generator_it_replaces(iterators, items, prefix):
    def user(s):
        return s.startswith(prefix)

    try:
        expected = [s for s in items if user(s)]
    except (TypeError, AttributeError) as e:
        with pytest.raises(type(e), match=re.escape(str(e))) as info:
            list(iterators.filter_prefix(iter(items), types.CellType(prefix), user))
        assert info.traceback[-1].name == "user"
    else:
        got = list(iterators.filter_prefix(iter(items), types.CellType(prefix), user))
        assert got == expected and all(a is b for a, b in zip(got, expected))


def test_prefix_operand():
    def captured(p):
        return lambda s: s.startswith(p)

    assert prefix_operand(lambda s: s.startswith("ERROR")).cell_contents == "ERROR"
    assert prefix_operand(captured(("a", "b"))).cell_contents == ("a", "b")
    for f in [lambda s: s.endswith("x"), lambda s: s.startswith("a", 1), lambda s: "a" in s,
              lambda s: s.lower().startswith("a"), lambda s: not s.startswith("a"), str.isdigit]:
        assert prefix_operand(f) is NOT_CONSTANT


def test_the_seeds_log_mining_filters(sc, tmp_path):
    path = tmp_path / "log.txt"
    path.write_text("ERROR\tdisk\tfull\nINFO\tok\tfine\nERROR\tmysql\tdown\n")
    lines = sc.textFile(str(path))
    errors = lines.filter(lambda s: s.startswith("ERROR"))
    messages = errors.map(lambda s: s.split("\t")[2])
    assert messages.filter(lambda s: "down" in s).count() == 1
    assert errors.count() == 2
    level = "INFO"
    infos = lines.filter(lambda s: s.startswith(level))
    level = "ERROR"
    assert infos.count() == 2  # late binding, as in Python and PySpark
    with pytest.raises(AttributeError) as info:
        sc.parallelize(["ERROR x", 5], 1).filter(lambda s: s.startswith("ERROR")).collect()
    assert "test_specialize.py" in str(info.value.__cause__)


# -- lookalikes: recognised for what they are, or declined ----------------------------
class _User:
    """``op`` as a callable object and as a method: not plain functions, never recognised."""

    def __init__(self, op):
        self.op = op

    def __call__(self, *args):
        return self.op(*args)

    def method(self, *args):
        return self.op(*args)


def _captured(term):
    return lambda s: term in s


def _captured_prefix(prefix):
    return lambda s: s.startswith(prefix)


def _closure_add():
    end = ""
    return lambda a, b: a + b + end


async def _async_add(a, b):
    return a + b


def _generator_add(a, b):
    if 0:
        yield
    return a + b


async def _async_pair(x):
    return (x, 1)


def _operand(cell):
    return cell if cell is NOT_CONSTANT else cell.cell_contents


PAIRS = [  # (f, pair_constant(f))
    (lambda x: (x, 1), 1), (lambda x=0: (x, 1), 1), (lambda x: (x, 1) if x else x, NOT_CONSTANT),
    (tuple, NOT_CONSTANT), (functools.partial(lambda x, c: (x, c), c=1), NOT_CONSTANT),
    (_User(lambda x: (x, 1)), NOT_CONSTANT), (_User(lambda x: (x, 1)).method, NOT_CONSTANT),
    (closure_pair(), NOT_CONSTANT),
]
ADDS = [  # (f, is_plain_add(f))
    (lambda a, b: a + b, True), (operator.add, True), (lambda a, b=None: a + b, True),
    (lambda a, b: b + a, False), (lambda a, b: a + b + "!", False), (operator.concat, False),
    (str.__add__, False), (functools.partial(operator.add), False), (_User(operator.add), False),
    (_User(operator.add).method, False), (_closure_add(), False),
]
CONTAINS = [  # (f, the operand contains_operand(f) holds)
    (lambda s: "a" in s, "a"), (lambda s="": "a" in s, "a"), (_captured("a"), "a"),
    (lambda s: "a" not in s, NOT_CONSTANT), (lambda s, t="a": t in s, NOT_CONSTANT),
    (lambda s: GLOBAL_A in s, NOT_CONSTANT), (lambda s: "a" in s if s else True, NOT_CONSTANT),
    ("ab".__contains__, NOT_CONSTANT), (functools.partial(lambda x, s: x in s, "a"), NOT_CONSTANT),
    (_User(lambda s: "a" in s), NOT_CONSTANT), (_User(lambda s: "a" in s).method, NOT_CONSTANT),
]
PREFIXES = [  # (f, the operand prefix_operand(f) holds)
    (lambda s: s.startswith("a"), "a"), (_captured_prefix("a"), "a"),
    (lambda s: s.startswith(("a", "x")), ("a", "x")), (lambda s: s.startswith("a", 1), NOT_CONSTANT),
    (lambda s, p="a": s.startswith(p), NOT_CONSTANT), (lambda s: s.startswith(GLOBAL_A), NOT_CONSTANT),
    (operator.methodcaller("startswith", "a"), NOT_CONSTANT),
    (functools.partial(lambda p, s: s.startswith(p), "a"), NOT_CONSTANT),
    (_User(lambda s: s.startswith("a")), NOT_CONSTANT),
    (_User(lambda s: s.startswith("a")).method, NOT_CONSTANT),
]


@pytest.mark.parametrize("recognise, f, expected", [
    *[(pair_constant, f, e) for f, e in PAIRS],
    *[(is_plain_add, f, e) for f, e in ADDS],
    *[(lambda f: _operand(contains_operand(f)), f, e) for f, e in CONTAINS],
    *[(lambda f: _operand(prefix_operand(f)), f, e) for f, e in PREFIXES],
    # never run: a coroutine or generator is not the value it returns (3.9's bytecode is the same)
    (pair_constant, _async_pair, NOT_CONSTANT), (is_plain_add, _async_add, False),
    (is_plain_add, _generator_add, False), (is_plain_add, lambda a, b: a + b + 1, False),
])
def test_lookalikes_are_recognised_for_what_they_are(recognise, f, expected):
    got = recognise(f)
    if expected is NOT_CONSTANT or type(expected) is bool:
        assert got is expected
    else:
        assert got == expected and type(got) is type(expected)


def test_lookalikes_in_jobs_give_what_the_functions_give(sc):
    words = ["ab", "ba", "ab", "xy", "aa"]  # two letters: tuple(w) is a pair too
    for f, _ in PAIRS:
        expected = {}
        for k, v in map(f, words):
            expected[k] = expected[k] + v if k in expected else v
        assert dict(sc.parallelize(words, 2).map(f).reduceByKey(operator.add).collect()) == expected
    pairs = [("k", "a"), ("k", "b"), ("j", "c"), ("k", "d")]
    for f, _ in ADDS:  # one partition: the order of the merges is the records' (b + a differs)
        expected = {k: functools.reduce(f, [v for key, v in pairs if key == k]) for k in "jk"}
        assert dict(sc.parallelize(pairs, 1).reduceByKey(f, 1).collect()) == expected
    lines = ["ab", "ba", "", "a", "xyz", "ERROR a"]
    for f, _ in CONTAINS + PREFIXES:
        assert sc.parallelize(lines, 2).filter(f).collect() == [s for s in lines if f(s)]


# -- opcodes it does not know, inspection that fails --------------------------------------
RECOGNISERS = [pair_constant, is_plain_add, contains_operand, prefix_operand]


def _fresh(tag):
    """One function of each recognised shape, with code objects no other test has
    (shapes are cached by code)."""
    return [eval(f"lambda x: (x, {tag!r})"), eval(f"lambda a_{tag}, b: a_{tag} + b"),
            eval(f"lambda s: {tag!r} in s"), eval(f"lambda s: s.startswith({tag!r})")]


def _answers(tag):
    return [_operand(r(f)) if r in (contains_operand, prefix_operand) else r(f)
            for r, f in zip(RECOGNISERS, _fresh(tag))]


def test_an_opcode_it_does_not_know_or_a_failing_inspection_declines(monkeypatch):
    real = dis.get_instructions
    assert _answers("q1") == ["q1", True, "q1", "q1"]
    # a Python whose compiler names its instructions differently from the references
    monkeypatch.setattr(dis, "get_instructions",
                        lambda code: [i._replace(opname=i.opname + "_NEW") for i in real(code)])
    assert _answers("q2") == [NOT_CONSTANT, False, NOT_CONSTANT, NOT_CONSTANT]

    def unreadable(code):
        raise RuntimeError("a code object dis cannot read")

    monkeypatch.setattr(dis, "get_instructions", unreadable)
    assert _answers("q3") == [NOT_CONSTANT, False, NOT_CONSTANT, NOT_CONSTANT]


def test_small_ints_loaded_as_3_14_loads_them_are_recognised(monkeypatch):
    real = dis.get_instructions

    def small_ints(code):  # LOAD_SMALL_INT: 0-255, the value as its arg
        for i in real(code):
            if i.opname == "LOAD_CONST" and type(i.argval) is int and 0 <= i.argval < 256:
                i = i._replace(opname="LOAD_SMALL_INT", arg=i.argval, argval=None)
            yield i

    monkeypatch.setattr(dis, "get_instructions", small_ints)
    assert pair_constant(eval("lambda x: (x, 201)")) == 201
    assert pair_constant(eval("lambda x: (x, 'q4')")) == "q4"
    assert contains_operand(eval("lambda s: 202 in s")).cell_contents == 202


def test_a_code_object_it_cannot_hash_is_declined():
    f = lambda s: "odd" in s  # noqa: E731
    code = f.__code__
    odd = types.FunctionType(code.replace(co_consts=tuple(["odd"] if c == "odd" else c
                                                          for c in code.co_consts)), {})
    assert contains_operand(odd) is NOT_CONSTANT and odd([["odd"]])


# -- a fast path that fails runs the user's operation once --------------------------------
class _Loud:
    """A record whose ``in``, ``startswith`` and ``+`` log their call, then fail."""

    def __init__(self, log):
        self.log = log

    def _fail(self, what):
        self.log.append(what)
        raise ValueError(what)

    def __contains__(self, item):
        self._fail("in")

    def startswith(self, prefix):
        self._fail("startswith")

    def __add__(self, other):
        self._fail("+")

    __radd__ = __add__


def _same(v):
    return v


@pytest.fixture(scope="module", params=["compiled", "pure"])
def kernels(request):
    from fastrdd._impl import SHUFFLE_API, load

    module = load("fastrdd._shuffle", "fastrdd._shuffle_py", SHUFFLE_API, pure=request.param == "pure")
    if request.param == "compiled" and module.__name__.endswith("_py"):
        pytest.fail("fastrdd._shuffle is not built")
    return module


def test_a_failing_filter_test_runs_once(iterators):
    log = []
    with pytest.raises(ValueError):
        list(iterators.filter_contains(iter(["a", _Loud(log)]), types.CellType("a"), lambda s: "a" in s))
    with pytest.raises(ValueError):
        list(iterators.filter_prefix(iter([_Loud(log)]), types.CellType("a"), lambda s: s.startswith("a")))
    assert log == ["in", "startswith"]


def test_a_failing_addition_runs_once(kernels):
    log = []
    loud = _Loud(log)
    for recs in [[("k", 1), ("k", loud)], [("k", loud), ("k", 1)]]:
        with pytest.raises(ValueError):
            kernels.combine_pairs(recs, _same, user_add, None, True)
        with pytest.raises(ValueError):
            kernels.merge_combiners(recs, user_add, None, True)
    with pytest.raises(ValueError):
        kernels.combine_keys(["k", "k"], loud, _same, user_add, None, True)
    assert log == ["+"] * 5


def test_failing_fast_paths_run_nothing_twice_in_jobs(sc, tmp_path):
    log = tmp_path / "calls"

    class Loud:
        def _fail(self, what):
            with open(log, "a") as out:
                out.write(what + "\n")
            raise ValueError(what)

        def __add__(self, other):
            self._fail("+")

        def __contains__(self, item):
            self._fail("in")

    def calls(rdd):
        log.write_text("")
        with pytest.raises(ValueError):
            rdd.collect()
        return log.read_text().split()

    louds = sc.parallelize([1, 2], 1).map(lambda n: ("k", Loud()))
    # each wrapped function is not recognised: it is the user's code as written
    added = calls(louds.reduceByKey(user_add))
    assert added and added == calls(louds.reduceByKey(lambda a, b: user_add(a, b)))
    has_a = lambda s: "a" in s  # noqa: E731
    tested = calls(louds.values().filter(has_a))
    assert tested and tested == calls(louds.values().filter(lambda s: has_a(s)))


# -- captured values are read when the user's function would read them -----------------
def _unbound():
    keep = lambda s: term in s  # noqa: E731
    if False:
        term = None  # makes ``term`` this function's variable, whose cell stays empty
    return keep


def test_the_operand_is_read_from_its_cell_at_each_record(iterators):
    keep = _unbound()
    cell = keep.__closure__[0]
    with pytest.raises(NameError):
        list(iterators.filter_contains(iter(["a"]), cell, keep))

    def records(which):
        for s in ["ab", "b", "ba"]:
            cell.cell_contents = s[which]
            yield s

    assert list(iterators.filter_contains(records(-1), cell, keep)) == ["ab", "b", "ba"]
    assert list(iterators.filter_prefix(records(0), cell, lambda s: s.startswith(cell.cell_contents))
                ) == ["ab", "b", "ba"]


@pytest.mark.parametrize("make", [_captured, _captured_prefix])
def test_a_captured_operand_set_upstream_is_seen_record_by_record(sc, make):
    keep = make("-")
    assert (contains_operand(keep) if make is _captured else prefix_operand(keep)) is not NOT_CONSTANT

    def follow(s):  # sets keep's variable to the record's first letter, before keep tests it
        keep.__closure__[0].cell_contents = s[0]
        return s

    lines = sc.parallelize(["ab", "ba", "cd"], 2)
    assert lines.map(follow).filter(keep).collect() == ["ab", "ba", "cd"]


def test_a_global_operand_is_read_as_the_function_reads_it(sc):
    global GLOBAL_A
    keep = lambda s: GLOBAL_A in s  # noqa: E731
    assert contains_operand(keep) is NOT_CONSTANT  # the function itself reads it

    def follow(s):
        global GLOBAL_A
        GLOBAL_A = s[0]
        return s

    lines = sc.parallelize(["ab", "b", "c"], 2)
    try:
        assert lines.filter(keep).collect() == ["ab"]
        GLOBAL_A = "b"
        assert lines.filter(keep).collect() == ["ab", "b"]
        assert lines.map(follow).filter(keep).collect() == ["ab", "b", "c"]
    finally:
        GLOBAL_A = "a"


# -- every Python of the machine -----------------------------------------------------------
def test_every_python_of_the_machine_recognises_the_same():
    run = subprocess.run([sys.executable, str(ROOT / "ci" / "specialize_pythons.py")],
                         capture_output=True, text=True, timeout=300)
    if run.stdout.startswith("skipped:"):
        pytest.skip(f"ci/specialize_pythons.py {run.stdout.strip()}")
    assert run.returncode == 0 and "checks ok" in run.stdout, run.stdout + run.stderr

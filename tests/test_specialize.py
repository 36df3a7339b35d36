"""Functions the engine runs without calling them: recognition, and jobs that use it.

``map(lambda x: (x, C))`` feeding a combine is fed to the map-side combine
as bare keys, and ``a + b`` merges are added in C.  Neither may change any
result, nor hide the user's line when an addition fails.
"""
import operator
import re
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fastrdd.specialize import (NOT_CONSTANT, contains_operand, is_plain_add, pair_constant,
                                prefix_operand)

SETTINGS = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

GLOBAL_ONE = 1


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
@pytest.fixture(scope="module", params=["compiled", "pure"])
def iterators(request):
    from fastrdd._impl import ITERATORS_API, load

    module = load("fastrdd._core.iterators", "fastrdd._core.iterators_py", ITERATORS_API,
                  pure=request.param == "pure")
    if request.param == "compiled" and module.__name__.endswith("_py"):
        pytest.fail("fastrdd._core.iterators is not built")
    return module


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
            list(iterators.filter_contains(iter(items), needle, user))
        assert info.traceback[-1].name == "user"  # raised by the user's own function
    else:
        assert list(iterators.filter_contains(iter(items), needle, user)) == expected


def test_contains_operand():
    def captured(term):
        return lambda s: term in s

    assert contains_operand(lambda s: "foo" in s) == "foo"
    assert contains_operand(captured(b"x")) == b"x"
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
            list(iterators.filter_prefix(iter(items), prefix, user))
        assert info.traceback[-1].name == "user"
    else:
        got = list(iterators.filter_prefix(iter(items), prefix, user))
        assert got == expected and all(a is b for a, b in zip(got, expected))


def test_prefix_operand():
    def captured(p):
        return lambda s: s.startswith(p)

    assert prefix_operand(lambda s: s.startswith("ERROR")) == "ERROR"
    assert prefix_operand(captured(("a", "b"))) == ("a", "b")
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

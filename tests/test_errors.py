"""Bad input gets a clear error that names the problem."""
import threading

import pytest

from fastrdd.errors import ClosureError


def test_closure_capturing_a_lock_names_the_variable(sc):
    lock = threading.Lock()

    def uses_lock(x):
        with lock:
            return x

    with pytest.raises(ClosureError) as info:
        sc.parallelize([1, 2]).map(uses_lock).collect()
    message = str(info.value)
    assert "'lock'" in message and "_thread.lock" in message and "uses_lock" in message
    assert "test_errors.py" in message
    assert sc.parallelize([1, 2]).count() == 2


def test_spark_context_in_closure_is_refused(sc):
    with pytest.raises(ClosureError, match="SparkContext.*only be used on the driver"):
        sc.parallelize([1]).map(lambda x: sc.parallelize([x]).count()).collect()


def test_rdd_in_closure_is_refused(sc):
    other = sc.parallelize([1, 2])
    with pytest.raises(ClosureError, match="RDD was captured"):
        sc.parallelize([1]).map(lambda x: other.count() * x).collect()


def test_pair_operator_on_non_pairs_names_the_record(sc):
    with pytest.raises(TypeError, match="expected \\(key, value\\) pairs.*'abc'"):
        sc.parallelize(["abc", "de"], 1).reduceByKey(lambda a, b: a + b).collect()
    with pytest.raises(TypeError, match="expected \\(key, value\\) pairs.*42"):
        sc.parallelize([42]).mapValues(str).collect()
    with pytest.raises(TypeError, match="expected \\(key, value\\) pairs.*7"):
        sc.parallelize([7]).groupByKey().collect()


def test_missing_input_path_is_named_at_the_action(sc, tmp_path):
    missing = tmp_path / "nope.txt"
    rdd = sc.textFile(str(missing))  # lazy: no error yet
    with pytest.raises(FileNotFoundError, match="Input path does not exist: .*nope.txt"):
        rdd.count()


def test_bad_master_and_second_context(fresh):
    from fastrdd import SparkContext
    from fastrdd.errors import ContextError

    sc = fresh("local[1]")
    with pytest.raises(ValueError, match="Cannot run multiple SparkContexts"):
        SparkContext("local[1]", "second")
    assert SparkContext.getOrCreate() is sc
    with pytest.raises(ValueError, match="Could not parse master URL 'yarn'"):
        from fastrdd.masters import parse_master
        parse_master("yarn")


def test_stop_iteration_in_user_code_fails_the_job(sc):
    def stop(x):
        if x == 3:
            raise StopIteration()
        return x

    for op in (lambda r: r.map(stop), lambda r: r.filter(stop), lambda r: r.flatMap(lambda x: [stop(x)])):
        with pytest.raises(RuntimeError, match="Caught StopIteration thrown from user's code"):
            op(sc.parallelize(range(10), 2)).collect()
    with pytest.raises(RuntimeError, match="Caught StopIteration"):
        sc.parallelize(range(10), 2).reduce(lambda a, b: stop(3))
    with pytest.raises(RuntimeError, match="Caught StopIteration"):
        sc.parallelize([(1, 1), (1, 2)], 1).reduceByKey(lambda a, b: stop(3)).collect()


def test_worker_traceback_names_the_file_of_a_lambda(sc):
    # lambdas are pickled by value; cloudpickle 3.1 would rename their file "<dynamic-code>"
    line = __import__("inspect").currentframe().f_lineno + 2
    with pytest.raises(ZeroDivisionError) as info:
        sc.parallelize([1, 0], 1).map(lambda x: 1 / x).collect()
    assert f'{__file__}", line {line}, in <lambda>' in str(info.value.__cause__)

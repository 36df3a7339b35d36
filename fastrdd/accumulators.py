"""Accumulators: variables that tasks can only add to, read on the driver.

A task's function that captures an Accumulator gets, in the worker, a
local copy starting from the zero value (``__reduce__`` ships only the id,
the zero and the AccumulatorParam).  After each task the worker sends the
copies it touched with the task's result; the driver adds them to the real
accumulator only for the result it accepts -- the first successful attempt
of each partition -- so a retried task is counted exactly once.
"""
import itertools
import threading
import weakref

__all__ = ["Accumulator", "AccumulatorParam", "AddingAccumulatorParam",
           "INT_ACCUMULATOR_PARAM", "FLOAT_ACCUMULATOR_PARAM", "COMPLEX_ACCUMULATOR_PARAM"]

#: id -> Accumulator, on the driver (the real ones, while the user holds them)
_driver_registry = weakref.WeakValueDictionary()
#: id -> Accumulator, in a worker (task-local copies)
_task_registry = {}
_lock = threading.Lock()
#: ids are unique in the process, across SparkContexts
_ids = itertools.count()


def new_id():
    with _lock:
        return next(_ids)


class AccumulatorParam:
    """How to make a zero value and add two values of an accumulator's type.

    >>> class VectorParam(AccumulatorParam):
    ...     def zero(self, value):
    ...         return [0.0] * len(value)
    ...     def addInPlace(self, v1, v2):
    ...         for i in range(len(v1)):
    ...             v1[i] += v2[i]
    ...         return v1
    >>> va = sc.accumulator([1.0, 2.0, 3.0], VectorParam())
    >>> sc.parallelize([1, 2, 3]).foreach(lambda x: va.add([x] * 3))
    >>> va.value
    [7.0, 8.0, 9.0]
    """

    def zero(self, value):
        """The "zero value" for the type, compatible in dimensions with ``value``.

        >>> AccumulatorParam().zero(1)
        Traceback (most recent call last):
            ...
        NotImplementedError
        """
        raise NotImplementedError

    def addInPlace(self, value1, value2):
        """Add two values of the accumulator's type, updating and returning ``value1``.

        >>> AccumulatorParam().addInPlace(1, 2)
        Traceback (most recent call last):
            ...
        NotImplementedError
        """
        raise NotImplementedError


class AddingAccumulatorParam(AccumulatorParam):
    """Adds with ``+=``, from a given zero value."""

    def __init__(self, zero_value):
        self.zero_value = zero_value

    def zero(self, value):
        """The zero value given at construction, whatever ``value`` is.

        >>> AddingAccumulatorParam(0.0).zero(5.0)
        0.0
        """
        return self.zero_value

    def addInPlace(self, value1, value2):
        """Add ``value2`` to ``value1`` with ``+=`` and return the result.

        >>> param = AddingAccumulatorParam(0)
        >>> param.addInPlace(1, 2)
        3
        >>> param.addInPlace([1], [2])
        [1, 2]
        """
        value1 += value2
        return value1


INT_ACCUMULATOR_PARAM = AddingAccumulatorParam(0)
FLOAT_ACCUMULATOR_PARAM = AddingAccumulatorParam(0.0)
COMPLEX_ACCUMULATOR_PARAM = AddingAccumulatorParam(0.0j)


class Accumulator:
    """A shared variable that tasks add to and the driver reads.

    >>> a = sc.accumulator(1)
    >>> a.value
    1
    >>> sc.parallelize([1, 2, 3]).foreach(lambda x: a.add(x))
    >>> a.value
    7
    >>> a += 5
    >>> a.value
    12
    """

    def __init__(self, aid, value, accum_param):
        self.aid = aid
        self.accum_param = accum_param
        self._value = value
        self._deserialized = False
        self._touched = False

    @property
    def value(self):
        """The value, on the driver only.

        >>> a = sc.accumulator(10)
        >>> a.value
        10
        >>> a.value = 20
        >>> a.value
        20
        """
        if self._deserialized:
            raise RuntimeError("Accumulator.value cannot be accessed inside tasks: tasks may only "
                               "add to it (accumulator.add(x) or +=); read it on the driver after "
                               "the action.")
        return self._value

    @value.setter
    def value(self, value):
        if self._deserialized:
            raise RuntimeError("Accumulator.value cannot be set inside tasks")
        self._value = value

    def add(self, term):
        """Add ``term`` with the accumulator's AccumulatorParam.

        >>> a = sc.accumulator(0)
        >>> a.add(3)
        >>> a.value
        3
        >>> sc.parallelize(range(5)).foreach(lambda x: a.add(x))
        >>> a.value
        13
        """
        self._value = self.accum_param.addInPlace(self._value, term)
        self._touched = True

    def __iadd__(self, term):
        self.add(term)
        return self

    def __reduce__(self):
        return (_task_copy, (self.aid, self.accum_param.zero(self._value), self.accum_param))

    def __str__(self):
        return str(self._value)

    def __repr__(self):
        return f"Accumulator<id={self.aid}, value={self._value}>"


def _task_copy(aid, zero, accum_param):
    """The worker side of an accumulator: a local copy registered for the running task."""
    acc = Accumulator(aid, zero, accum_param)
    acc._deserialized = True
    with _lock:
        _task_registry[aid] = acc
    return acc


def reset_task_copies():
    """Before a task: every local copy restarts from zero."""
    with _lock:
        for acc in _task_registry.values():
            acc._value = acc.accum_param.zero(acc._value)
            acc._touched = False


def collect_task_updates():
    """After a task: {id: value} of the copies it added to."""
    with _lock:
        return {aid: acc._value for aid, acc in _task_registry.items() if acc._touched}


def register(acc):
    with _lock:
        _driver_registry[acc.aid] = acc


def apply_updates(updates):
    """On the driver: add a task's accepted updates to the real accumulators."""
    for aid, value in updates.items():
        acc = _driver_registry.get(aid)
        if acc is not None:
            acc._value = acc.accum_param.addInPlace(acc._value, value)

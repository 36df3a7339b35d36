"""Broadcast variables: a read-only value shipped once per worker, not per task.

The driver pickles the value once into a file of the application directory
(shared storage on this machine; a cluster backend fetches it instead).
A Broadcast captured by a task's function pickles as its id and path only,
so stage blobs and task messages stay small however large the value.  A
worker loads the file on first use and keeps the value in ``_loaded``
until the driver says ``unpersist``.

``destroy()`` deletes the file: later use on the driver or in a task fails
with a message naming the broadcast.
"""
import os
import pickle
import threading

__all__ = ["Broadcast"]

#: broadcast id -> value, in this process (a worker's cache; the driver's own values)
_loaded = {}
_lock = threading.Lock()


class Broadcast:
    """A read-only variable cached on each worker.

    >>> b = sc.broadcast([1, 2, 3, 4, 5])
    >>> b.value
    [1, 2, 3, 4, 5]
    >>> sc.parallelize([0, 0]).flatMap(lambda x: b.value).collect()
    [1, 2, 3, 4, 5, 1, 2, 3, 4, 5]
    >>> b.unpersist()
    >>> large_broadcast = sc.broadcast(range(10000))
    """

    def __init__(self, sc=None, value=None, pickle_registry=None, path=None, sock_file=None,
                 *, bid=None):
        if sc is not None:
            import cloudpickle

            self._bid = sc._new_broadcast_id()
            self._path = os.path.join(sc._broadcast_dir(), f"broadcast_{self._bid}.pkl")
            tmp = f"{self._path}.tmp"
            with open(tmp, "wb") as f:
                cloudpickle.dump(value, f, protocol=5)
            os.replace(tmp, self._path)
            self._value = value
            self._driver = True
        else:
            self._bid = bid
            self._path = path
            self._driver = False
        self._destroyed = False

    @property
    def value(self):
        """The broadcast value (loaded once per worker process).

        >>> b = sc.broadcast({"a": 1, "b": 2})
        >>> b.value["b"]
        2
        >>> sorted(sc.parallelize(["a", "b", "a"]).map(lambda k: b.value[k]).collect())
        [1, 1, 2]
        >>> b.destroy()
        """
        if self._driver:
            if self._destroyed:
                raise RuntimeError(f"Broadcast {self._bid} was destroyed and can no longer be used")
            return self._value
        with _lock:
            if self._bid in _loaded:
                return _loaded[self._bid]
            try:
                with open(self._path, "rb") as f:
                    value = pickle.load(f)
            except FileNotFoundError:
                raise RuntimeError(f"Broadcast {self._bid} was destroyed (or its file {self._path} "
                                   f"removed) and can no longer be used") from None
            _loaded[self._bid] = value
            return value

    def dump(self, value, f):
        """Write ``value``, pickled with cloudpickle, to the binary file ``f``.

        >>> import io
        >>> b = sc.broadcast(0)
        >>> buf = io.BytesIO()
        >>> b.dump([1, 2, 3], buf)
        >>> _ = buf.seek(0)
        >>> b.load(buf)
        [1, 2, 3]
        >>> b.destroy()
        """
        import cloudpickle

        cloudpickle.dump(value, f, protocol=5)

    def load(self, file):
        """Read a pickled value back from the binary file ``file``.

        >>> import io, pickle
        >>> b = sc.broadcast(0)
        >>> b.load(io.BytesIO(pickle.dumps({"k": "v"})))
        {'k': 'v'}
        >>> b.destroy()
        """
        return pickle.load(file)

    def load_from_path(self, path):
        """Read a pickled value back from the file at ``path``.

        >>> import os, tempfile
        >>> b = sc.broadcast(0)
        >>> path = os.path.join(tempfile.mkdtemp(), "value.pkl")
        >>> with open(path, "wb") as f:
        ...     b.dump(list(range(5)), f)
        >>> b.load_from_path(path)
        [0, 1, 2, 3, 4]
        >>> b.destroy()
        """
        with open(path, "rb") as f:
            return self.load(f)

    def unpersist(self, blocking=False):
        """Drop the workers' cached copies; the value is reloaded if used again.

        >>> b = sc.broadcast([1, 2, 3])
        >>> sc.parallelize([0, 1], 2).map(lambda i: b.value[i]).collect()
        [1, 2]
        >>> b.unpersist()
        >>> sc.parallelize([0, 1], 2).map(lambda i: b.value[i]).collect()
        [1, 2]
        >>> b.destroy()
        """
        from fastrdd.context import SparkContext

        sc = SparkContext._active_spark_context
        if sc is not None:
            sc._send_all(("unbroadcast", self._bid))

    def destroy(self, blocking=False):
        """Free the value everywhere; using it afterwards fails.

        >>> b = sc.broadcast([1, 2, 3])
        >>> b.destroy()
        >>> b.value  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        RuntimeError: Broadcast ... was destroyed and can no longer be used
        """
        self.unpersist(blocking)
        self._destroyed = True
        self._value = None
        try:
            os.unlink(self._path)
        except FileNotFoundError:
            pass

    def __reduce__(self):
        if self._destroyed:
            raise RuntimeError(f"Broadcast {self._bid} was destroyed and cannot be sent to tasks")
        return (_rebuild, (self._bid, self._path))

    def __repr__(self):
        return f"<Broadcast {self._bid}>"


def _rebuild(bid, path):
    return Broadcast(bid=bid, path=path)


def forget(bid):
    """Drop a worker's cached value (the driver's "unbroadcast" message)."""
    with _lock:
        _loaded.pop(bid, None)

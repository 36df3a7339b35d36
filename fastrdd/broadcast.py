"""Broadcast variables: a read-only value shipped once per worker, not per task.

The driver's ``BroadcastManager`` (one per SparkContext) pickles the value
once into the ``broadcast`` directory of the application.  A Broadcast
captured by a task's function pickles as its id only, so stage blobs and
task messages stay small however large the value.  A worker reads the
value on first use through its block fetcher (``storage.blocks``: the
driver's file in place on this machine) and keeps it in ``_loaded`` until
the driver says ``Unbroadcast``.

``destroy()`` deletes the file: later use on the driver or in a task fails
with a message naming the broadcast.
"""
import os
import pickle
import threading

from fastrdd import protocol
from fastrdd.storage import blocks

__all__ = ["Broadcast", "BroadcastManager"]

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
        #: the driver's manager (None in a worker)
        self._manager = sc._broadcast_manager if sc is not None else None
        if self._manager is not None:
            self._bid = self._manager.write(value)
            self._value = value
        else:
            self._bid = bid
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
        if self._manager is not None:
            if self._destroyed:
                raise RuntimeError(f"Broadcast {self._bid} was destroyed and can no longer be used")
            return self._value
        with _lock:
            if self._bid in _loaded:
                return _loaded[self._bid]
            fetcher = blocks.fetcher()
            if fetcher is None:
                raise RuntimeError(f"Broadcast {self._bid} can only be read on the driver that "
                                   f"made it or in its tasks")
            try:
                with open(fetcher.broadcast_path(self._bid), "rb") as f:
                    value = pickle.load(f)
            except FileNotFoundError:
                raise RuntimeError(f"Broadcast {self._bid} was destroyed and can no longer be "
                                   f"used") from None
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
        if self._manager is not None:
            self._manager.unpersist(self._bid)

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
        if self._manager is not None:
            self._manager.remove(self._bid)

    def __reduce__(self):
        if self._destroyed:
            raise RuntimeError(f"Broadcast {self._bid} was destroyed and cannot be sent to tasks")
        return (_rebuild, (self._bid,))

    def __repr__(self):
        return f"<Broadcast {self._bid}>"


def _rebuild(bid):
    return Broadcast(bid=bid)


class BroadcastManager:
    """The driver's broadcast values: written once, dropped on unpersist/destroy."""

    def __init__(self, directory, backend):
        #: where the pickled values live (read by workers through their fetcher)
        self.directory = directory
        self.backend = backend
        self._ids = iter(range(1 << 62))
        self._lock = threading.Lock()

    def path(self, bid):
        return os.path.join(self.directory, f"broadcast_{bid}.pkl")

    def write(self, value):
        """Pickle ``value`` into a new broadcast file; its id."""
        import cloudpickle

        with self._lock:
            bid = next(self._ids)
        os.makedirs(self.directory, exist_ok=True)
        path = self.path(bid)
        with open(f"{path}.tmp", "wb") as f:
            cloudpickle.dump(value, f, protocol=5)
        os.replace(f"{path}.tmp", path)
        return bid

    def unpersist(self, bid):
        """Workers drop their loaded copy (they read it again if used again)."""
        self.backend.broadcast(protocol.Unbroadcast(bid))

    def remove(self, bid):
        try:
            os.unlink(self.path(bid))
        except FileNotFoundError:
            pass


def forget(bid):
    """Drop a worker's cached value (the driver's "unbroadcast" message)."""
    with _lock:
        _loaded.pop(bid, None)

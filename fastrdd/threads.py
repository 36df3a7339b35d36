"""Threads that inherit the local properties (job group, tags) of their parent.

In PySpark a thread started with ``InheritableThread`` sees the job group,
description and tags its parent thread had set, so cancelling the group
also cancels the child's jobs.
"""
import functools
import threading

__all__ = ["InheritableThread", "inheritable_thread_target"]


def _current_properties():
    from fastrdd.context import SparkContext

    sc = SparkContext._active_spark_context
    if sc is None:
        return None, {}
    return sc, dict(getattr(sc._local_properties, "props", {}))


def inheritable_thread_target(f):
    """Wrap ``f`` so that, run in another thread, it sees the caller's local properties."""
    sc, props = _current_properties()

    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        if sc is not None:
            sc._local_properties.props = dict(props)
        return f(*args, **kwargs)

    return wrapped


class InheritableThread(threading.Thread):
    """A Thread whose target sees the starting thread's job group and tags.

    >>> out = []
    >>> sc.setLocalProperty("my.prop", "inherited")
    >>> t = InheritableThread(target=lambda: out.append(sc.getLocalProperty("my.prop")))
    >>> t.start(); t.join()
    >>> sc.setLocalProperty("my.prop", None)
    >>> out
    ['inherited']
    """

    def __init__(self, target, *args, session=None, **kwargs):
        super().__init__(*args, target=target, **kwargs)

    def start(self):
        """Start the thread; its target runs with this thread's local properties.

        >>> result = []
        >>> t = InheritableThread(target=lambda: result.append(sum(range(5))))
        >>> t.start()
        >>> t.join()
        >>> result
        [10]
        """
        self._target = inheritable_thread_target(self._target)
        return super().start()

"""Python profiles of tasks, as PySpark's ``spark.python.profile`` gives them.

With ``spark.python.profile=true`` each task runs under cProfile in its
worker; the stats come back with the task's result, and the driver's
collector adds them up per RDD (the RDD the job computed).
``sc.show_profiles()`` prints them; ``sc.dump_profiles(path)`` writes
``rdd_<id>.pstats`` files.
"""
import cProfile
import os
import pstats

__all__ = ["Profiler", "BasicProfiler", "ProfilerCollector"]


class Profiler:
    """Base class of profilers: ``profile`` a function, keep ``stats``, ``show``, ``dump``.

    >>> class MyCustomProfiler(BasicProfiler):
    ...     def show(self, id):
    ...         print("My custom profiles for RDD:%s" % id)
    >>> p = MyCustomProfiler(None)
    >>> p.show(1)
    My custom profiles for RDD:1
    """

    def __init__(self, ctx):
        self._accumulated = None

    def profile(self, func, *args, **kwargs):
        """Run ``func(*args, **kwargs)`` under the profiler and return its result.

        Subclasses implement it; the base class does not:

        >>> Profiler(None).profile(sum, [1, 2])
        Traceback (most recent call last):
            ...
        NotImplementedError
        """
        raise NotImplementedError

    def stats(self):
        """The statistics accumulated so far (a ``pstats.Stats``), or None.

        >>> p = BasicProfiler(None)
        >>> p.stats() is None
        True
        >>> p.profile(sum, [1, 2])
        3
        >>> p.stats().total_calls > 0
        True
        """
        return self._accumulated

    def add(self, stats):
        """Add ``stats`` (a ``pstats.Stats``) to the accumulated statistics.

        >>> import cProfile, pstats
        >>> prof = cProfile.Profile()
        >>> prof.runcall(sorted, [3, 1, 2])
        [1, 2, 3]
        >>> p = Profiler(None)
        >>> p.add(pstats.Stats(prof))
        >>> p.add(pstats.Stats(prof))
        >>> p.stats().total_calls == 2 * pstats.Stats(prof).total_calls
        True
        """
        if self._accumulated is None:
            self._accumulated = stats
        else:
            self._accumulated.add(stats)

    def show(self, id):
        """Print the accumulated statistics of RDD ``id`` (nothing if there are none).

        >>> p = BasicProfiler(None)
        >>> p.show(1)
        >>> p.profile(sum, [1, 2])
        3
        >>> p.show(1)  # doctest: +ELLIPSIS
        ============================================================
        Profile of RDD<id=1>
        ============================================================
        ...function calls...
        """
        stats = self.stats()
        if stats:
            print("=" * 60)
            print("Profile of RDD<id=%d>" % id)
            print("=" * 60)
            stats.sort_stats("time", "cumulative").print_stats()

    def dump(self, id, path):
        """Write the accumulated statistics of RDD ``id`` as ``path/rdd_<id>.pstats``.

        >>> import os, tempfile
        >>> p = BasicProfiler(None)
        >>> p.profile(sum, [1, 2])
        3
        >>> path = tempfile.mkdtemp()
        >>> p.dump(7, path)
        >>> os.listdir(path)
        ['rdd_7.pstats']
        """
        os.makedirs(path, exist_ok=True)
        stats = self.stats()
        if stats:
            stats.dump_stats(os.path.join(path, "rdd_%d.pstats" % id))


class BasicProfiler(Profiler):
    """cProfile-based profiler (the default ``profiler_cls``)."""

    def profile(self, func, *args, **kwargs):
        """Run ``func(*args, **kwargs)`` under cProfile, add its stats and return its result.

        >>> p = BasicProfiler(None)
        >>> p.profile(sum, [1, 2])
        3
        >>> p.profile(max, [1, 2])
        2
        >>> p.stats().total_calls > 0
        True
        """
        profiler = cProfile.Profile()
        result = profiler.runcall(func, *args, **kwargs)
        self.add(pstats.Stats(profiler))
        return result


class ProfilerCollector:
    """The driver's profiles, one profiler per RDD id."""

    def __init__(self, profiler_cls, dump_path=None):
        self.profiler_cls = profiler_cls
        self.profile_dump_path = dump_path
        self.profilers = {}

    def add_stats(self, rdd_id, raw_stats):
        profiler = self.profilers.get(rdd_id)
        if profiler is None:
            profiler = self.profilers[rdd_id] = self.profiler_cls(None)
        stats = pstats.Stats()
        stats.stats = raw_stats
        stats.total_calls = sum(v[1] for v in raw_stats.values())
        stats.prim_calls = sum(v[0] for v in raw_stats.values())
        stats.total_tt = sum(v[2] for v in raw_stats.values())
        profiler.add(stats)

    def show_profiles(self):
        for rdd_id, profiler in sorted(self.profilers.items()):
            profiler.show(rdd_id)

    def dump_profiles(self, path):
        for rdd_id, profiler in sorted(self.profilers.items()):
            profiler.dump(rdd_id, path)
        self.profilers = {}

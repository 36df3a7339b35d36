"""RDD: a lazy, partitioned, immutable collection, with PySpark's API.

An RDD is a description: its partitions, how to compute each from its
parents (narrow dependencies) or from a shuffle, and an optional
partitioner.  Transformations return new RDDs and run nothing; actions
hand the RDD to the scheduler (``SparkContext._run_job``).  What kind of
RDD one is (parallelized collection, text file, pipelined map, union,
coalesce, shuffle...) is its plan, from ``lineage.py``; this module is the
user-facing API and is mostly docstrings, with PySpark-style examples run
as doctests.  ``PipelinedRDD`` (fused narrow operators) is here, as in
PySpark's ``pyspark.rdd``.
"""
import copy
import math
import operator
import os
import random
import sys
import weakref
from collections import defaultdict, deque
from functools import reduce as _reduce
from itertools import chain, count as itertools_count, islice

import fastrdd
from fastrdd import _impl
from fastrdd.rdd.approx import BoundedFloat  # noqa: F401  (PySpark exports it from its rdd module)
from fastrdd.errors import ClosureError
from fastrdd.io.text import codec as _codec
from fastrdd.worker.records import keys_of as _keys_of, not_a_pair as _not_a_pair
from fastrdd.worker.records import pairs as _pairs, values_of as _values_of
from fastrdd.partitioner import Partitioner, portable_hash
from fastrdd.rdd import lineage
from fastrdd.rdd.joins import cogroup, join
from fastrdd.resultiterable import ResultIterable
from fastrdd.shuffle.dependency import ShuffleDependency
from fastrdd.specialize import NOT_CONSTANT, contains_operand, pair_constant, prefix_operand
from fastrdd.specialize import identity as _identity
from fastrdd.storagelevel import StorageLevel

__all__ = ["RDD", "PipelinedRDD", "union_of"]



def _call_site():
    """(operation, "file:line") of the user code that created an RDD."""
    frame = sys._getframe(2)
    op = frame.f_code.co_name
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
            fastrdd.PACKAGE_DIR + os.sep):
        op = frame.f_code.co_name
        frame = frame.f_back
    if frame is None:
        return op, "<unknown>"
    return op, f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"


_LIST_ITERATOR = type(iter([]))


def _count_iter(_, iterator):
    if type(iterator) is _LIST_ITERATOR:  # a cached partition: its length is known
        return operator.length_hint(iterator)
    # zip reuses its result tuple when the deque drops it at once: no allocation per record
    counter = itertools_count()
    deque(zip(iterator, counter), maxlen=0)
    return next(counter)


def _collect_partition(_, iterator):
    return list(iterator)


class RDD:
    """A Resilient Distributed Dataset, the basic abstraction of fastrdd.

    Create one from a SparkContext (``sc.parallelize``, ``sc.textFile``)
    and transform it; nothing runs until an action such as ``collect``.

    >>> rdd = sc.parallelize([1, 2, 3, 4], 2)
    >>> rdd.map(lambda x: x * 10).filter(lambda x: x > 10).collect()
    [20, 30, 40]
    """

    #: the id is given when first needed (a job, id()), as PySpark does for PipelinedRDD
    _lazy_id = False

    def __init__(self, ctx, plan, partitioner=None):
        ctx._check_active()
        self.ctx = ctx
        #: what kind of RDD this is: its partitions and parents (``lineage``)
        self._plan = plan
        if not self._lazy_id:
            self._rdd_id = ctx._new_rdd_id()
        self.partitioner = partitioner
        self._name = None
        self._storage_level = StorageLevel(False, False, False, False, 1)
        self.is_cached = False
        self.is_checkpointed = False
        self._site = _call_site()

    @property
    def _id(self):
        rdd_id = self.__dict__.get("_rdd_id")
        if rdd_id is None:
            rdd_id = self._rdd_id = self.ctx._new_rdd_id()
        return rdd_id

    def _new(self, plan, partitioner=None):
        """A child RDD of the same context with ``plan``."""
        return RDD(self.ctx, plan, partitioner)

    def _shuffled(self, num_partitions, partition_func, aggregator):
        """The reduce side of a shuffle of this RDD: the first RDD of a new stage."""
        shuffle_id = self.ctx._new_shuffle_id()
        fast = None if partition_func is portable_hash else partition_func
        dep = ShuffleDependency(shuffle_id, num_partitions, fast, aggregator,
                                self.getNumPartitions())
        child = self._new(lineage.Shuffled(self, dep), Partitioner(num_partitions, partition_func))
        # map outputs are deleted from the workers once no RDD can read them
        weakref.finalize(child, self.ctx._scheduler.released_shuffles.append, shuffle_id)
        return child

    # -- structure, from the lineage plan --------------------------------------
    def getNumPartitions(self):
        """The number of partitions.

        >>> sc.parallelize([1, 2, 3, 4], 2).getNumPartitions()
        2
        """
        return self._plan.num_partitions()

    @property
    def _shuffle_dep(self):
        """The ShuffleDependency this RDD reads (shuffled RDDs only), or None."""
        return self._plan.shuffle_dep

    @property
    def _parent(self):
        """The map side of the shuffle this RDD reads."""
        return self._plan.parent

    @property
    def _has_payload(self):
        return self._plan.has_payload

    def _narrow_parents(self):
        return self._plan.narrow_parents()

    def _parent_splits(self, split):
        """[(parent RDD, parent split)] that partition ``split`` reads without a shuffle."""
        return self._plan.parent_splits(split)

    def _make_node(self, node_of):
        return self._plan.make_node(self._id, self._level(), node_of)

    def _level(self):
        """(use disk, use memory, copies) of a persisted RDD, for its worker-side node;
        None if not persisted."""
        level = self._storage_level
        if not self.is_cached or not (level.useDisk or level.useMemory):
            return None
        return (level.useDisk, level.useMemory, level.replication)

    def _task_payloads(self, split, out=None):
        """{(rdd id, split): bytes} of driver-side data that task ``split`` needs."""
        return self._plan.task_payloads(self._id, split, {} if out is None else out)

    def __reduce__(self):
        raise ClosureError(
            "An RDD was captured by a function sent to the workers (for example "
            "rdd1.map(lambda x: rdd2.count() * x)). RDD transformations and actions can only "
            "be invoked by the driver, not inside other transformations: compute what you need "
            "from the other RDD first (collect it, or broadcast a small result), or use join.")

    # -- identity and introspection --------------------------------------------
    @property
    def context(self):
        """The SparkContext this RDD was created on.

        >>> rdd = sc.range(5)
        >>> rdd.context.applicationId == sc.applicationId
        True
        >>> rdd.context.parallelize([1, 2]).collect()
        [1, 2]
        """
        return self.ctx

    def id(self):
        """A unique id for this RDD within its SparkContext.

        >>> rdd1 = sc.range(5)
        >>> rdd2 = rdd1.map(lambda x: x + 1)
        >>> isinstance(rdd1.id(), int), rdd1.id() != rdd2.id()
        (True, True)
        """
        return self._id

    def name(self):
        """The name of this RDD, or None.

        >>> sc.range(3).setName("numbers").name()
        'numbers'
        """
        return self._name

    def setName(self, name):
        """Set this RDD's name (shown by toDebugString); returns self.

        >>> rdd = sc.parallelize(["a", "b"])
        >>> rdd.setName("letters") is rdd
        True
        >>> rdd.name()
        'letters'
        """
        self._name = name
        return self

    def __repr__(self):
        op, site = self._site
        return f"{self._plan.label}{self._plan.kind}[{self._id}] at {op} at {site}"

    def toDebugString(self):
        """A description of this RDD and its lineage, with stage boundaries (bytes, as PySpark).

        >>> rdd = sc.parallelize([(1, 1), (1, 2)], 2).reduceByKey(lambda a, b: a + b)
        >>> print(rdd.toDebugString().decode())  # doctest: +ELLIPSIS
        (2) ShuffledRDD[...] at reduceByKey at ... []
         +-(2) ParallelCollectionRDD[...] at parallelize at ... []
        """
        def describe(rdd):
            storage = f"[{rdd._storage_level}]" if rdd.is_cached else "[]"
            name = f"{rdd._name} " if rdd._name else ""
            return f"{name}{rdd!r} {storage}"

        lines = [f"({self.getNumPartitions()}) {describe(self)}"]

        def parents_of(rdd, indent):
            if rdd._shuffle_dep is not None:
                parent = rdd._parent
                lines.append(f"{indent} +-({parent.getNumPartitions()}) {describe(parent)}")
                parents_of(parent, indent + "   ")
                return
            for parent in rdd._narrow_parents():
                lines.append(f"{indent} |  {describe(parent)}")
                parents_of(parent, indent)

        parents_of(self, "")
        return "\n".join(lines).encode("utf-8")

    # -- persistence ------------------------------------------------------------
    def cache(self):
        """Keep this RDD's partitions in memory once computed (MEMORY_ONLY).

        >>> rdd = sc.parallelize([1, 2, 3]).cache()
        >>> rdd.is_cached, rdd.getStorageLevel() == StorageLevel.MEMORY_ONLY
        (True, True)
        """
        return self.persist(StorageLevel.MEMORY_ONLY)

    def persist(self, storageLevel=StorageLevel.MEMORY_ONLY):
        """Keep computed partitions in the workers' block stores at ``storageLevel``.

        Later tasks on a cached partition run on the worker that holds it.
        A lost worker's partitions are recomputed from lineage.

        >>> rdd = sc.parallelize(["b", "a", "c"]).persist()
        >>> rdd.is_cached
        True
        """
        if self.is_cached and storageLevel != self._storage_level:
            raise ValueError(
                f"Cannot change storage level of an RDD after it was already assigned a level "
                f"({self._storage_level} -> {storageLevel}): unpersist() it first")
        self.is_cached = True
        self._storage_level = storageLevel
        return self

    def unpersist(self, blocking=False):
        """Drop this RDD's cached partitions from every worker (``blocking``: wait until done).

        >>> rdd = sc.parallelize([1, 2]).cache()
        >>> rdd.count()
        2
        >>> rdd.unpersist().is_cached
        False
        """
        self.is_cached = False
        self._storage_level = StorageLevel(False, False, False, False, 1)
        self.ctx._scheduler.unpersist(self._id, blocking)
        return self

    def getStorageLevel(self):
        """This RDD's current storage level.

        >>> print(sc.parallelize([1, 2]).cache().getStorageLevel())
        Memory Serialized 1x Replicated
        """
        return self._storage_level

    # -- checkpoints ------------------------------------------------------------------
    def checkpoint(self):
        """Save this RDD to the checkpoint directory after the next job, cutting its lineage.

        >>> import tempfile
        >>> sc.setCheckpointDir(tempfile.mkdtemp())
        >>> rdd = sc.parallelize(range(5), 2).map(lambda x: x * 2)
        >>> rdd.checkpoint()
        >>> rdd.is_checkpointed, rdd.isCheckpointed()
        (True, False)
        >>> rdd.sum()
        20
        >>> rdd.isCheckpointed(), rdd.getCheckpointFile() is not None, rdd.collect()
        (True, True, [0, 2, 4, 6, 8])
        """
        if self.ctx.getCheckpointDir() is None:
            raise RuntimeError("Checkpoint directory has not been set in the SparkContext: "
                               "call sc.setCheckpointDir(path) first")
        self._checkpoint_local = False
        self.is_checkpointed = True
        self.ctx._pending_checkpoints.add(self._id)

    def localCheckpoint(self):
        """Checkpoint into the workers' local storage (faster; lost with the context).

        >>> rdd = sc.parallelize(range(3)).map(lambda x: x + 1)
        >>> rdd.localCheckpoint()
        >>> rdd.collect(), rdd.isLocallyCheckpointed()
        ([1, 2, 3], True)
        """
        self._checkpoint_local = True
        self.ctx._pending_checkpoints.add(self._id)

    def isCheckpointed(self):
        """Whether this RDD was written to a checkpoint, reliable or local (as in PySpark).

        >>> import tempfile
        >>> sc.setCheckpointDir(tempfile.mkdtemp())
        >>> rdd = sc.parallelize(range(3)).map(lambda x: x * 10)
        >>> rdd.isCheckpointed()
        False
        >>> rdd.checkpoint()
        >>> rdd.count()
        3
        >>> rdd.isCheckpointed()
        True
        """
        return getattr(self, "_checkpoint_written", False)

    def isLocallyCheckpointed(self):
        """Whether this RDD was marked for, or written to, a local checkpoint.

        >>> rdd = sc.parallelize(range(3))
        >>> rdd.isLocallyCheckpointed()
        False
        >>> rdd.localCheckpoint()
        >>> rdd.isLocallyCheckpointed()
        True
        """
        return getattr(self, "_checkpoint_local", False)

    def getCheckpointFile(self):
        """The directory this RDD was checkpointed to, as a ``file:`` URI; else None.

        None also after ``localCheckpoint()``, as in PySpark.

        >>> import os, tempfile
        >>> d = tempfile.mkdtemp()
        >>> sc.setCheckpointDir(d)
        >>> rdd = sc.parallelize(range(3)).map(lambda x: x + 1)
        >>> rdd.getCheckpointFile() is None
        True
        >>> rdd.checkpoint()
        >>> rdd.collect()
        [1, 2, 3]
        >>> rdd.getCheckpointFile().startswith("file:" + d)
        True
        """
        path = getattr(self, "_checkpoint_path", None) if self.isCheckpointed() else None
        return None if path is None else "file:" + path

    def cleanShuffleDependencies(self, blocking=False):
        """Delete the shuffle files of this RDD's lineage (recomputed if needed again).

        >>> rdd = sc.parallelize([(1, 1), (1, 2)]).reduceByKey(lambda a, b: a + b)
        >>> rdd.collect()
        [(1, 3)]
        >>> rdd.cleanShuffleDependencies()
        >>> rdd.collect()
        [(1, 3)]
        """
        for r in lineage.walk(self):
            if r._shuffle_dep is not None:
                self.ctx._scheduler.released_shuffles.append(r._shuffle_dep.shuffle_id)

    def barrier(self):
        """Run the next stage in barrier mode: all its tasks at once (see RDDBarrier).

        >>> from fastrdd.taskcontext import BarrierTaskContext
        >>> def f(iterator):
        ...     ctx = BarrierTaskContext.get()
        ...     ctx.barrier()
        ...     return ctx.allGather(str(ctx.partitionId()))
        >>> sc.parallelize(range(4), 2).barrier().mapPartitions(f).collect()
        ['0', '1', '0', '1']
        """
        from fastrdd.rdd.barrier import RDDBarrier

        return RDDBarrier(self)

    def _is_barrier(self):
        """Whether this RDD runs in a barrier stage (PySpark's tests call it).

        >>> rdd = sc.parallelize(range(4), 2)
        >>> rdd._is_barrier(), rdd.barrier().mapPartitions(lambda it: it)._is_barrier()
        (False, True)
        """
        from fastrdd.rdd.barrier import is_barrier

        return is_barrier(self)

    def toDF(self, schema=None, sampleRatio=None):
        """Spark SQL is not part of fastrdd (an RDD engine with no JVM).

        >>> sc.parallelize([(1, "a")]).toDF()  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        NotImplementedError: toDF() needs Spark SQL, which fastrdd does not provide: ...
        """
        raise NotImplementedError(
            "toDF() needs Spark SQL, which fastrdd does not provide: collect the rows and build a "
            "pandas DataFrame (pandas.DataFrame(rdd.collect())), or use PySpark for SQL.")

    def __getnewargs__(self):
        self.__reduce__()

    def collectWithJobGroup(self, groupId, description, interruptOnCancel=False):
        """Deprecated: collect() under a job group (use setJobGroup instead).

        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore", FutureWarning)
        ...     sc.parallelize([1, 2, 3]).collectWithJobGroup("doctest_group", "a description")
        [1, 2, 3]
        >>> sc.getLocalProperty("spark.jobGroup.id")
        'doctest_group'
        >>> for key in ("spark.jobGroup.id", "spark.job.description",
        ...             "spark.job.interruptOnCancel"):
        ...     sc.setLocalProperty(key, None)
        """
        import warnings

        warnings.warn("Deprecated in 3.1, Use pyspark.InheritableThread with the pinned thread "
                      "mode enabled.", FutureWarning, stacklevel=2)
        self.ctx.setJobGroup(groupId, description, interruptOnCancel)
        return self.collect()

    def has_resource_profile(self):
        """Whether a stage-level resource profile is attached: never in fastrdd.

        >>> sc.parallelize([1]).has_resource_profile()
        False
        """
        return False

    def getResourceProfile(self):
        """Stage-level resource profiles are not supported: every task gets one core.

        >>> sc.parallelize([1]).getResourceProfile() is None
        True
        """
        return None

    def withResources(self, profile):
        """Attach a stage-level resource profile: not supported by fastrdd.

        >>> sc.parallelize([1]).withResources(None)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        NotImplementedError: Stage-level resource profiles need a Spark cluster manager; ...
        """
        raise NotImplementedError("Stage-level resource profiles need a Spark cluster manager; "
                                  "fastrdd runs each task on one worker process")

    # -- narrow transformations --------------------------------------------------
    def mapPartitionsWithIndex(self, f, preservesPartitioning=False):
        """Apply ``f(partition index, iterator)`` to each partition.

        >>> rdd = sc.parallelize([1, 2, 3, 4], 4)
        >>> rdd.mapPartitionsWithIndex(lambda i, it: [i * 10 + sum(it)]).collect()
        [1, 12, 23, 34]
        """
        return PipelinedRDD(self, f, preservesPartitioning)

    def mapPartitions(self, f, preservesPartitioning=False):
        """Apply ``f(iterator)`` to each partition.

        >>> rdd = sc.parallelize([1, 2, 3, 4], 2)
        >>> def f(iterator): yield sum(iterator)
        >>> rdd.mapPartitions(f).collect()
        [3, 7]
        """
        return self.mapPartitionsWithIndex(lambda _, iterator: f(iterator), preservesPartitioning)

    def map(self, f, preservesPartitioning=False):
        """Apply ``f`` to every element.

        >>> sorted(sc.parallelize(["b", "a", "c"]).map(lambda x: (x, 1)).collect())
        [('a', 1), ('b', 1), ('c', 1)]
        """
        # generator expressions, not map()/filter(): a StopIteration raised by
        # ``f`` then fails the task (PEP 479) instead of silently ending it
        return PipelinedRDD(self, lambda _, iterator: (f(x) for x in iterator),
                            preservesPartitioning, pair_value=pair_constant(f), record_func=f)

    def flatMap(self, f, preservesPartitioning=False):
        """Apply ``f`` to every element and flatten the iterables it returns.

        >>> sorted(sc.parallelize([2, 3, 4]).flatMap(lambda x: range(1, x)).collect())
        [1, 1, 1, 2, 2, 3]
        >>> sorted(sc.parallelize([2, 3, 4]).flatMap(lambda x: [(x, x), (x, x)]).collect())
        [(2, 2), (2, 2), (3, 3), (3, 3), (4, 4), (4, 4)]
        """
        return self.mapPartitionsWithIndex(
            lambda _, iterator: chain.from_iterable(f(x) for x in iterator), preservesPartitioning)

    def filter(self, f):
        """Keep the elements for which ``f`` is true.

        >>> sc.parallelize([1, 2, 3, 4, 5]).filter(lambda x: x % 2 == 0).collect()
        [2, 4]
        """
        def filter_partition(_, iterator):
            # recognised tests run in C, reading the operand's cell at each record as f does
            needle = contains_operand(f)
            if needle is not NOT_CONSTANT:
                return _impl.iterators.filter_contains(iterator, needle, f)
            prefix = prefix_operand(f)
            if prefix is not NOT_CONSTANT:
                return _impl.iterators.filter_prefix(iterator, prefix, f)
            return (x for x in iterator if f(x))

        return self.mapPartitionsWithIndex(filter_partition, True)

    def glom(self):
        """Turn each partition into a list.

        >>> sorted(sc.parallelize([1, 2, 3, 4], 2).glom().collect())
        [[1, 2], [3, 4]]
        """
        return self.mapPartitionsWithIndex(lambda _, iterator: [list(iterator)])

    def keyBy(self, f):
        """Pair every element with the key ``f(x)``: ``(f(x), x)``.

        >>> sc.parallelize(range(3)).keyBy(lambda x: x * x).collect()
        [(0, 0), (1, 1), (4, 2)]
        """
        return self.map(lambda x: (f(x), x))

    def keys(self):
        """The key of each (key, value) pair.

        >>> sc.parallelize([(1, 2), (3, 4)]).keys().collect()
        [1, 3]
        """
        return self.mapPartitionsWithIndex(_keys_of)

    def values(self):
        """The value of each (key, value) pair.

        >>> sc.parallelize([(1, 2), (3, 4)]).values().collect()
        [2, 4]
        """
        return self.mapPartitionsWithIndex(_values_of)

    def mapValues(self, f):
        """Apply ``f`` to each value of (key, value) pairs, keeping keys and partitioning.

        >>> rdd = sc.parallelize([("a", ["apple", "banana", "lemon"]), ("b", ["grapes"])])
        >>> rdd.mapValues(len).collect()
        [('a', 3), ('b', 1)]
        """
        def map_values(_, iterator):
            for record in iterator:
                try:
                    k, v = record
                except (TypeError, ValueError):
                    raise _not_a_pair(record) from None
                yield k, f(v)

        def map_value(record):  # the same, one record at a time (``_record_chain``)
            try:
                k, v = record
            except (TypeError, ValueError):
                raise _not_a_pair(record) from None
            return k, f(v)

        return PipelinedRDD(self, map_values, True, record_func=map_value)

    def flatMapValues(self, f):
        """Apply ``f`` to each value and pair each of its results with the key.

        >>> rdd = sc.parallelize([("a", ["x", "y", "z"]), ("b", ["p", "r"])])
        >>> rdd.flatMapValues(lambda x: x).collect()
        [('a', 'x'), ('a', 'y'), ('a', 'z'), ('b', 'p'), ('b', 'r')]
        """
        return self.mapPartitionsWithIndex(
            lambda _, iterator: ((k, x) for k, v in _pairs(iterator) for x in f(v)), True)

    def union(self, other):
        """Both RDDs' elements (duplicates kept).

        >>> rdd = sc.parallelize([1, 1, 2, 3])
        >>> rdd.union(rdd).collect()
        [1, 1, 2, 3, 1, 1, 2, 3]
        """
        rdd = union_of(self.ctx, [self, other])
        # PySpark keeps the partitioner only when both sides agree and the
        # union did not add partitions (it was partition-aware).
        if rdd.getNumPartitions() == self.getNumPartitions() and other.partitioner == self.partitioner:
            rdd.partitioner = self.partitioner
        return rdd

    def __add__(self, other):
        """``rdd1 + rdd2`` is their union.

        >>> rdd = sc.parallelize([1, 1, 2, 3])
        >>> (rdd + rdd).collect()
        [1, 1, 2, 3, 1, 1, 2, 3]
        """
        if not isinstance(other, RDD):
            raise TypeError(f"can only add an RDD to an RDD, not {type(other).__name__}")
        return self.union(other)

    def coalesce(self, numPartitions, shuffle=False):
        """Reduce the number of partitions (without a shuffle unless asked).

        >>> sc.parallelize([1, 2, 3, 4, 5], 3).glom().collect()
        [[1], [2, 3], [4, 5]]
        >>> sc.parallelize([1, 2, 3, 4, 5], 3).coalesce(1).glom().collect()
        [[1, 2, 3, 4, 5]]
        """
        if numPartitions <= 0:
            raise ValueError(f"Number of partitions ({numPartitions}) must be positive.")
        if shuffle:
            return self._round_robin(numPartitions)
        return self._new(lineage.Coalesced(self, numPartitions))

    def repartition(self, numPartitions):
        """Exactly ``numPartitions`` partitions, by a (deterministic) shuffle.

        >>> rdd = sc.parallelize([1, 2, 3, 4, 5, 6, 7], 4)
        >>> sorted(rdd.glom().collect())
        [[1], [2, 3], [4, 5], [6, 7]]
        >>> len(rdd.repartition(2).glom().collect())
        2
        >>> len(rdd.repartition(10).glom().collect())
        10
        """
        return self.coalesce(numPartitions, shuffle=True)

    def _round_robin(self, numPartitions):
        # Deterministic placement (SPARK-23207): a recomputed map partition
        # sends every record to the same reduce partition as the first time.
        def number(split, iterator):
            position = portable_hash(split) % numPartitions
            for position, x in enumerate(iterator, position):
                yield position % numPartitions, x

        keyed = self.mapPartitionsWithIndex(number)
        return keyed._shuffled(numPartitions, _identity, None).values()

    def pipe(self, command, env=None, checkCode=False):
        """Pipe each partition's elements (one per line) through an external command.

        >>> sc.parallelize(["1", "2", "", "3"]).pipe("cat").collect()
        ['1', '2', '', '3']
        """
        from fastrdd.worker.pipe import through_command

        return self.mapPartitionsWithIndex(through_command(command, env or {}, checkCode))

    def sample(self, withReplacement, fraction, seed=None):
        """A random sample: Bernoulli (or Poisson, with replacement) per element.

        >>> rdd = sc.parallelize(range(100), 4)
        >>> 6 <= rdd.sample(False, 0.1, 81).count() <= 14
        True
        """
        from fastrdd.rdd import sampling

        if fraction < 0.0:
            raise ValueError(f"Fraction must be nonnegative, but got {fraction}")
        if seed is None:
            seed = random.randrange(sys.maxsize)
        sampler = (sampling.poisson if withReplacement else sampling.bernoulli)(fraction, seed)
        return self.mapPartitionsWithIndex(sampler, True)

    # -- shuffles ------------------------------------------------------------------
    def _defaultReducePartitions(self):
        if self.ctx._conf.contains("spark.default.parallelism"):
            return self.ctx.defaultParallelism
        return self.getNumPartitions()

    def _record_chain(self):
        """``(parent, f)`` when this RDD's records are exactly ``f(x)`` for each record ``x`` of
        ``parent``'s same partition (fused maps), and none of its own is cached: a job
        that needs a few of its records can compute just those.  Else None."""
        return None

    def partitionBy(self, numPartitions, partitionFunc=portable_hash):
        """Place (key, value) pairs in ``numPartitions`` partitions by ``partitionFunc(key)``.

        >>> pairs = sc.parallelize([1, 2, 3, 4, 2, 4, 1]).map(lambda x: (x, x))
        >>> sets = pairs.partitionBy(2).glom().collect()
        >>> len(set(sets[0]).intersection(set(sets[1])))
        0
        """
        if numPartitions is None:
            numPartitions = self._defaultReducePartitions()
        partitioner = Partitioner(numPartitions, partitionFunc)
        if self.partitioner == partitioner:
            return self
        return self._shuffled(numPartitions, partitionFunc, None)

    def combineByKey(self, createCombiner, mergeValue, mergeCombiners, numPartitions=None,
                     partitionFunc=portable_hash):
        """Combine the values of each key with the three functions of a combiner.

        Values are pre-combined in each map task before the shuffle.

        >>> x = sc.parallelize([("a", 1), ("b", 1), ("a", 2)])
        >>> def to_list(a): return [a]
        >>> def append(a, b): a.append(b); return a
        >>> def extend(a, b): a.extend(b); return a
        >>> sorted(x.combineByKey(to_list, append, extend).collect())
        [('a', [1, 2]), ('b', [1])]
        """
        from fastrdd.shuffle.dependency import Aggregator

        return self._aggregate_by_key(Aggregator(createCombiner, mergeValue, mergeCombiners),
                                      numPartitions, partitionFunc)

    def _aggregate_by_key(self, aggregator, numPartitions, partitionFunc):
        if numPartitions is None:
            numPartitions = self._defaultReducePartitions()
        if self.partitioner == Partitioner(numPartitions, partitionFunc):
            # already placed by key: combine inside each partition, no shuffle
            from fastrdd.shuffle.reader import aggregate_reduce_side
            from fastrdd.shuffle.dependency import Aggregator

            local = Aggregator(aggregator.create_combiner, aggregator.merge_value,
                               aggregator.merge_combiners, False, aggregator.kind)
            return self.mapPartitionsWithIndex(
                lambda _, iterator: aggregate_reduce_side(iterator, local), True)
        return self._shuffled(numPartitions, partitionFunc, aggregator)

    def reduceByKey(self, func, numPartitions=None, partitionFunc=portable_hash):
        """Merge the values of each key with an associative, commutative ``func``.

        >>> rdd = sc.parallelize([("a", 1), ("b", 1), ("a", 1)])
        >>> sorted(rdd.reduceByKey(lambda a, b: a + b).collect())
        [('a', 2), ('b', 1)]
        """
        return self.combineByKey(_identity, func, func, numPartitions, partitionFunc)

    def reduceByKeyLocally(self, func):
        """Merge the values of each key and return the result to the driver as a dict.

        >>> rdd = sc.parallelize([("a", 1), ("b", 1), ("a", 1)])
        >>> sorted(rdd.reduceByKeyLocally(lambda a, b: a + b).items())
        [('a', 2), ('b', 1)]
        """
        def reduce_partition(_, iterator):
            return [_impl.shuffle.combine_pairs(iterator, _identity, func)]

        def merge(left, right):
            for k, v in right.items():
                left[k] = func(left[k], v) if k in left else v
            return left

        return _reduce(merge, self.mapPartitionsWithIndex(reduce_partition).collect(), {})

    def aggregateByKey(self, zeroValue, seqFunc, combFunc, numPartitions=None,
                       partitionFunc=portable_hash):
        """Aggregate each key's values from a (copied) zero value.

        >>> rdd = sc.parallelize([("a", 1), ("b", 1), ("a", 2)])
        >>> sorted(rdd.aggregateByKey((0, 0), lambda a, v: (a[0] + v, a[1] + 1),
        ...                           lambda a, b: (a[0] + b[0], a[1] + b[1])).collect())
        [('a', (3, 2)), ('b', (1, 1))]
        """
        def create(v):
            return seqFunc(copy.deepcopy(zeroValue), v)

        return self.combineByKey(create, seqFunc, combFunc, numPartitions, partitionFunc)

    def foldByKey(self, zeroValue, func, numPartitions=None, partitionFunc=portable_hash):
        """Merge each key's values with ``func``, starting from a (copied) zero value.

        >>> rdd = sc.parallelize([("a", 1), ("b", 1), ("a", 1)])
        >>> from operator import add
        >>> sorted(rdd.foldByKey(0, add).collect())
        [('a', 2), ('b', 1)]
        """
        def create(v):
            return func(copy.deepcopy(zeroValue), v)

        return self.combineByKey(create, func, func, numPartitions, partitionFunc)

    def groupByKey(self, numPartitions=None, partitionFunc=portable_hash):
        """Group the values of each key into a ResultIterable.

        >>> rdd = sc.parallelize([("a", 1), ("b", 1), ("a", 1)])
        >>> sorted(rdd.groupByKey().mapValues(len).collect())
        [('a', 2), ('b', 1)]
        >>> sorted(rdd.groupByKey().mapValues(list).collect())
        [('a', [1, 1]), ('b', [1])]
        """
        from fastrdd.shuffle.dependency import GROUP

        grouped = self._aggregate_by_key(GROUP, numPartitions, partitionFunc)
        return grouped.mapValues(ResultIterable)

    def groupBy(self, f, numPartitions=None, partitionFunc=portable_hash):
        """Group elements by ``f(x)``.

        >>> rdd = sc.parallelize([1, 1, 2, 3, 5, 8])
        >>> sorted((k, sorted(v)) for k, v in rdd.groupBy(lambda x: x % 2).collect())
        [(0, [2, 8]), (1, [1, 1, 3, 5])]
        """
        return self.map(lambda x: (f(x), x)).groupByKey(numPartitions, partitionFunc)

    def distinct(self, numPartitions=None):
        """The distinct elements.

        >>> sorted(sc.parallelize([1, 1, 2, 3]).distinct().collect())
        [1, 2, 3]
        """
        return (self.map(lambda x: (x, None))
                .reduceByKey(lambda x, _: x, numPartitions)
                .map(lambda x: x[0]))

    def cogroup(self, other, numPartitions=None):
        """For each key, the ResultIterables of its values in self and in other.

        >>> x = sc.parallelize([("a", 1), ("b", 4)])
        >>> y = sc.parallelize([("a", 2)])
        >>> [(k, tuple(map(list, v))) for k, v in sorted(x.cogroup(y).collect())]
        [('a', ([1], [2])), ('b', ([4], []))]
        """
        return cogroup([self, other], numPartitions)

    def groupWith(self, other, *others):
        """cogroup with any number of other RDDs.

        >>> w = sc.parallelize([("a", 5), ("b", 6)])
        >>> x = sc.parallelize([("a", 1), ("b", 4)])
        >>> y = sc.parallelize([("a", 2)])
        >>> z = sc.parallelize([("b", 42)])
        >>> [(k, tuple(map(list, v))) for k, v in sorted(w.groupWith(x, y, z).collect())]
        [('a', ([5], [1], [2], [])), ('b', ([6], [4], [], [42]))]
        """
        return cogroup([self, other, *others], None)

    def join(self, other, numPartitions=None):
        """Inner join on keys: (k, (v, w)) for every pair of matching values.

        >>> x = sc.parallelize([("a", 1), ("b", 4)])
        >>> y = sc.parallelize([("a", 2), ("a", 3)])
        >>> sorted(x.join(y).collect())
        [('a', (1, 2)), ('a', (1, 3))]
        """
        return join(self, other, numPartitions, False, False)

    def leftOuterJoin(self, other, numPartitions=None):
        """Left outer join: keys of self without a match get (v, None).

        >>> x = sc.parallelize([("a", 1), ("b", 4)])
        >>> y = sc.parallelize([("a", 2)])
        >>> sorted(x.leftOuterJoin(y).collect())
        [('a', (1, 2)), ('b', (4, None))]
        """
        return join(self, other, numPartitions, True, False)

    def rightOuterJoin(self, other, numPartitions=None):
        """Right outer join: keys of other without a match get (None, w).

        >>> x = sc.parallelize([("a", 1), ("b", 4)])
        >>> y = sc.parallelize([("a", 2)])
        >>> sorted(y.rightOuterJoin(x).collect())
        [('a', (2, 1)), ('b', (None, 4))]
        """
        return join(self, other, numPartitions, False, True)

    def fullOuterJoin(self, other, numPartitions=None):
        """Full outer join: unmatched keys on either side get None for the other.

        >>> x = sc.parallelize([("a", 1), ("b", 4)])
        >>> y = sc.parallelize([("a", 2), ("c", 8)])
        >>> sorted(x.fullOuterJoin(y).collect())
        [('a', (1, 2)), ('b', (4, None)), ('c', (None, 8))]
        """
        return join(self, other, numPartitions, True, True)

    def sortByKey(self, ascending=True, numPartitions=None, keyfunc=_identity):
        """Sort (key, value) pairs by key, into range partitions (runs a sampling job).

        >>> tmp = [("a", 1), ("b", 2), ("1", 3), ("d", 4), ("2", 5)]
        >>> sc.parallelize(tmp).sortByKey().first()
        ('1', 3)
        >>> sc.parallelize(tmp).sortByKey(True, 1).collect()
        [('1', 3), ('2', 5), ('a', 1), ('b', 2), ('d', 4)]
        >>> sc.parallelize(tmp).sortByKey(True, 2).collect()
        [('1', 3), ('2', 5), ('a', 1), ('b', 2), ('d', 4)]
        >>> tmp2 = [("Mary", 1), ("had", 2), ("a", 3), ("little", 4), ("lamb", 5)]
        >>> sc.parallelize(tmp2).sortByKey(True, 3, keyfunc=lambda k: k.lower()).collect()
        [('a', 3), ('had', 2), ('lamb', 5), ('little', 4), ('Mary', 1)]
        """
        if numPartitions is None:
            numPartitions = self._defaultReducePartitions()

        from fastrdd.rdd.sampling import range_bounds, range_partition_func, sort_partition_func

        sort_partition = sort_partition_func(ascending, keyfunc)
        if numPartitions == 1:
            rdd = self.coalesce(1) if self.getNumPartitions() > 1 else self
            return rdd.mapPartitionsWithIndex(sort_partition, True)
        size, bounds = range_bounds(self, numPartitions, keyfunc)  # one job, as Spark's sketch
        if not size:
            return self
        range_partition = range_partition_func(bounds, numPartitions, ascending, keyfunc)
        return self.partitionBy(numPartitions, range_partition).mapPartitionsWithIndex(sort_partition, True)

    def sortBy(self, keyfunc, ascending=True, numPartitions=None):
        """Sort elements by ``keyfunc(x)``.

        >>> tmp = [("a", 1), ("b", 2), ("1", 3), ("d", 4), ("2", 5)]
        >>> sc.parallelize(tmp).sortBy(lambda x: x[0]).collect()
        [('1', 3), ('2', 5), ('a', 1), ('b', 2), ('d', 4)]
        >>> sc.parallelize(tmp).sortBy(lambda x: x[1]).collect()
        [('a', 1), ('b', 2), ('1', 3), ('d', 4), ('2', 5)]
        """
        return self.keyBy(keyfunc).sortByKey(ascending, numPartitions).values()

    # -- actions -----------------------------------------------------------------
    def _run(self, func, partitions=None):
        """Run ``func(split, iterator)`` on partitions; the list of results."""
        if partitions is None:
            partitions = range(self.getNumPartitions())
        results = self.ctx._run_job(self, func, partitions)
        self.ctx._after_job(self)
        return results

    def collect(self):
        """All elements, as a list on the driver.

        >>> sc.parallelize([1, 2, 3], 2).collect()
        [1, 2, 3]
        """
        return list(chain.from_iterable(self._run(_collect_partition)))

    def count(self):
        """The number of elements.

        >>> sc.parallelize([2, 3, 4]).count()
        3
        """
        return sum(self._run(_count_iter))

    def reduce(self, f):
        """Reduce the elements with an associative, commutative binary ``f``.

        >>> from operator import add
        >>> sc.parallelize([1, 2, 3, 4, 5]).reduce(add)
        15
        >>> sc.parallelize((2 for _ in range(10))).map(lambda x: 1).cache().reduce(add)
        10
        >>> sc.parallelize([]).reduce(add)
        Traceback (most recent call last):
            ...
        ValueError: Can not reduce() empty RDD
        """
        def reduce_partition(_, iterator):
            iterator = iter(iterator)
            for initial in iterator:
                return _reduce(f, iterator, initial)
            return _EMPTY

        values = [v for v in self._run(reduce_partition) if v is not _EMPTY]
        if values:
            return _reduce(f, values)
        raise ValueError("Can not reduce() empty RDD")

    def fold(self, zeroValue, op):
        """Fold each partition, then the results, from a (copied) ``zeroValue``.

        >>> from operator import add
        >>> sc.parallelize([1, 2, 3, 4, 5]).fold(0, add)
        15
        """
        def fold_partition(_, iterator):
            return _reduce(op, iterator, copy.deepcopy(zeroValue))

        return _reduce(op, self._run(fold_partition), zeroValue)

    def aggregate(self, zeroValue, seqOp, combOp):
        """Aggregate each partition with ``seqOp``, then the results with ``combOp``.

        >>> seqOp = (lambda x, y: (x[0] + y, x[1] + 1))
        >>> combOp = (lambda x, y: (x[0] + y[0], x[1] + y[1]))
        >>> sc.parallelize([1, 2, 3, 4]).aggregate((0, 0), seqOp, combOp)
        (10, 4)
        >>> sc.parallelize([]).aggregate((0, 0), seqOp, combOp)
        (0, 0)
        """
        def aggregate_partition(_, iterator):
            return _reduce(seqOp, iterator, copy.deepcopy(zeroValue))

        return _reduce(combOp, self._run(aggregate_partition), zeroValue)

    def sum(self):
        """The sum of the elements.

        >>> sc.parallelize([1.0, 2.0, 3.0]).sum()
        6.0
        """
        return sum(self._run(lambda _, iterator: sum(iterator, 0)), 0)

    def take(self, num):
        """The first ``num`` elements, scanning as few partitions as it can.

        >>> sc.parallelize([2, 3, 4, 5, 6]).cache().take(2)
        [2, 3]
        >>> sc.parallelize([2, 3, 4, 5, 6]).take(10)
        [2, 3, 4, 5, 6]
        >>> sc.parallelize(range(100), 100).filter(lambda x: x > 90).take(3)
        [91, 92, 93]
        """
        items = []
        total = self.getNumPartitions()
        scanned = 0
        while len(items) < num and scanned < total:
            to_try = 1
            if scanned > 0:
                if not items:
                    to_try = scanned * 4
                else:
                    to_try = int(1.5 * num * scanned / len(items)) - scanned
                    to_try = min(max(to_try, 1), scanned * 4)
            left = num - len(items)

            def take_up_to(_, iterator, left=left):
                return list(islice(iterator, left))

            parts = range(scanned, min(scanned + to_try, total))
            for chunk in self._run(take_up_to, parts):
                items.extend(chunk)
            scanned += to_try
        return items[:num]

    def first(self):
        """The first element.

        >>> sc.parallelize([2, 3, 4]).first()
        2
        >>> sc.parallelize([]).first()
        Traceback (most recent call last):
            ...
        ValueError: RDD is empty
        """
        rs = self.take(1)
        if rs:
            return rs[0]
        raise ValueError("RDD is empty")

    def isEmpty(self):
        """True when the RDD has no element.

        >>> sc.parallelize([]).isEmpty(), sc.parallelize([1]).isEmpty()
        (True, False)
        """
        return self.getNumPartitions() == 0 or len(self.take(1)) == 0

    def countByValue(self):
        """How many times each distinct element occurs, as a dict.

        >>> sorted(sc.parallelize([1, 2, 1, 2, 2], 2).countByValue().items())
        [(1, 2), (2, 3)]
        """
        def count_partition(_, iterator):
            counts = defaultdict(int)
            for x in iterator:
                counts[x] += 1
            return counts

        def merge(left, right):
            for k, v in right.items():
                left[k] += v
            return left

        parts = self._run(count_partition)
        if not parts:
            raise ValueError("Can not reduce() empty RDD")
        return _reduce(merge, parts)

    def countByKey(self):
        """How many pairs each key has, as a dict.

        >>> rdd = sc.parallelize([("a", 1), ("b", 1), ("a", 1)])
        >>> sorted(rdd.countByKey().items())
        [('a', 2), ('b', 1)]
        """
        return self.keys().countByValue()

    def collectAsMap(self):
        """The (key, value) pairs as a dict (later values win).

        >>> m = sc.parallelize([(1, 2), (3, 4)]).collectAsMap()
        >>> m[1], m[3]
        (2, 4)
        """
        return dict(self.collect())

    def foreach(self, f):
        """Apply ``f`` to every element, in the workers.

        >>> def f(x): print(x)
        >>> sc.parallelize([1, 2, 3, 4, 5]).foreach(f)
        """
        def run(_, iterator):
            for x in iterator:
                f(x)
            return None

        self._run(run)

    def foreachPartition(self, f):
        """Apply ``f`` to each partition's iterator, in the workers.

        >>> def f(iterator):
        ...     for x in iterator:
        ...         print(x)
        >>> sc.parallelize([1, 2, 3, 4, 5]).foreachPartition(f)
        """
        def run(_, iterator):
            f(iterator)
            return None

        self._run(run)

    def saveAsTextFile(self, path, compressionCodecClass=None):
        """Write one text file per partition (``part-00000``...) and ``_SUCCESS``.

        Elements are written as ``str(x)`` (bytes as they are), one per line.
        Output goes to a temporary directory renamed at commit: a failed job
        leaves nothing at ``path``, and an existing ``path`` is refused.

        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "out")
        >>> sc.parallelize(["foo", "bar", "baz"], 2).saveAsTextFile(path)
        >>> sorted(os.listdir(path))
        ['_SUCCESS', 'part-00000', 'part-00001']
        >>> sorted(sc.textFile(path).collect())
        ['bar', 'baz', 'foo']
        """
        from fastrdd.io import text as textio

        compression = _codec(compressionCodecClass)
        self._save(path, lambda temp, split, iterator: textio.write_part(temp, split, iterator,
                                                                          compression))

    # -- more narrow transformations ---------------------------------------------
    def mapPartitionsWithSplit(self, f, preservesPartitioning=False):
        """Deprecated: use mapPartitionsWithIndex.

        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     sc.parallelize([1, 2, 3, 4], 4).mapPartitionsWithSplit(lambda i, it: [i]).sum()
        6
        """
        import warnings

        warnings.warn("mapPartitionsWithSplit is deprecated; use mapPartitionsWithIndex instead",
                      FutureWarning, stacklevel=2)
        return self.mapPartitionsWithIndex(f, preservesPartitioning)

    def cartesian(self, other):
        """Every pair (a, b) with a in self and b in other.

        >>> rdd = sc.parallelize([1, 2])
        >>> sorted(rdd.cartesian(rdd).collect())
        [(1, 1), (1, 2), (2, 1), (2, 2)]
        """
        return self._new(lineage.Cartesian(self, other))

    def zip(self, other):
        """Pair the i-th element of each partition of self with that of other.

        Both RDDs need the same number of partitions and of elements per partition.

        >>> x = sc.parallelize(range(0, 5))
        >>> y = sc.parallelize(range(1000, 1005))
        >>> x.zip(y).collect()
        [(0, 1000), (1, 1001), (2, 1002), (3, 1003), (4, 1004)]
        """
        if self.getNumPartitions() != other.getNumPartitions():
            raise ValueError("Can only zip with RDD which has the same number of partitions")
        return self._new(lineage.Zipped(self, other))

    def zipWithIndex(self):
        """Pair each element with its index (runs a job to count partitions when needed).

        >>> sc.parallelize(["a", "b", "c", "d"], 3).zipWithIndex().collect()
        [('a', 0), ('b', 1), ('c', 2), ('d', 3)]
        """
        starts = [0]
        if self.getNumPartitions() > 1:
            for size in self.mapPartitions(lambda it: [sum(1 for _ in it)]).collect()[:-1]:
                starts.append(starts[-1] + size)

        def number(split, iterator):
            return ((x, i) for i, x in enumerate(iterator, starts[split]))

        return self.mapPartitionsWithIndex(number)

    def zipWithUniqueId(self):
        """Pair each element with a unique id: k-th of partition i gets i + k * n (no job).

        >>> sc.parallelize(["a", "b", "c", "d", "e"], 3).zipWithUniqueId().collect()
        [('a', 0), ('b', 1), ('c', 4), ('d', 2), ('e', 5)]
        """
        n = self.getNumPartitions()

        def number(split, iterator):
            return ((x, k * n + split) for k, x in enumerate(iterator))

        return self.mapPartitionsWithIndex(number)

    def randomSplit(self, weights, seed=None):
        """Split randomly by weights into disjoint RDDs that together hold every element.

        >>> rdd = sc.parallelize(range(500), 1)
        >>> rdd1, rdd2 = rdd.randomSplit([2, 3], 17)
        >>> len(rdd1.collect() + rdd2.collect())
        500
        >>> 150 < rdd1.count() < 250
        True
        """
        from fastrdd.rdd import sampling

        bounds = sampling.split_bounds(weights)
        if seed is None:
            seed = random.randint(0, 2 ** 32 - 1)
        return [self.mapPartitionsWithIndex(sampling.range_sampler(lo, hi, seed), True)
                for lo, hi in zip(bounds, bounds[1:])]

    def sampleByKey(self, withReplacement, fractions, seed=None):
        """Sample (key, value) pairs with a fraction per key.

        >>> fractions = {"a": 0.2, "b": 0.1}
        >>> rdd = sc.parallelize(fractions.keys()).cartesian(sc.parallelize(range(0, 1000)))
        >>> sample = dict(rdd.sampleByKey(False, fractions, 2).groupByKey().collect())
        >>> 100 < len(sample["a"]) < 300 and 50 < len(sample["b"]) < 150
        True
        >>> max(sample["a"]) <= 999 and min(sample["a"]) >= 0
        True
        """
        from fastrdd.rdd import sampling

        for fraction in fractions.values():
            if fraction < 0.0:
                raise ValueError(f"Negative fraction value: {fraction}")
        if seed is None:
            seed = random.randrange(sys.maxsize)
        return self.mapPartitionsWithIndex(sampling.stratified(withReplacement, fractions, seed), True)

    # -- more shuffles ------------------------------------------------------------
    def subtractByKey(self, other, numPartitions=None):
        """Pairs of self whose key is not in other.

        >>> x = sc.parallelize([("a", 1), ("b", 4), ("b", 5), ("a", 2)])
        >>> y = sc.parallelize([("a", 3), ("c", None)])
        >>> sorted(x.subtractByKey(y).collect())
        [('b', 4), ('b', 5)]
        """
        def keep(pair):
            _, (mine, theirs) = pair
            return len(mine) > 0 and len(theirs) == 0

        return self.cogroup(other, numPartitions).filter(keep).flatMapValues(lambda x: x[0])

    def subtract(self, other, numPartitions=None):
        """Elements of self that are not in other.

        >>> x = sc.parallelize([("a", 1), ("b", 4), ("b", 5), ("a", 3)])
        >>> y = sc.parallelize([("a", 3), ("c", None)])
        >>> sorted(x.subtract(y).collect())
        [('a', 1), ('b', 4), ('b', 5)]
        """
        theirs = other.map(lambda x: (x, True))
        return self.map(lambda x: (x, True)).subtractByKey(theirs, numPartitions).keys()

    def intersection(self, other):
        """The distinct elements present in both RDDs.

        >>> rdd1 = sc.parallelize([1, 10, 2, 3, 4, 5])
        >>> rdd2 = sc.parallelize([1, 6, 2, 3, 7, 8])
        >>> sorted(rdd1.intersection(rdd2).collect())
        [1, 2, 3]
        """
        return (self.map(lambda v: (v, None))
                .cogroup(other.map(lambda v: (v, None)))
                .filter(lambda k_vs: all(len(vs) for vs in k_vs[1]))
                .keys())

    def repartitionAndSortWithinPartitions(self, numPartitions=None, partitionFunc=portable_hash,
                                           ascending=True, keyfunc=lambda x: x):
        """Partition by key, then sort each partition by key (one shuffle).

        >>> rdd = sc.parallelize([(0, 5), (3, 8), (2, 6), (0, 8), (3, 8), (1, 3)])
        >>> rdd.repartitionAndSortWithinPartitions(2, lambda x: x % 2, True).glom().collect()
        [[(0, 5), (0, 8), (2, 6)], [(1, 3), (3, 8), (3, 8)]]
        """
        if numPartitions is None:
            numPartitions = self._defaultReducePartitions()

        def sort_partition(_, iterator):
            from fastrdd.storage.spill import external_sorted

            return external_sorted(iterator, key=lambda kv: keyfunc(kv[0]), reverse=not ascending)

        return self.partitionBy(numPartitions, partitionFunc).mapPartitionsWithIndex(sort_partition, True)

    # -- more actions ----------------------------------------------------------------
    def takeSample(self, withReplacement, num, seed=None):
        """A fixed-size random sample, shuffled, as a list.

        >>> rdd = sc.parallelize(range(0, 10))
        >>> len(rdd.takeSample(True, 20, 1))
        20
        >>> len(rdd.takeSample(False, 5, 2))
        5
        >>> len(rdd.takeSample(False, 15, 3))
        10
        >>> sc.range(0, 10).takeSample(False, -1)
        Traceback (most recent call last):
            ...
        ValueError: Sample size cannot be negative.
        """
        from fastrdd.rdd import sampling

        return sampling.take_sample(self, withReplacement, num, seed)

    def top(self, num, key=None):
        """The ``num`` largest elements, in descending order.

        >>> sc.parallelize([10, 4, 2, 12, 3]).top(1)
        [12]
        >>> sc.parallelize([2, 3, 4, 5, 6], 2).top(2)
        [6, 5]
        >>> sc.parallelize([10, 4, 2, 12, 3]).top(3, key=str)
        [4, 3, 2]
        """
        import heapq

        def top_partition(_, iterator):
            return heapq.nlargest(num, iterator, key=key)

        parts = self._run(top_partition)
        if not parts:  # PySpark reduces the per-partition lists
            raise ValueError("Can not reduce() empty RDD")
        return heapq.nlargest(num, chain.from_iterable(parts), key=key)

    def takeOrdered(self, num, key=None):
        """The ``num`` smallest elements (by ``key``), in ascending order.

        >>> sc.parallelize([10, 1, 2, 9, 3, 4, 5, 6, 7]).takeOrdered(6)
        [1, 2, 3, 4, 5, 6]
        >>> sc.parallelize([10, 1, 2, 9, 3, 4, 5, 6, 7], 2).takeOrdered(6, key=lambda x: -x)
        [10, 9, 7, 6, 5, 4]
        """
        import heapq

        if num < 0:
            raise ValueError("top N cannot be negative.")

        def smallest(_, iterator):
            return heapq.nsmallest(num, iterator, key=key)

        return heapq.nsmallest(num, chain.from_iterable(self._run(smallest)), key=key)

    def max(self, key=None):
        """The largest element (by ``key``).

        >>> rdd = sc.parallelize([1.0, 5.0, 43.0, 10.0])
        >>> rdd.max()
        43.0
        >>> rdd.max(key=str)
        5.0
        """
        if key is None:
            return self.reduce(max)
        return self.reduce(lambda a, b: max(a, b, key=key))

    def min(self, key=None):
        """The smallest element (by ``key``).

        >>> rdd = sc.parallelize([2.0, 5.0, 43.0, 10.0])
        >>> rdd.min()
        2.0
        >>> rdd.min(key=str)
        10.0
        """
        if key is None:
            return self.reduce(min)
        return self.reduce(lambda a, b: min(a, b, key=key))

    def lookup(self, key):
        """The values of ``key``; only one partition is searched when there is a partitioner.

        >>> l = range(1000)
        >>> rdd = sc.parallelize(zip(l, l), 10)
        >>> rdd.lookup(42)
        [42]
        >>> sorted = rdd.sortByKey()
        >>> sorted.lookup(1024)
        []
        >>> rdd2 = sc.parallelize([(("a", "b"), "c")]).groupByKey()
        >>> list(rdd2.lookup(("a", "b"))[0])
        ['c']
        """
        values = self.filter(lambda kv: kv[0] == key).values()
        if self.partitioner is not None:
            return self.ctx.runJob(values, lambda x: x, [self.partitioner(key)])
        return values.collect()

    def treeAggregate(self, zeroValue, seqOp, combOp, depth=2):
        """aggregate, with partial results combined in a tree of the given depth.

        >>> add = lambda x, y: x + y
        >>> rdd = sc.parallelize([-5, -4, -3, -2, -1, 1, 2, 3, 4], 10)
        >>> rdd.treeAggregate(0, add, add)
        -5
        >>> rdd.treeAggregate(0, add, add, 1)
        -5
        >>> rdd.treeAggregate(0, add, add, 5)
        -5
        """
        if depth < 1:
            raise ValueError(f"Depth cannot be smaller than 1 but got {depth}.")
        if self.getNumPartitions() == 0:
            return zeroValue

        def aggregate_partition(_, iterator):
            return [_reduce(seqOp, iterator, copy.deepcopy(zeroValue))]

        partial = self.mapPartitionsWithIndex(aggregate_partition)
        n = partial.getNumPartitions()
        scale = max(int(math.ceil(n ** (1.0 / depth))), 2)
        while n > scale + n / scale:
            n /= scale
            groups = int(n)

            def regroup(split, iterator, groups=groups):
                return ((split % groups, x) for x in iterator)

            partial = partial.mapPartitionsWithIndex(regroup).reduceByKey(combOp, groups).values()
        return partial.reduce(combOp)

    def treeReduce(self, f, depth=2):
        """reduce, with partial results combined in a tree of the given depth.

        >>> add = lambda x, y: x + y
        >>> rdd = sc.parallelize([-5, -4, -3, -2, -1, 1, 2, 3, 4], 10)
        >>> rdd.treeReduce(add)
        -5
        >>> rdd.treeReduce(add, 10)
        -5
        """
        if depth < 1:
            raise ValueError(f"Depth cannot be smaller than 1 but got {depth}.")
        zero = (None, True)

        def op(x, y):
            if x[1]:
                return y
            if y[1]:
                return x
            return f(x[0], y[0]), False

        reduced = self.map(lambda x: (x, False)).treeAggregate(zero, op, op, depth)
        if reduced[1]:
            raise ValueError("Cannot reduce empty RDD.")
        return reduced[0]

    def toLocalIterator(self, prefetchPartitions=False):
        """Iterate over the elements, computing one partition at a time.

        With ``prefetchPartitions`` the next partition is computed while the
        current one is consumed.

        >>> rdd = sc.parallelize(range(10))
        >>> [x for x in rdd.toLocalIterator()]
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
        """
        n = self.getNumPartitions()

        def fetch(split):
            return self._run(_collect_partition, [split])[0]

        if not prefetchPartitions:
            for split in range(n):
                yield from fetch(split)
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1, thread_name_prefix="fastrdd-prefetch") as pool:
            pending = pool.submit(fetch, 0) if n else None
            for split in range(n):
                records = pending.result()
                pending = pool.submit(fetch, split + 1) if split + 1 < n else None
                yield from records

    def countApprox(self, timeout, confidence=0.95):
        """count() within ``timeout`` ms; fastrdd always returns the exact count.

        >>> rdd = sc.parallelize(range(1000), 10)
        >>> rdd.countApprox(1000, 1.0)
        1000
        """
        return int(self.count())

    # -- statistics -------------------------------------------------------------------
    def stats(self):
        """A StatCounter of the elements: count, mean, variance, min, max in one pass.

        >>> sc.parallelize([1.0, 2.0, 3.0]).stats()
        (count: 3, mean: 2.0, stdev: 0.816496580927726, max: 3.0, min: 1.0)
        """
        from fastrdd.statcounter import StatCounter

        return self.mapPartitions(lambda it: [StatCounter(it)]).reduce(lambda a, b: a.mergeStats(b))

    def mean(self):
        """The mean of the elements.

        >>> sc.parallelize([1, 2, 3]).mean()
        2.0
        """
        return self.stats().mean()

    def variance(self):
        """The population variance of the elements.

        >>> sc.parallelize([1, 2, 3]).variance()
        0.6666666666666666
        """
        return self.stats().variance()

    def stdev(self):
        """The population standard deviation of the elements.

        >>> sc.parallelize([1, 2, 3]).stdev()
        0.816496580927726
        """
        return self.stats().stdev()

    def sampleVariance(self):
        """The sample variance (divides by n - 1).

        >>> sc.parallelize([1, 2, 3]).sampleVariance()
        1.0
        """
        return self.stats().sampleVariance()

    def sampleStdev(self):
        """The sample standard deviation (divides by n - 1).

        >>> sc.parallelize([1, 2, 3]).sampleStdev()
        1.0
        """
        return self.stats().sampleStdev()

    def histogram(self, buckets):
        """Counts per bucket: ``buckets`` is a number of even buckets or sorted boundaries.

        Buckets are [lo, hi) except the last, [lo, hi]; None and NaN are ignored.

        >>> rdd = sc.parallelize(range(51))
        >>> rdd.histogram(2)
        ([0, 25, 50], [25, 26])
        >>> rdd.histogram([0, 5, 25, 50])
        ([0, 5, 25, 50], [5, 20, 26])
        >>> rdd.histogram([0, 15, 30, 45, 60])  # evenly spaced buckets
        ([0, 15, 30, 45, 60], [15, 15, 15, 6])
        >>> rdd = sc.parallelize(["ab", "ac", "b", "bd", "ef"])
        >>> rdd.histogram(("a", "b", "c"))
        (('a', 'b', 'c'), [2, 2])
        """
        from fastrdd.rdd import histogram

        boundaries, inc, total = histogram.plan_buckets(self, buckets)
        if total is not None:
            return boundaries, [total]
        counts = self.mapPartitionsWithIndex(
            lambda s, it, count=histogram.count_partition(boundaries, inc): [count(s, it)])
        if isinstance(buckets, (list, tuple)):
            boundaries = buckets
        return boundaries, counts.reduce(histogram.merge_counts)

    def countApproxDistinct(self, relativeSD=0.05):
        """Approximate number of distinct elements (HyperLogLog, within ``relativeSD``).

        >>> n = sc.parallelize(range(1000)).map(str).countApproxDistinct()
        >>> 900 < n < 1100
        True
        >>> n = sc.parallelize([i % 20 for i in range(1000)], 7).countApproxDistinct()
        >>> 16 < n < 24
        True
        """
        from fastrdd.rdd.approx import HyperLogLog, precision_for

        precision_for(relativeSD)
        sketches = self.mapPartitions(lambda it: [HyperLogLog(relativeSD).add_all(it)])
        # fold, not reduce: no partitions count 0, as in Spark (merging is idempotent)
        return sketches.fold(HyperLogLog(relativeSD), lambda a, b: a.merge(b)).cardinality()

    def sumApprox(self, timeout, confidence=0.95):
        """sum() within ``timeout`` ms, with bounds; fastrdd computes it exactly.

        >>> rdd = sc.parallelize(map(float, range(1000)), 10)
        >>> r = sum(range(1000))
        >>> abs(rdd.sumApprox(1000) - r) / r < 0.05
        True
        """
        from fastrdd.rdd.approx import BoundedFloat

        # A finished approximate job reports confidence 1.0 in Spark.
        total = float(self.sum())
        return BoundedFloat(total, 1.0, total, total)

    def meanApprox(self, timeout, confidence=0.95):
        """mean() within ``timeout`` ms, with bounds; fastrdd computes it exactly.

        >>> rdd = sc.parallelize(map(float, range(1000)), 10)
        >>> r = sum(range(1000)) / 1000.0
        >>> abs(rdd.meanApprox(1000) - r) / r < 0.05
        True
        """
        from fastrdd.rdd.approx import BoundedFloat

        # Spark's evaluator answers 0.0 for no partitions, where mean() raises.
        mean = float(self.mean()) if self.getNumPartitions() else 0.0
        return BoundedFloat(mean, 1.0, mean, mean)

    def saveAsPickleFile(self, path, batchSize=10):
        """Save as part files of serialized record batches, readable by ``sc.pickleFile``.

        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "pickled")
        >>> sc.parallelize([1, 2, "spark", "rdd"], 2).saveAsPickleFile(path, 3)
        >>> sorted(sc.pickleFile(path, 3).collect(), key=str)
        [1, 2, 'rdd', 'spark']
        """
        from fastrdd.io import binary as binaryio, text as textio

        self._save(path, lambda temp, split, iterator: textio.write_part_chunks(
            temp, split, binaryio.pickle_chunks(iterator, batchSize)))

    def _save(self, path, write_part):
        """Run ``write_part(temp_dir, split, iterator)`` per partition, committed at the end."""
        from fastrdd.io import text as textio

        path, fs_options = self.ctx._output_path(path)
        temp = textio.prepare_output_dir(path, fs_options)

        def write(split, iterator):
            write_part(temp, split, iterator)
            return None

        try:
            self._run(write)
            textio.commit_output_dir(temp, path)
        except BaseException:
            textio.abort_output_dir(temp)
            raise


class _EmptyMarker:
    """Stands for "this partition had nothing to reduce"; survives pickling."""

    def __reduce__(self):
        return (_empty_marker, ())


def _empty_marker():
    return _EMPTY


_EMPTY = _EmptyMarker()




def union_of(ctx, rdds):
    """The union of ``rdds``, laid out as Spark's ``SparkContext.union``.

    RDDs without partitions are dropped; the rest are unioned partition by
    partition when they all have one and the same JVM-side partitioner, else
    one after the other.  The result has no ``partitioner``: callers that
    want one set it, as PySpark does.

    The JVM-side partitioner (``_placement``, when set) is usually
    ``rdd.partitioner``, but PySpark leaves the Python-side one unset on
    unions the JVM still knows to be partitioned (``sc.union``, and
    ``a.union(b)`` of differently partitioned sides), and operators that
    preserve partitioning pass it on: it decides the layout of later unions.
    """
    nonempty = [r for r in rdds if r.getNumPartitions()]
    placements = [r.__dict__.get("_placement", r.partitioner) for r in nonempty]
    alike = placements and placements.count(placements[0]) == len(placements)
    placement = placements[0] if alike else None
    plan = lineage.Union if placement is None else lineage.PartitionerAwareUnion
    rdd = RDD(ctx, plan(nonempty))
    rdd._placement = placement
    return rdd


class PipelinedRDD(RDD):
    """``f(split, iterator)`` applied to the parent's partitions: every narrow operator.

    Consecutive narrow operators are fused into one function, as in PySpark
    (one RDD, one iterator chain in the worker), unless the parent is
    cached or checkpointed.
    """

    #: set by RDDBarrier: all tasks of this stage must run at once
    is_barrier = False
    _lazy_id = True

    def __init__(self, prev, f, preservesPartitioning=False, pair_value=NOT_CONSTANT,
                 record_func=None):
        partitioner = prev.partitioner if preservesPartitioning else None
        head = None
        if isinstance(prev, PipelinedRDD) and prev._is_pipelinable():
            # fuse with the parent, as PySpark does: one function, one RDD
            prev_func = prev.func

            def pipeline_func(split, iterator):
                return f(split, prev_func(split, iterator))

            self.func = pipeline_func
            head = prev_func
            self.preservesPartitioning = prev.preservesPartitioning and preservesPartitioning
            self._prev = prev._prev
            self.is_barrier = prev.is_barrier
            first = prev._record_func
            self._record_func = (None if first is None or record_func is None
                                 else lambda x: record_func(first(x)))
        else:
            self.func = f
            self.preservesPartitioning = preservesPartitioning
            self._prev = prev
            #: ``func`` as one function of one record, when every fused operator maps each
            #: record to exactly one (map, mapValues); else None
            self._record_func = record_func
        super().__init__(prev.ctx, lineage.Pipelined(self._prev, self.func, head, pair_value),
                         partitioner)
        if self.preservesPartitioning and "_placement" in self._prev.__dict__:
            self._placement = self._prev._placement

    def _is_pipelinable(self):
        return not (self.is_cached or self.is_checkpointed)

    def _record_chain(self):
        if self._record_func is None or self.is_barrier or not self._is_pipelinable():
            return None
        return self._prev, self._record_func

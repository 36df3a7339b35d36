"""Approximate answers: a HyperLogLog sketch and PySpark's BoundedFloat.

HyperLogLog backs ``RDD.countApproxDistinct``: every partition fills one
sketch (``HyperLogLog(relative_sd).add_all(iterator)``), the sketches travel
to the driver pickled, and ``merge`` folds them into one whose
``cardinality()`` is the answer::

    partition 0 --add_all--> sketch 0 --+
    partition 1 --add_all--> sketch 1 --+--merge--> sketch --cardinality()--> int
    ...                                 |
    partition k --add_all--> sketch k --+

Hashing.  A value goes through the engine's ``portable_hash`` (the same in
every process whatever ``PYTHONHASHSEED``, and equal for values that compare
equal: ``1``, ``1.0`` and ``True`` count once) and then through the
splitmix64 finaliser, because ``portable_hash`` of a small int is the int
itself and HyperLogLog needs all 64 bits well mixed.  Values that
``portable_hash`` maps together are one value to the sketch, as they are in
PySpark: ``None``, ``0`` and NaN; ``-1`` and ``-2`` (CPython's
``hash(-1) == -2``).

Two phases, as in HyperLogLog++:

sparse
    ``_sparse`` is the exact set of mixed hashes and ``cardinality()`` is
    its size.  Small sets, where HyperLogLog errs the most, are counted
    exactly (Spark's ``countApproxDistinct`` runs HyperLogLog++ without its
    sparse mode, so it is exact less often than we are).
dense
    once the set outgrows ``sparse_limit`` it is replaced by ``2**p``
    one-byte registers (``_registers``).  The top ``p`` bits of a hash
    pick a register, which keeps the largest "rank" seen there: the
    position of the first 1 bit among the other ``64 - p`` bits.

The phase depends only on the set of hashes seen (for a given
``sparse_limit``), so merging the sketches of parts gives exactly the sketch
of the whole.

Estimate.  In the dense phase ``cardinality()`` uses Ertl's improved raw
estimator ("New cardinality estimation algorithms for HyperLogLog
sketches", 2017), which reads the histogram of register values.  It is
unbiased enough over the whole range that it needs neither HyperLogLog++'s
empirical bias tables nor a switch to linear counting.

Precision.  Spark picks ``p = ceil(2 * log2(1.054 / relativeSD))``, at least
4, and so do we, so the standard error ``1.04 / sqrt(2**p)`` is at most the
``relative_sd`` asked for.  Spark goes on to any ``p``; here ``p`` stops at
``MAX_PRECISION`` (18: 256 KiB of registers per partition, a standard error
of 0.2%).  Asking for less than 0.2% gets 18 without complaint, so programs
written for PySpark run unchanged.
"""
import math
import numbers

from fastrdd import _impl

__all__ = ["HyperLogLog", "BoundedFloat", "precision_for"]

#: Fewest index bits; Spark's floor too (16 registers, about 26% error).
MIN_PRECISION = 4
#: Most index bits.  Each step doubles memory and pickled size per
#: partition for a sqrt(2) gain in accuracy; past 18 that trade is poor.
MAX_PRECISION = 18
#: Default cap on the exact (sparse) phase.  A set of 64-bit ints costs
#: about 70 bytes an entry (8 when pickled) against one byte a register,
#: but counts small sets exactly, where HyperLogLog errs the most.
SPARSE_LIMIT = 4096
#: Registers from which merge() uses numpy's elementwise maximum; below it
#: a Python-level loop is cheaper than numpy's call overhead.
_NUMPY_MERGE_MIN = 4096
#: PySpark refuses a relativeSD at or below this (Spark needs p <= 32).
MIN_RELATIVE_SD = 0.000017
#: Spark's constant in the precision formula (slightly above the 1.04 of
#: the standard-error formula, so it rounds towards more registers).
_SPARK_SD_CONSTANT = 1.054

# splitmix64 finaliser (Steele, Lea and Flood); constants from the paper.
_M64 = (1 << 64) - 1
_GAMMA = 0x9E3779B97F4A7C15
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB

#: Ertl's alpha_inf = 1 / (2 ln 2), the limit of HyperLogLog's alpha_m.
_ALPHA_INF = 0.5 / math.log(2.0)


def precision_for(relative_sd):
    """Return the register-index bit count ``p`` for ``relative_sd``.

    ``p = ceil(2 * log2(1.054 / relative_sd))`` as in Spark, clamped to
    ``[MIN_PRECISION, MAX_PRECISION]``.

    Raises
    ------
    TypeError
        If ``relative_sd`` is not a real number.
    ValueError
        If ``relative_sd`` is not greater than 0.000017 (PySpark's limit),
        or is NaN.

    Examples
    --------
    >>> precision_for(0.05), precision_for(0.01), precision_for(0.5)
    (9, 14, 4)
    >>> precision_for(0.0001)
    18
    >>> precision_for(0.00001)
    Traceback (most recent call last):
    ...
    ValueError: relativeSD should be greater than 0.000017, got 1e-05
    """
    if not isinstance(relative_sd, numbers.Real):
        raise TypeError(
            f"relativeSD must be a real number, got {relative_sd!r} "
            f"of type {type(relative_sd).__name__}"
        )
    if not relative_sd > MIN_RELATIVE_SD:  # also catches NaN
        raise ValueError(
            f"relativeSD should be greater than {MIN_RELATIVE_SD:f}, got {relative_sd!r}"
        )
    if relative_sd == math.inf:
        return MIN_PRECISION
    p = math.ceil(2.0 * math.log2(_SPARK_SD_CONSTANT / relative_sd))
    return min(max(p, MIN_PRECISION), MAX_PRECISION)


def _sigma(x):
    # Ertl's sigma(x) = x + sum_{k>=1} x**(2**k) * 2**(k-1); x = share of
    # empty registers.  Infinite when every register is empty.
    if x == 1.0:
        return math.inf
    y = 1.0
    z = x
    while True:
        x *= x
        z_old = z
        z += x * y
        y += y
        if z == z_old:
            return z


def _tau(x):
    # Ertl's tau(x) = (1/3) (1 - x - sum_{k>=1} (1 - x**(2**-k))**2 2**-k);
    # x = share of registers not yet saturated.
    if x == 0.0 or x == 1.0:
        return 0.0
    y = 1.0
    z = 1.0 - x
    while True:
        x = math.sqrt(x)
        z_old = z
        y *= 0.5
        z -= (1.0 - x) ** 2 * y
        if z == z_old:
            return z / 3.0


class HyperLogLog:
    """A mergeable, picklable sketch that estimates a count of distinct values.

    Parameters
    ----------
    relative_sd : float, default 0.05
        Wanted relative standard deviation of the estimate, as in
        ``RDD.countApproxDistinct(relativeSD)``; see :func:`precision_for`.
    sparse_limit : int, optional
        Most distinct hashes kept exactly before switching to registers;
        defaults to ``min(2**p, SPARSE_LIMIT)``.  0 starts with registers.

    Attributes
    ----------
    relative_sd : float
        As given.
    p : int
        Register-index bits; the sketch has ``2**p`` one-byte registers.

    Examples
    --------
    >>> h = HyperLogLog(0.01).add_all(range(1000))
    >>> h.add_all([1, 1.0, True, "a", "a", ("t", 1)])
    HyperLogLog(relative_sd=0.01, p=14)
    >>> h.cardinality()
    1002
    >>> import pickle
    >>> other = pickle.loads(pickle.dumps(HyperLogLog(0.01).add_all(range(500, 1500))))
    >>> h.merge(other).cardinality()
    1502
    >>> HyperLogLog().cardinality()
    0
    >>> 97_000 < HyperLogLog(0.01).add_all(range(10**5)).cardinality() < 103_000
    True
    """

    def __init__(self, relative_sd=0.05, sparse_limit=None):
        p = precision_for(relative_sd)
        if sparse_limit is None:
            sparse_limit = min(1 << p, SPARSE_LIMIT)
        elif sparse_limit < 0:
            raise ValueError(f"sparse_limit must be >= 0, got {sparse_limit!r}")
        self.relative_sd = relative_sd
        self.p = p
        #: Switch from the exact set to registers past this many hashes.
        self._sparse_limit = sparse_limit
        #: Exact set of mixed 64-bit hashes while small, else None.
        self._sparse = set() if sparse_limit > 0 else None
        #: One byte per register (ranks never exceed 64 - p + 1); None
        #: while sparse.
        self._registers = None if sparse_limit > 0 else bytearray(1 << p)

    @property
    def is_sparse(self):
        """True while the sketch still holds its hashes exactly."""
        return self._sparse is not None

    def add(self, value):
        """Add one value; return ``self``.  Prefer :meth:`add_all` for many.

        >>> HyperLogLog().add("x").add("x").add("y").cardinality()
        2
        """
        return self.add_all((value,))

    def add_all(self, values):
        """Add every value of an iterable; return ``self``.

        >>> HyperLogLog().add_all(["a", "b", "a"]).cardinality()
        2
        """
        # Both loops are the per-record loop of countApproxDistinct, so the
        # hash is inlined and everything is a local.
        phash = _impl.shuffle.portable_hash
        m64, gamma, mix1, mix2 = _M64, _GAMMA, _MIX1, _MIX2
        values = iter(values)
        sparse = self._sparse
        if sparse is not None:
            limit = self._sparse_limit
            for value in values:
                z = (phash(value) + gamma) & m64
                z = ((z ^ (z >> 30)) * mix1) & m64
                z = ((z ^ (z >> 27)) * mix2) & m64
                sparse.add(z ^ (z >> 31))
                if len(sparse) > limit:
                    self._densify()
                    break
            else:
                return self
        regs = self._registers
        shift = 64 - self.p
        low = (1 << shift) - 1
        top = shift + 1
        for value in values:
            z = (phash(value) + gamma) & m64
            z = ((z ^ (z >> 30)) * mix1) & m64
            z = ((z ^ (z >> 27)) * mix2) & m64
            z ^= z >> 31
            rank = top - (z & low).bit_length()
            i = z >> shift
            if rank > regs[i]:
                regs[i] = rank
        return self

    def _densify(self):
        self._registers = bytearray(1 << self.p)
        self._add_hashes(self._sparse)
        self._sparse = None

    def _add_hashes(self, hashes):
        # Mixed hashes into the registers.
        regs = self._registers
        shift = 64 - self.p
        low = (1 << shift) - 1
        top = shift + 1
        for z in hashes:
            rank = top - (z & low).bit_length()
            i = z >> shift
            if rank > regs[i]:
                regs[i] = rank

    def merge(self, other):
        """Fold ``other`` into this sketch (the sketch of the union); return ``self``.

        ``other`` is not changed.

        Raises
        ------
        TypeError
            If ``other`` is not a HyperLogLog.
        ValueError
            If the two sketches have different precisions; build both with
            the same ``relative_sd``.

        Examples
        --------
        >>> a = HyperLogLog().add_all("abc")
        >>> a.merge(HyperLogLog().add_all("cde")).cardinality()
        5
        """
        if not isinstance(other, HyperLogLog):
            raise TypeError(f"can only merge a HyperLogLog, got {type(other).__name__}")
        if other.p != self.p:
            raise ValueError(
                f"cannot merge HyperLogLog sketches of precision {self.p} and "
                f"{other.p}; build both with the same relative_sd"
            )
        if other._sparse is not None:
            if self._sparse is not None:
                self._sparse |= other._sparse
                if len(self._sparse) > self._sparse_limit:
                    self._densify()
            else:
                self._add_hashes(other._sparse)
            return self
        if self._sparse is not None:
            self._densify()
        mine, theirs = self._registers, other._registers
        if len(mine) >= _NUMPY_MERGE_MIN:
            import numpy

            view = numpy.frombuffer(mine, dtype=numpy.uint8)
            numpy.maximum(view, numpy.frombuffer(theirs, dtype=numpy.uint8), out=view)
            del view  # drop the buffer export at once
        else:
            mine[:] = bytes(map(max, mine, theirs))
        return self

    def cardinality(self):
        """Estimated number of distinct values added, as an ``int``.

        Exact (up to 64-bit hash collisions) while the sketch is sparse.

        >>> HyperLogLog().add_all(range(10)).cardinality()
        10
        """
        if self._sparse is not None:
            return len(self._sparse)
        regs = self._registers
        m = len(regs)
        q = 64 - self.p
        counts = [regs.count(k) for k in range(max(regs) + 1)]
        counts += [0] * (q + 2 - len(counts))
        z = m * _tau(1.0 - counts[q + 1] / m)
        for k in range(q, 0, -1):
            z = 0.5 * (z + counts[k])
        z += m * _sigma(counts[0] / m)
        return int(round(_ALPHA_INF * m * m / z))

    def copy(self):
        """Return an independent copy of this sketch."""
        new = HyperLogLog.__new__(type(self))
        new.__dict__.update(self.__dict__)
        if self._sparse is not None:
            new._sparse = set(self._sparse)
        if self._registers is not None:
            new._registers = bytearray(self._registers)
        return new

    def __eq__(self, other):
        if not isinstance(other, HyperLogLog):
            return NotImplemented
        return (self.p, self._sparse, self._registers) == (other.p, other._sparse, other._registers)

    __hash__ = None  # mutable

    def __repr__(self):
        return f"HyperLogLog(relative_sd={self.relative_sd!r}, p={self.p})"


class BoundedFloat(float):
    """A float that is an estimate, with a confidence and bounds.

    PySpark's approximate jobs (``sumApprox``, ``meanApprox``) return these.

    Parameters
    ----------
    mean : float
        The estimate; the float's own value.
    confidence : float
        Probability that the true value lies in ``[low, high]``.
    low, high : float
        Bounds of the interval.

    Examples
    --------
    >>> b = BoundedFloat(100.0, 0.95, 95.0, 105.0)
    >>> b
    100.0
    >>> b.confidence, b.low, b.high
    (0.95, 95.0, 105.0)
    >>> b + 1
    101.0
    >>> import pickle
    >>> pickle.loads(pickle.dumps(b)).high
    105.0
    """

    def __new__(cls, mean, confidence, low, high):
        obj = float.__new__(cls, mean)
        obj.confidence = confidence
        obj.low = low
        obj.high = high
        return obj

    def __reduce__(self):
        # float's default reduction would call __new__ with the value only.
        return (type(self), (float(self), self.confidence, self.low, self.high))

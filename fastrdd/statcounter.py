"""StatCounter: count, mean, variance, min and max in one pass, as in PySpark.

``RDD.stats()`` builds one counter per partition from the partition's values
(``StatCounter(iterator)``) and combines them with ``mergeStats``; the counter
is pickled on its way from worker to driver, so it keeps only plain
attributes.

State (the names are PySpark's, and user code reads them):

``n``
    number of values merged (an ``int``).
``mu``
    running mean (Welford).
``m2``
    running sum of squared deviations from the mean; ``m2 / n`` is the
    population variance.
``maxValue``, ``minValue``
    extremes so far; ``-inf`` and ``inf`` while empty.  A NaN value
    sticks, as ``numpy.maximum`` makes it stick in PySpark.

Values are real numbers or numpy arrays.  Scalars are kept as Python floats
(PySpark, through ``numpy.maximum``, hands back ``numpy.float64``, a float
subclass that prints the same); arrays are combined elementwise with
``numpy.maximum``/``numpy.minimum`` and give arrays back from ``mean()``,
``min()``, ``stdev()`` and so on.  numpy is only touched when a value is not
a plain number, so workers that never see an array never import it.
"""
import copy
import math
import numbers
import sys

__all__ = ["StatCounter"]

_NAN = float("nan")
#: Subclasses taking the scalar fast path: bool, numpy.float64, IntEnum...
_FAST = (float, int)


def _np():
    # Only reached with a non-float operand, which means numpy is in use.
    import numpy

    return numpy


def _is_ndarray(value):
    # numpy cannot have made ``value`` unless it has been imported already.
    np = sys.modules.get("numpy")
    return np is not None and isinstance(value, np.ndarray)


def _maximum(a, b):
    if type(a) is float and type(b) is float:
        # numpy.maximum semantics: NaN on either side wins.
        return b if (b > a or b != b) else a
    return _np().maximum(a, b)


def _minimum(a, b):
    if type(a) is float and type(b) is float:
        return b if (b < a or b != b) else a
    return _np().minimum(a, b)


def _sqrt(v):
    if type(v) is float:
        # A negative m2 cannot come from merge/mergeStats, but a hand-set
        # one should give NaN (as numpy does), not a ValueError.
        return math.sqrt(v) if v >= 0.0 else _NAN
    return _np().sqrt(v)


class StatCounter:
    """Running count, mean, variance, min and max of numbers.

    Parameters
    ----------
    values : iterable of numbers or numpy arrays, optional
        Merged in order, as by :meth:`merge`.

    Examples
    --------
    >>> s = StatCounter([1, 2, 3, 4])
    >>> s.count(), s.mean(), s.sum(), s.min(), s.max()
    (4, 2.5, 10.0, 1.0, 4.0)
    >>> s.variance(), s.sampleVariance()
    (1.25, 1.6666666666666667)
    >>> s
    (count: 4, mean: 2.5, stdev: 1.118033988749895, max: 4.0, min: 1.0)

    Counters built on separate partitions combine into the counter of all
    the values:

    >>> StatCounter([1, 2]).mergeStats(StatCounter([3, 4])).mean()
    2.5
    """

    @staticmethod
    def maximum(a, b):
        """Elementwise maximum (numpy arrays) or max (numbers), as PySpark's helper.

        >>> StatCounter.maximum(1, 3.5)
        3.5
        >>> import numpy
        >>> StatCounter.maximum(numpy.array([1, 5]), numpy.array([4, 2])).tolist()
        [4, 5]
        """
        if hasattr(a, "shape") or hasattr(b, "shape"):
            import numpy

            return numpy.maximum(a, b)
        return max(a, b)

    @staticmethod
    def minimum(a, b):
        """Elementwise minimum (numpy arrays) or min (numbers).

        >>> StatCounter.minimum(1, 3.5)
        1
        >>> import numpy
        >>> StatCounter.minimum(numpy.array([1, 5]), numpy.array([4, 2])).tolist()
        [1, 2]
        """
        if hasattr(a, "shape") or hasattr(b, "shape"):
            import numpy

            return numpy.minimum(a, b)
        return min(a, b)

    @staticmethod
    def sqrt(x):
        """Square root, elementwise for numpy arrays.

        >>> StatCounter.sqrt(16)
        4.0
        >>> import numpy
        >>> StatCounter.sqrt(numpy.array([4.0, 9.0])).tolist()
        [2.0, 3.0]
        """
        if hasattr(x, "shape"):
            import numpy

            return numpy.sqrt(x)
        return math.sqrt(x)

    def __init__(self, values=None):
        self.n = 0  #: number of values merged
        self.mu = 0.0  #: running mean
        self.m2 = 0.0  #: running sum of squared deviations from the mean
        self.maxValue = float("-inf")  #: largest value so far
        self.minValue = float("inf")  #: smallest value so far
        if values is not None:
            self._merge_all(values)

    def _merge_all(self, values):
        # merge() over an iterable with the state in locals: this is the
        # per-partition loop of RDD.stats().  Anything but an exact int or
        # float (or a counter already holding arrays) takes merge()'s path.
        n, mu, m2, mx, mn = self.n, self.mu, self.m2, self.maxValue, self.minValue
        scalar = type(mu) is float and type(mx) is float and type(mn) is float
        for value in values:
            cls = type(value)
            if scalar and (cls is float or cls is int or isinstance(value, _FAST)):
                x = float(value)
                delta = x - mu
                n += 1
                mu += delta / n
                m2 += delta * (x - mu)
                if x > mx or x != x:
                    mx = x
                if x < mn or x != x:
                    mn = x
            else:
                self.n, self.mu, self.m2, self.maxValue, self.minValue = n, mu, m2, mx, mn
                self._merge_general(value)
                n, mu, m2, mx, mn = self.n, self.mu, self.m2, self.maxValue, self.minValue
                scalar = type(mu) is float and type(mx) is float and type(mn) is float
        self.n, self.mu, self.m2, self.maxValue, self.minValue = n, mu, m2, mx, mn

    def merge(self, value):
        """Add one value (Welford's update) and return ``self``.

        Parameters
        ----------
        value : real number or numpy.ndarray
            Arrays are combined elementwise; mixing arrays of different
            shapes follows numpy broadcasting.

        Examples
        --------
        >>> StatCounter().merge(1).merge(5).mean()
        3.0
        >>> import numpy as np
        >>> s = StatCounter([np.array([1.0, 10.0]), np.array([3.0, 30.0])])
        >>> s.mean().tolist(), s.max().tolist()
        ([2.0, 20.0], [3.0, 30.0])
        """
        cls = type(value)
        if (
            (cls is float or cls is int or isinstance(value, _FAST))
            and type(self.mu) is float
            and type(self.maxValue) is float
            and type(self.minValue) is float
        ):
            x = float(value)
            delta = x - self.mu
            self.n += 1
            self.mu += delta / self.n
            self.m2 += delta * (x - self.mu)
            if x > self.maxValue or x != x:
                self.maxValue = x
            if x < self.minValue or x != x:
                self.minValue = x
            return self
        return self._merge_general(value)

    def _merge_general(self, value):
        # Subclasses of int/float, numpy scalars, Fractions, arrays, or a
        # counter whose state already holds arrays.  Never updates in place,
        # so arrays shared with another counter by mergeStats stay intact.
        if _is_ndarray(value):
            x = value
        elif isinstance(value, numbers.Real):
            x = float(value)
        else:
            raise TypeError(
                f"StatCounter can only merge real numbers or numpy arrays, "
                f"got {value!r} of type {type(value).__name__}"
            )
        delta = x - self.mu
        self.n += 1
        self.mu = self.mu + delta / self.n
        self.m2 = self.m2 + delta * (x - self.mu)
        self.maxValue = _maximum(self.maxValue, x)
        self.minValue = _minimum(self.minValue, x)
        return self

    def mergeStats(self, other):
        """Merge the statistics of ``other`` into this counter; return ``self``.

        Uses Chan et al.'s parallel update, so the result matches merging
        every value one by one (up to rounding).  ``other`` is not changed;
        merging a counter with itself doubles every value's weight.

        Parameters
        ----------
        other : StatCounter

        Raises
        ------
        TypeError
            If ``other`` is not a StatCounter.

        Examples
        --------
        >>> a = StatCounter([1, 2, 3])
        >>> a.mergeStats(StatCounter([10])).count()
        4
        >>> a.max()
        10.0
        >>> b = StatCounter([1, 3])
        >>> b.mergeStats(b).count(), b.mean(), b.variance()
        (4, 2.0, 1.0)
        """
        if not isinstance(other, StatCounter):
            raise TypeError("Can only merge StatCounter but got %s" % type(other))
        if other is self:
            # The update reads other's fields after writing self's.
            other = self.copy()
        if self.n == 0:
            self.n = other.n
            self.mu = other.mu
            self.m2 = other.m2
            self.maxValue = other.maxValue
            self.minValue = other.minValue
        elif other.n != 0:
            n1, n2 = self.n, other.n
            total = n1 + n2
            delta = other.mu - self.mu
            # Scala's StatCounter weights this way to keep precision when
            # one side dwarfs the other; PySpark copies it, and so do we.
            if n2 * 10 < n1:
                self.mu = self.mu + (delta * n2) / total
            elif n1 * 10 < n2:
                self.mu = other.mu - (delta * n1) / total
            else:
                self.mu = (self.mu * n1 + other.mu * n2) / total
            self.maxValue = _maximum(self.maxValue, other.maxValue)
            self.minValue = _minimum(self.minValue, other.minValue)
            self.m2 = self.m2 + other.m2 + (delta * delta * n1 * n2) / total
            self.n = total
        return self

    def copy(self):
        """Return an independent copy of this counter.

        >>> a = StatCounter([1, 2])
        >>> b = a.copy().merge(100)
        >>> a.count(), b.count()
        (2, 3)
        """
        return copy.deepcopy(self)

    def count(self):
        """Number of values merged, as an ``int``.

        >>> StatCounter([4, 4, 4]).count()
        3
        """
        return int(self.n)

    def mean(self):
        """Mean of the values; ``0.0`` when empty, as in PySpark.

        >>> StatCounter([1, 2]).mean()
        1.5
        """
        return self.mu

    def sum(self):
        """Sum of the values, computed as ``count * mean``.

        >>> StatCounter([1, 2, 3]).sum()
        6.0
        """
        return self.n * self.mu

    def min(self):
        """Smallest value; ``inf`` when empty.

        >>> StatCounter([3, -1, 2]).min(), StatCounter().min()
        (-1.0, inf)
        """
        return self.minValue

    def max(self):
        """Largest value; ``-inf`` when empty.

        >>> StatCounter([3, -1, 2]).max(), StatCounter().max()
        (3.0, -inf)
        """
        return self.maxValue

    def variance(self):
        """Population variance (divides by ``n``); NaN when empty.

        >>> StatCounter([1, 2, 3, 4]).variance()
        1.25
        >>> StatCounter().variance()
        nan
        """
        if self.n == 0:
            return _NAN
        return self.m2 / self.n

    def sampleVariance(self):
        """Sample variance (divides by ``n - 1``); NaN for fewer than two values.

        >>> StatCounter([1, 2, 3, 4]).sampleVariance()
        1.6666666666666667
        >>> StatCounter([7]).sampleVariance()
        nan
        """
        if self.n <= 1:
            return _NAN
        return self.m2 / (self.n - 1)

    def stdev(self):
        """Population standard deviation; NaN when empty.

        >>> StatCounter([2, 4, 4, 4, 5, 5, 7, 9]).stdev()
        2.0
        """
        return _sqrt(self.variance())

    def sampleStdev(self):
        """Sample standard deviation; NaN for fewer than two values.

        >>> StatCounter([1, 2, 3]).sampleStdev()
        1.0
        """
        return _sqrt(self.sampleVariance())

    def asDict(self, sample=False):
        """Return count, mean, sum, min, max, stdev and variance as a dict.

        Parameters
        ----------
        sample : bool, default False
            Follows PySpark, whose flag reads backwards: the default
            (``False``) reports the *sample* stdev and variance
            (``n - 1``), and ``sample=True`` reports the *population* ones
            (``n``).  PySpark's own tests pin this down, so programs that
            read these numbers depend on it.

        Examples
        --------
        >>> d = StatCounter([1, 2, 3, 4]).asDict()
        >>> d["count"], d["mean"], d["sum"], d["min"], d["max"]
        (4, 2.5, 10.0, 1.0, 4.0)
        >>> d["stdev"], d["variance"]
        (1.2909944487358056, 1.6666666666666667)
        >>> p = StatCounter([1, 2, 3, 4]).asDict(sample=True)
        >>> p["stdev"], p["variance"]
        (1.118033988749895, 1.25)
        """
        return {
            "count": self.count(),
            "mean": self.mean(),
            "sum": self.sum(),
            "min": self.min(),
            "max": self.max(),
            "stdev": self.stdev() if sample else self.sampleStdev(),
            "variance": self.variance() if sample else self.sampleVariance(),
        }

    def __repr__(self):
        return "(count: %s, mean: %s, stdev: %s, max: %s, min: %s)" % (
            self.count(),
            self.mean(),
            self.stdev(),
            self.max(),
            self.min(),
        )

"""ResultIterable: the value collection groupByKey and cogroup hand out."""
from collections.abc import Iterable

__all__ = ["ResultIterable"]


class ResultIterable(Iterable):
    """A list of values that can be iterated many times and has a length.

    >>> r = ResultIterable([1, 2, 3])
    >>> len(r), list(r), sum(r)
    (3, [1, 2, 3], 6)
    """

    def __init__(self, data):
        self.data = data
        self.index = 0
        self.maxindex = len(data)

    def __iter__(self):
        return iter(self.data)

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        return f"ResultIterable({self.data!r})"

    def __reduce__(self):
        return (ResultIterable, (self.data,))

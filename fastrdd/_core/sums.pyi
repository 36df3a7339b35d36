"""Type stub for the compiled ``fastrdd._core.sums`` (twin: ``sums_py``)."""
from collections.abc import Callable, Hashable, Iterable
from typing import Any, TypeVar

_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")

__all__ = ["NumericSums", "sum_pairs"]

class NumericSums:
    def __len__(self) -> int: ...
    def to_dict(self) -> dict[Any, Any]: ...
    def buckets(self, num_partitions: int) -> list[list[tuple[Any, Any]]]: ...

def sum_pairs(
    records: Iterable[tuple[_K, _V] | list[Any]],
    merge: Callable[[_V, _V], _V],
    sums: NumericSums,
) -> NumericSums: ...

"""Type stub for the compiled ``fastrdd._shuffle`` (twin: ``_shuffle_py``)."""
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from typing import Any, SupportsIndex, TypeVar

_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")
_C = TypeVar("_C")

__all__ = [
    "portable_hash",
    "bucket_pairs",
    "bucket_dict",
    "combine_pairs",
    "combine_keys",
    "merge_combiners",
    "group_pairs",
    "index_pairs",
    "Matches",
    "probe_join",
]

# A record is a tuple or list of length 2; anything else raises TypeError.
_Pair = tuple[_K, _V] | list[Any]

#: Keys with tuples or frozensets nested deeper raise RecursionError.
MAX_KEY_DEPTH: int

def portable_hash(obj: object) -> int: ...
def bucket_pairs(
    records: Iterable[_Pair[_K, _V]],
    num_partitions: SupportsIndex,
    partition_func: Callable[[_K], int] | None = None,
) -> list[list[_Pair[_K, _V]]]: ...
def bucket_dict(
    d: Mapping[_K, _V],
    num_partitions: SupportsIndex,
    partition_func: Callable[[_K], int] | None = None,
) -> list[list[tuple[_K, _V]]]: ...
def combine_pairs(
    records: Iterable[_Pair[_K, _V]],
    create_combiner: Callable[[_V], _C],
    merge_value: Callable[[_C, _V], _C],
    combiners: dict[_K, _C] | None = None,
    merge_is_add: bool = False,
) -> dict[_K, _C]: ...
def combine_keys(
    keys: Iterable[_K],
    value: _V,
    create_combiner: Callable[[_V], _C],
    merge_value: Callable[[_C, _V], _C],
    combiners: dict[_K, _C] | None = None,
    merge_is_add: bool = False,
) -> dict[_K, _C]: ...
def merge_combiners(
    records: Iterable[_Pair[_K, _C]],
    merge_combiners: Callable[[_C, _C], _C],
    combiners: dict[_K, _C] | None = None,
    merge_is_add: bool = False,
) -> dict[_K, _C]: ...
def group_pairs(
    records: Iterable[_Pair[_K, _V]],
    groups: dict[_K, list[_V]] | None = None,
) -> dict[_K, list[_V]]: ...

class Matches(list[_V]): ...

def index_pairs(
    records: Iterable[_Pair[_K, _V]],
    table: dict[_K, Any] | None = None,
) -> dict[_K, Any]: ...

class probe_join(Iterator[tuple[_K, tuple[_V, Any]]]):
    def __init__(self, left: Iterable[_Pair[_K, _V]], table: dict[_K, Any],
                 keep_left: bool = False) -> None: ...
    def __iter__(self) -> probe_join[_K, _V]: ...
    def __next__(self) -> tuple[_K, tuple[_V, Any]]: ...

"""Type stub for the compiled ``fastrdd._core.iterators`` (twin: ``iterators_py``)."""
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

_T = TypeVar("_T")

__all__ = ["filter_contains"]

class filter_contains(Iterator[_T]):
    def __init__(self, iterator: Iterable[_T], needle: Any, fallback: Callable[[_T], Any]) -> None: ...
    def __iter__(self) -> filter_contains[_T]: ...
    def __next__(self) -> _T: ...

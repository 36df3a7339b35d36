"""Stub for the compiled record-batch codec; ``_serde_py.py`` documents the format."""
from collections.abc import Iterable
from typing import Any, Final

__all__ = [
    "LIST_EXT_CODE",
    "MAX_DEPTH",
    "MSGPACK_TAG",
    "PICKLE_TAG",
    "dumps_batch",
    "loads_batch",
]

MSGPACK_TAG: Final[bytes]
PICKLE_TAG: Final[bytes]
LIST_EXT_CODE: Final[int]
MAX_DEPTH: Final[int]

def dumps_batch(records: Iterable[Any]) -> bytes: ...

# Any C-contiguous buffer is accepted; these are the usual ones.
def loads_batch(data: bytes | bytearray | memoryview) -> list[Any]: ...

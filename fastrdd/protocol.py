"""Every message between the driver and a worker, by name, encoded in one place.

::

    driver -> worker                              worker -> driver
    StageBlob(stage_id, blob)                     Ready(pid)
    RunTask(task_id, stage_id, split, attempt,    Heartbeat()  every HEARTBEAT_INTERVAL s
            payloads, properties)                 TaskDone(task_id, result, cached, evicted,
    ForgetStage(stage_id)                                  updates, profile, spilled)
    Unpersist(rdd_id, ack)                        TaskFailed(task_id, kind, error, traceback)
    Unbroadcast(broadcast_id)                     Unpersisted(rdd_id)  if Unpersist.ack
    RemoveShuffle(shuffle_id)
    AddPath(path)
    Stop()

* ``StageBlob.blob`` is the cloudpickled stage, sent once per worker per
  stage attempt: ``(kind, node, extra, locations)`` where kind is "result"
  (extra is the action's ``func(split, iterator)``) or "map" (extra is the
  ShuffleDependency), and ``locations`` maps shuffle ids to the block
  address of each map output's worker (None: lost).
* A task is its partition, plus per-task ``payloads`` for collections
  parallelized from the driver.
* ``TaskFailed.kind`` is "error" (the user's exception: ``error`` is it
  pickled, ``traceback`` its worker traceback), "fetch" (a map output could
  not be read: ``error`` is ``(shuffle_id, map_id)``) or "corrupt" (a spill
  or block file was damaged underneath: the task is simply run again).
* ``TaskDone``: ``cached``/``evicted`` are the (rdd id, split) blocks the
  task added to or dropped from its worker's store, ``updates`` its
  accumulator updates, ``spilled`` (memory bytes, disk bytes).

Each message is its own type, so a reader dispatches on the type and can
never take one message for another (a late ``Unpersisted(7)`` is not the
result of task 7).  ``dumps``/``loads`` are the only encoding; a transport
adds its own framing (and, between hosts, authentication) around them.
"""
import pickle
from typing import NamedTuple

from fastrdd.serializers import dumps_records, loads_records

__all__ = ["StageBlob", "RunTask", "ForgetStage", "Unpersist", "Unbroadcast", "RemoveShuffle",
           "AddPath", "Stop", "Ready", "Heartbeat", "TaskDone", "TaskFailed", "Unpersisted",
           "dumps", "loads", "encode_result", "decode_result"]


# -- driver -> worker ----------------------------------------------------------
class StageBlob(NamedTuple):
    stage_id: int
    blob: bytes


class RunTask(NamedTuple):
    task_id: int
    stage_id: int
    split: int
    attempt: int
    #: {(rdd id, split): serialized slice} of parallelized collections, or None
    payloads: object
    #: the job's local properties (job group, barrier size...), or None
    properties: object


class ForgetStage(NamedTuple):
    stage_id: int


class Unpersist(NamedTuple):
    rdd_id: int
    #: answer with Unpersisted once done (unpersist(blocking=True))
    ack: bool


class Unbroadcast(NamedTuple):
    broadcast_id: int


class RemoveShuffle(NamedTuple):
    shuffle_id: int


class AddPath(NamedTuple):
    """A directory or archive to put on the worker's import path (addPyFile)."""

    path: str


class Stop(NamedTuple):
    pass


# -- worker -> driver ----------------------------------------------------------
class Ready(NamedTuple):
    pid: int


class Heartbeat(NamedTuple):
    pass


class TaskDone(NamedTuple):
    task_id: int
    #: the action's value (``encode_result``) for a result task; bytes written for a map task
    result: object
    cached: list
    evicted: list
    updates: object
    profile: object
    spilled: tuple


class TaskFailed(NamedTuple):
    task_id: int
    #: "error", "fetch" or "corrupt" (see the module docstring)
    kind: str
    error: object
    traceback: str


class Unpersisted(NamedTuple):
    rdd_id: int


def dumps(message):
    """The bytes of one message."""
    return pickle.dumps(message, protocol=5)


def loads(data):
    """One message from its bytes (only ever from an authenticated peer)."""
    return pickle.loads(data)


def encode_result(value):
    """Action results: lists as record frames (fast path), anything else pickled."""
    if type(value) is list:
        return ("L", dumps_records(value))
    return ("P", pickle.dumps(value, protocol=5))


def decode_result(encoded):
    tag, data = encoded
    return loads_records(data) if tag == "L" else pickle.loads(data)

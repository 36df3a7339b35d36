"""Every message between the driver and a worker, by name, encoded in one place.

::

    driver -> worker                              worker -> driver
    StageBlob(stage_id, blob)                     Ready(pid)
    RunTask(task_id, stage_id, split, attempt,    Heartbeat()  every HEARTBEAT_INTERVAL s
            payloads, properties)                 TaskDone(task_id, result, cached, evicted,
    ForgetStage(stage_id)                                  updates, profile, metrics,
                                                           replicas)
    Unpersist(rdd_id, ack)                        TaskFailed(task_id, kind, error, traceback)
    Unbroadcast(broadcast_id)                     Unpersisted(rdd_id)  if Unpersist.ack
    RemoveShuffle(shuffle_id)
    Peers(addresses)
    FileAdded(name, archive)
    AddPath(name)
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
* ``TaskDone``: ``cached`` are the (rdd id, split, bytes in memory, bytes
  on disk) blocks the task added to its worker's store, ``evicted`` the
  (rdd id, split) ones dropped, ``updates`` its accumulator updates,
  ``metrics`` a plain tuple in ``TaskMetrics`` order, ``replicas``
  the (rdd id, split, block address) copies it placed on other workers
  (storage levels ``_2``).
* ``Peers``: the block addresses of every live worker, sent whenever they
  change; a worker places replicas on them.

Each message is its own type, so a reader dispatches on the type and can
never take one message for another (a late ``Unpersisted(7)`` is not the
result of task 7).  ``dumps``/``loads`` are the only encoding; a transport
adds its own framing (and, between hosts, authentication) around them.
"""
import pickle
from collections import namedtuple

from fastrdd.serializers import dumps_records, loads_records

__all__ = ["StageBlob", "RunTask", "ForgetStage", "Unpersist", "Unbroadcast", "RemoveShuffle",
           "Peers", "FileAdded", "AddPath", "Stop", "Ready", "Heartbeat", "TaskDone", "TaskFailed",
           "Unpersisted", "TaskMetrics", "PayloadRef", "dumps", "loads", "encode_result", "decode_result"]


# Named tuples from ``collections`` rather than ``typing.NamedTuple``: the
# worker imports this module at start-up, and ``typing`` costs it 3 ms.

# -- driver -> worker ----------------------------------------------------------
StageBlob = namedtuple("StageBlob", "stage_id blob")
#: ``payloads``: {(rdd id, split): serialized slice} of parallelized collections, or None;
#: ``properties``: the job's local properties (job group, barrier size...), or None
RunTask = namedtuple("RunTask", "task_id stage_id split attempt payloads properties")
ForgetStage = namedtuple("ForgetStage", "stage_id")
#: ``ack``: answer with Unpersisted once done (unpersist(blocking=True))
Unpersist = namedtuple("Unpersist", "rdd_id ack")
Unbroadcast = namedtuple("Unbroadcast", "broadcast_id")
RemoveShuffle = namedtuple("RemoveShuffle", "shuffle_id")
#: the block addresses of every live worker (where ``_2`` blocks may be copied)
Peers = namedtuple("Peers", "addresses")
#: a file added with addFile/addPyFile (or, ``archive``, addArchive), by its name in
#: the files directory
FileAdded = namedtuple("FileAdded", "name archive")
#: put ``name`` (in the files directory; "" for the directory itself) on the import path
AddPath = namedtuple("AddPath", "name")
Stop = namedtuple("Stop", "")
#: in ``RunTask.payloads`` instead of the bytes: a slice too big to send with
#: every task, stored once in the driver's "payload" area (``storage.blocks``)
PayloadRef = namedtuple("PayloadRef", "name")

# -- worker -> driver ----------------------------------------------------------
Ready = namedtuple("Ready", "pid")
Heartbeat = namedtuple("Heartbeat", "")
#: ``result``: the action's value (``encode_result``) for a result task, bytes
#: written for a map task; the rest as in the module docstring
TaskDone = namedtuple("TaskDone",
                      "task_id result cached evicted updates profile metrics replicas")
#: what a task read and wrote (``TaskDone.metrics`` travels as the plain tuple)
TaskMetrics = namedtuple("TaskMetrics", "input_bytes input_records shuffle_read_bytes "
                                        "shuffle_read_records shuffle_write_bytes "
                                        "shuffle_write_records memory_bytes_spilled "
                                        "disk_bytes_spilled result_bytes")
NO_METRICS = TaskMetrics(0, 0, 0, 0, 0, 0, 0, 0, 0)
#: ``kind``: "error", "fetch" or "corrupt" (see the module docstring)
TaskFailed = namedtuple("TaskFailed", "task_id kind error traceback")
Unpersisted = namedtuple("Unpersisted", "rdd_id")


#: every message type, by its number on the wire
_TYPES = (StageBlob, RunTask, ForgetStage, Unpersist, Unbroadcast, RemoveShuffle, Peers,
          FileAdded, AddPath, Stop, Ready, Heartbeat, TaskDone, TaskFailed, Unpersisted)
_NUMBERS = {kind: number for number, kind in enumerate(_TYPES)}


def dumps(message):
    """The bytes of one message: a plain tuple (type number, *fields), pickled.

    A named tuple pickles with its class path and is rebuilt through
    copyreg: 2 us more per message each way, on the path of every task.
    """
    return pickle.dumps((_NUMBERS[type(message)], *message), protocol=5)


def loads(data):
    """One message from its bytes (only ever from an authenticated peer)."""
    fields = pickle.loads(data)
    return _TYPES[fields[0]]._make(fields[1:])


def encode_result(value):
    """Action results: a list as record frames, anything else as a one-record frame.

    Both go through the record batch coding, so a value whose class was
    made in the user's script or in a function reaches the driver (see
    ``fastrdd._serde_py._pickled``).
    """
    if type(value) is list:
        return ("L", dumps_records(value))
    return ("V", dumps_records([value]))


def decode_result(encoded):
    tag, data = encoded
    return loads_records(data) if tag == "L" else loads_records(data)[0]

"""The first words between a worker and the driver: JSON, never pickles.

::

    worker                                       driver
    HELLO {versions, host, pid, cores, memory,
           block address}                 -->    compare versions
                                          <--    WELCOME {executor id, driver block
                                                          address, heartbeat timeout}
                                          <--    or REFUSED {reason}: the worker exits

Pickled stages only flow once both sides know they run the same Python
(major.minor), cloudpickle and fastrdd: a mismatch would otherwise fail
later as an obscure unpickling error inside some task.
"""
import json
import platform
import sys

__all__ = ["versions", "hello", "welcome", "refused", "decode", "mismatch"]

#: the tag of every handshake payload, so that it is never taken for a pickle
MAGIC = b"FASTRDD1"


def versions():
    """What must match on both sides for pickled code to run."""
    import cloudpickle

    import fastrdd

    return {"python": "%d.%d" % sys.version_info[:2], "cloudpickle": cloudpickle.__version__,
            "fastrdd": fastrdd.__version__}


def _encode(kind, fields):
    return MAGIC + json.dumps({"kind": kind, **fields}).encode()


def hello(host, pid, cores, memory, block_address):
    return _encode("hello", {"versions": versions(), "host": host, "pid": pid, "cores": cores,
                             "memory": memory, "block_address": block_address,
                             "platform": platform.platform(terse=True)})


def welcome(executor_id, driver_block_address, heartbeat_timeout, settings):
    return _encode("welcome", {"executor_id": executor_id,
                               "driver_block_address": driver_block_address,
                               "heartbeat_timeout": heartbeat_timeout, "settings": settings})


def refused(reason):
    return _encode("refused", {"reason": reason})


def is_handshake(payload):
    """True if ``payload`` (bytes-like) is a handshake message rather than a pickle."""
    return bytes(payload[:len(MAGIC)]) == MAGIC


def decode(payload):
    """The handshake message in ``payload`` (a dict with "kind"), or None if it is not one."""
    if not is_handshake(payload):
        return None
    try:
        message = json.loads(bytes(payload[len(MAGIC):]))
    except ValueError:
        return None
    return message if isinstance(message, dict) and "kind" in message else None


def mismatch(theirs, where):
    """Why a peer with ``theirs`` versions cannot join, naming both sides; None if it can."""
    ours = versions()
    if not isinstance(theirs, dict):
        return "its handshake carried no versions"
    wrong = [f"{name} {theirs.get(name)} on {where} but {ours[name]} on the driver"
             for name in ours if theirs.get(name) != ours[name]]
    if not wrong:
        return None
    return ("version mismatch: " + "; ".join(wrong)
            + ". Install the same versions on every host (pip install fastrdd==...).")

"""Record-batch serialization, pure Python: the specification.

``fastrdd._serde`` (Cython) is the compiled twin of this module.  It must
produce byte-for-byte the same output for the same input, and the tests check
that on random batches.  Change the format here first, then mirror it there.
Nothing outside ``fastrdd._impl`` imports either twin directly.

Wire format
-----------
A batch is one ``bytes`` object whose first byte says how the rest is coded::

    batch := b"M" msgpack-array(record, ...)     every record is plain
           | b"P" pickle-protocol-5(list)        anything else

A b"P" payload is written by cloudpickle instead of pickle when pickle
refuses the batch or names ``__main__`` in it (see ``_pickled``): records
whose class was made in a function or in the user's script then reach
another process.  Either way ``pickle.loads`` reads it.

The choice is made per batch: a single record that is not plain sends the
whole batch to pickle, so a batch never mixes the two codings.

A record is *plain* when it is built only from these exact types (subclasses
such as ``namedtuple``, ``IntEnum`` or a ``str`` subclass are not plain, so
they come back as themselves, through pickle):

==========  =====================================================
Python      msgpack
==========  =====================================================
``None``    nil
``bool``    true / false
``int``     int, only in ``-2**63 .. 2**64 - 1`` (msgpack's range)
``float``   float 64 (always 64-bit, so every float round-trips)
``str``     str (UTF-8; a str with lone surrogates cannot be UTF-8
            encoded, so its batch goes to pickle)
``bytes``   bin
``tuple``   array
``list``    ext type ``LIST_EXT_CODE`` (1) whose payload is the
            msgpack array of the list's elements, coded the same way
==========  =====================================================

and nested no more than ``MAX_DEPTH`` containers deep.

Tuples are the plain msgpack array because they are by far the common case
(``(key, value)`` pairs): a batch without lists goes to msgpack's compiled
packer untouched.  Lists are rarer and pay for their exact round trip: each is
packed on its own into an ext payload before the batch is packed, and
unpacked through an ``ext_hook`` on the way back.  The decoder unpacks with
``use_list=False`` so every array comes back a tuple.

``MAX_DEPTH`` keeps the recursion of both twins (and of msgpack's packer,
limited to 511 levels) bounded; deeper records are legal, they just pickle.

Reading checks the tag and, for b"M", that the payload is one array and
nothing else.  Damaged msgpack raises ``ValueError``; a damaged b"P" payload
raises whatever ``pickle.loads`` raises.  The compiled reader is stricter on
input that ``dumps_batch`` cannot have written (msgpack timestamps, nesting
past ``MAX_DEPTH``): it refuses them with ``ValueError`` too.
"""
import pickle

import msgpack

__all__ = [
    "LIST_EXT_CODE",
    "MAX_DEPTH",
    "MSGPACK_TAG",
    "PICKLE_TAG",
    "dumps_batch",
    "loads_batch",
]

#: First byte of a batch coded with msgpack.
MSGPACK_TAG = b"M"
#: First byte of a batch coded with pickle (protocol 5).
PICKLE_TAG = b"P"
#: msgpack ext type code that marks a ``list`` (tuples are plain arrays).
LIST_EXT_CODE = 1
#: Deepest container nesting still coded with msgpack.  Real records are a
#: few levels deep; the limit only exists to bound recursion.
MAX_DEPTH = 100

_PICKLE_PROTOCOL = 5
#: how pickle names the module of a class or function defined in a script
_MAIN_MODULE = b"__main__"
_INT_MIN = -(2**63)
_INT_MAX = 2**64 - 1

# Results of _scan, combined with ``|`` over a batch.
_NOT_PLAIN = 0
_PLAIN = 1
_HAS_LIST = 2


def _new_packer():
    # Every option spelled out: the twins must agree on each one.
    return msgpack.Packer(
        use_bin_type=True,
        use_single_float=False,
        strict_types=False,
        datetime=False,
        autoreset=False,
    )


def _scan(x, depth):
    """Classify ``x``: ``_NOT_PLAIN``, or ``_PLAIN`` or'ed with ``_HAS_LIST``."""
    t = type(x)
    if t is int:
        return _PLAIN if _INT_MIN <= x <= _INT_MAX else _NOT_PLAIN
    if t is str or t is float or t is bytes or t is bool or x is None:
        return _PLAIN
    if t is tuple or t is list:
        if depth >= MAX_DEPTH:
            return _NOT_PLAIN
        flags = _PLAIN | _HAS_LIST if t is list else _PLAIN
        for item in x:
            sub = _scan(item, depth + 1)
            if sub == _NOT_PLAIN:
                return _NOT_PLAIN
            flags |= sub
        return flags
    return _NOT_PLAIN


def _convert(x, packer):
    """Replace every list inside the plain value ``x`` by its ext type."""
    t = type(x)
    if t is list:
        packer.pack([_convert(item, packer) for item in x])
        payload = packer.bytes()
        packer.reset()
        return msgpack.ExtType(LIST_EXT_CODE, payload)
    if t is tuple:
        return tuple([_convert(item, packer) for item in x])
    return x


def _pickled(batch):
    """The b"P" coding of ``batch``: pickle, or cloudpickle when pickle would not do.

    Plain pickle writes a class by reference (module and name), which another
    process can only follow if the class is importable there.  Classes made
    in a function (a local ``namedtuple``, a class in a test) refuse to pickle
    at all, and classes of ``__main__`` pickle on the driver but name a
    ``__main__`` that a worker does not have.  Such batches go to cloudpickle,
    which writes those classes by value (as PySpark's default serializer
    does); ``pickle.loads`` reads both.  A reference to ``__main__`` is found
    by looking for the module name in the output: a search at memory speed,
    and a false alarm (a string record "__main__") only costs the cloudpickle
    path.  Batches of importable types pay nothing else.
    """
    try:
        data = pickle.dumps(batch, protocol=_PICKLE_PROTOCOL)
    except Exception:  # noqa: BLE001 - whatever pickle refuses, cloudpickle gets a try
        return PICKLE_TAG + _by_value(batch)
    if _MAIN_MODULE in data:
        return PICKLE_TAG + _by_value(batch)
    return PICKLE_TAG + data


def _by_value(batch):
    import cloudpickle

    return cloudpickle.dumps(batch, protocol=_PICKLE_PROTOCOL)


def dumps_batch(records):
    """Serialize a list of records to one tagged ``bytes`` object.

    msgpack is used when every record is plain (see the module docstring),
    pickle protocol 5 otherwise.  Any iterable is accepted; it is read once
    into a list.

    >>> dumps_batch([("a", 1), ("b", 2)])
    b'M\\x92\\x92\\xa1a\\x01\\x92\\xa1b\\x02'
    >>> loads_batch(dumps_batch([("a", [1.5, None])]))
    [('a', [1.5, None])]
    """
    batch = records if type(records) is list else list(records)
    flags = _PLAIN
    for record in batch:
        sub = _scan(record, 0)
        if sub == _NOT_PLAIN:
            return _pickled(batch)
        flags |= sub
    packer = _new_packer()
    try:
        if flags & _HAS_LIST:
            converted = [_convert(record, packer) for record in batch]
        else:
            converted = batch
        packer.pack(converted)
    except ValueError:
        # msgpack refused a value the scan cannot see cheaply: a str with
        # lone surrogates (not UTF-8 encodable) or an item over msgpack's
        # 4 GiB size limit.  pickle takes both.
        return _pickled(batch)
    return MSGPACK_TAG + packer.bytes()


def _ext_hook(code, data):
    if code != LIST_EXT_CODE:
        raise ValueError(
            f"unknown msgpack ext type {code} in a record batch; "
            f"dumps_batch only writes ext type {LIST_EXT_CODE} (list)"
        )
    items = _unpack(data)
    if type(items) is not tuple:
        raise ValueError(
            "corrupt record batch: a list's payload is a "
            f"{type(items).__name__}, not an array"
        )
    return list(items)


def _reject_map(pairs):
    raise ValueError("corrupt record batch: dumps_batch never writes a msgpack map")


def _unpack(data):
    return msgpack.unpackb(
        data,
        use_list=False,
        raw=False,
        ext_hook=_ext_hook,
        object_pairs_hook=_reject_map,
        strict_map_key=False,  # so _reject_map, not msgpack, reports a map
    )


def loads_batch(data):
    """Deserialize a batch written by :func:`dumps_batch`; return a list.

    ``data`` may be ``bytes``, ``bytearray``, ``memoryview`` or any other
    C-contiguous buffer.  It is read in place (no copy of the payload), and
    the buffer is released before returning, so a ``bytearray`` can be
    resized afterwards.

    Raises ``ValueError`` for empty input, an unknown tag or a corrupt
    payload, and ``TypeError`` for a non-contiguous buffer.
    """
    with memoryview(data) as view:
        if not view.c_contiguous:
            raise TypeError(
                "loads_batch needs a C-contiguous buffer; "
                "pass bytes(view) for a strided memoryview"
            )
        with view.cast("B") as flat:
            if flat.nbytes == 0:
                raise ValueError(
                    "cannot load an empty record batch: expected a tag byte "
                    "b'M' (msgpack) or b'P' (pickle) written by dumps_batch"
                )
            tag = flat[0]
            with flat[1:] as payload:
                if tag == MSGPACK_TAG[0]:
                    records = _unpack(payload)
                    if type(records) is not tuple:
                        raise ValueError(
                            "corrupt record batch: the msgpack payload is a "
                            f"{type(records).__name__}, not an array of records"
                        )
                    return list(records)
                if tag == PICKLE_TAG[0]:
                    return pickle.loads(payload)
            raise ValueError(
                f"unknown record batch tag {bytes([tag])!r}: expected b'M' "
                "(msgpack) or b'P' (pickle); the data was not written by "
                "dumps_batch"
            )

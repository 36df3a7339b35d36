"""Serializing a stage for the workers, and saying what went wrong when it fails.

A stage is pickled with cloudpickle once.  When that fails, the bare pickle
error ("cannot pickle '_thread.lock' object") does not say which of the
user's functions captured the object, so ``explain_failure`` walks the
functions of the stage, their closure cells, globals and defaults, and
names the first captured value that cannot be pickled.
"""
import io
import marshal
import types
from collections import ChainMap

import cloudpickle

from fastrdd.errors import ClosureError

__all__ = ["dumps_stage", "dumps_function", "explain_failure"]


def _code_reduce(code):
    # marshal keeps every field, co_filename included; workers run the same
    # Python as the driver (cloudpickle's own code reducer is version-bound too)
    return marshal.loads, (marshal.dumps(code),)


class _SourceKeepingPickler(cloudpickle.Pickler):
    """cloudpickle, keeping the source file name of the functions it pickles by value.

    cloudpickle 3.1 writes every code object's file name as "<dynamic-code>"
    (for deterministic payloads); a worker traceback would then no longer
    show the user's file and line.
    """

    dispatch_table = ChainMap({types.CodeType: _code_reduce}, cloudpickle.Pickler.dispatch_table)


def dumps_function(obj):
    """``cloudpickle.dumps(obj)``, code objects keeping their file names."""
    buffer = io.BytesIO()
    _SourceKeepingPickler(buffer, protocol=5).dump(obj)
    return buffer.getvalue()


def dumps_stage(stage):
    try:
        return dumps_function(stage)
    except ClosureError:
        raise
    except Exception as e:
        raise explain_failure(stage, e) from e


def _functions(obj, seen, depth=0):
    """Functions reachable from a stage tuple, nodes and dependencies (not user data)."""
    if id(obj) in seen or depth > 50:
        return
    seen.add(id(obj))
    if isinstance(obj, types.FunctionType):
        yield obj
        return
    if isinstance(obj, (tuple, list)):
        for item in obj:
            yield from _functions(item, seen, depth + 1)
        return
    for name in getattr(type(obj), "__slots__", ()):
        yield from _functions(getattr(obj, name, None), seen, depth + 1)
    for cls in type(obj).__mro__:
        for name in getattr(cls, "__slots__", ()):
            yield from _functions(getattr(obj, name, None), seen, depth + 1)


def _captured(func):
    """(kind, name, value) for what ``func`` takes from its surroundings."""
    code = func.__code__
    for name, cell in zip(code.co_freevars, func.__closure__ or ()):
        try:
            yield "variable", name, cell.cell_contents
        except ValueError:  # an empty cell
            continue
    for name in code.co_names:
        if name in func.__globals__:
            value = func.__globals__[name]
            if not isinstance(value, types.ModuleType):
                yield "global", name, value
    for value in func.__defaults__ or ():
        yield "default argument", "", value


def _where(func):
    code = func.__code__
    return f"{func.__qualname__} ({code.co_filename}, line {code.co_firstlineno})"


def _find_culprit(func, seen):
    """The innermost (function, kind, name, value, error) that cannot be pickled."""
    for kind, name, value in _captured(func):
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, types.FunctionType):
            found = _find_culprit(value, seen)
            if found:
                return found
            continue
        try:
            cloudpickle.dumps(value, protocol=5)
        except Exception as e:
            return func, kind, name, value, e
    return None


def explain_failure(stage, error):
    """A ClosureError naming the function and captured value behind ``error``."""
    seen = set()
    for func in _functions(stage, set()):
        found = _find_culprit(func, seen)
        if found:
            where, kind, name, value, e = found
            label = f"{kind} {name!r}" if name else kind
            if isinstance(e, ClosureError):
                reason = str(e)
            else:
                reason = f"{type(e).__name__}: {e}"
            return ClosureError(
                f"Could not serialize {_where(where)} to send it to the workers: its "
                f"{label} is a {type(value).__module__}.{type(value).__qualname__} "
                f"object that cannot be pickled ({reason}). Create such objects inside the "
                f"function (or in mapPartitions, once per partition) instead of capturing them."
            )
    return ClosureError(f"Could not serialize the stage to send it to the workers: "
                        f"{type(error).__name__}: {error}")

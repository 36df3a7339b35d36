"""Recognise the few user functions whose work the engine can do without calling them.

Word count is written ``map(lambda w: (w, 1)).reduceByKey(lambda a, b: a + b)``
in most PySpark code.  Calling those two lambdas costs two Python calls per
word, more than the dict update they feed.  When a function's bytecode is
*exactly* one of these shapes, the engine may skip the call:

* ``pair_constant(f)``: ``f`` is ``lambda x: (x, C)`` with a constant ``C``
  (building a pair has no side effect and cannot fail), so a map-side
  combine can take the elements as keys and ``C`` as every value.
* ``is_plain_add(f)``: ``f`` is ``operator.add`` or ``lambda a, b: a + b``;
  the compiled kernels then call ``a + b`` directly (``PyNumber_Add``,
  exactly what the lambda does).  When that raises, the kernels call the
  user's function again so that the error shows the user's line.

Shapes are compared with reference functions compiled by the running
interpreter, so the test holds on every CPython version whatever its
opcodes.  Anything else (defaults, closures, other constants) is simply
called as written.
"""
import dis
import inspect
import operator
import types

__all__ = ["NOT_CONSTANT", "pair_constant", "is_plain_add"]

#: ``pair_constant``'s answer for a function that is not ``lambda x: (x, C)``
NOT_CONSTANT = object()

#: opcodes that do no work (they differ between versions and build modes)
_IGNORED = frozenset({"RESUME", "NOP", "CACHE", "EXTENDED_ARG"})


def _instructions(code):
    return [i for i in dis.get_instructions(code) if i.opname not in _IGNORED]


def _shape(code):
    """The instructions of ``code`` as (opname, arg), constants' indices left out."""
    return [(i.opname, None if i.opname == "LOAD_CONST" else i.arg) for i in _instructions(code)]


def _plain_function(f, nargs):
    """``f`` is a Python function taking exactly ``nargs`` positional arguments."""
    if type(f) is not types.FunctionType:
        return None
    code = f.__code__
    if (code.co_argcount != nargs or code.co_kwonlyargcount
            or code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS)):
        return None
    return code


_PAIR_SHAPE = _shape((lambda x: (x, 0)).__code__)
_ADD_SHAPE = _shape((lambda a, b: a + b).__code__)


def pair_constant(f):
    """``C`` if ``f`` is ``lambda x: (x, C)``, else ``NOT_CONSTANT``."""
    code = _plain_function(f, 1)
    if code is None:
        return NOT_CONSTANT
    if _shape(code) != _PAIR_SHAPE:
        return NOT_CONSTANT
    return next(i.argval for i in _instructions(code) if i.opname == "LOAD_CONST")


def is_plain_add(f):
    """``f(a, b)`` is ``a + b`` and nothing else."""
    if f is operator.add:
        return True
    code = _plain_function(f, 2)
    return code is not None and _shape(code) == _ADD_SHAPE

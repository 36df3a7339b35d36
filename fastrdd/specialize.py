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

* ``contains_operand(f)``: ``f`` is ``lambda s: X in s`` with ``X`` a
  constant or a captured variable (the log-mining query); a filter then
  runs ``X in s`` in C (``_core/iterators``), with the same error fallback.
* ``prefix_operand(f)``: ``f`` is ``lambda s: s.startswith(X)`` (the seed's
  ``lines.filter(lambda s: s.startswith("ERROR"))``); for ``str`` records
  and a ``str`` prefix the filter tests the prefix in C, and calls ``f``
  for anything else.

Shapes are compared with reference functions compiled by the running
interpreter, so the test holds on every CPython version whatever its
opcodes.  Anything else (defaults, closures, other constants) is simply
called as written.
"""
import dis
import functools
import inspect
import operator
import types

__all__ = ["NOT_CONSTANT", "pair_constant", "is_plain_add", "contains_operand", "prefix_operand"]

class _NotConstant:
    """The answer for a function of no recognised shape: one object in every process."""

    def __reduce__(self):
        return "NOT_CONSTANT"  # unpickled as this module's own singleton

    def __repr__(self):
        return "NOT_CONSTANT"


NOT_CONSTANT = _NotConstant()

#: opcodes that do no work (they differ between versions and build modes)
_IGNORED = frozenset({"RESUME", "NOP", "CACHE", "EXTENDED_ARG"})


def _instructions(code):
    return [i for i in dis.get_instructions(code) if i.opname not in _IGNORED]


@functools.lru_cache(maxsize=512)
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


def _captured():
    needle = None
    return lambda s: needle in s


def _captured_prefix():
    prefix = None
    return lambda s: s.startswith(prefix)


_PAIR_SHAPE = _shape((lambda x: (x, 0)).__code__)
_ADD_SHAPE = _shape((lambda a, b: a + b).__code__)
_CONTAINS_CONST_SHAPE = _shape((lambda s: "" in s).__code__)
_CONTAINS_CELL_SHAPE = _shape(_captured().__code__)
_PREFIX_CONST_SHAPE = _shape((lambda s: s.startswith("")).__code__)
_PREFIX_CELL_SHAPE = _shape(_captured_prefix().__code__)


def pair_constant(f):
    """``C`` if ``f`` is ``lambda x: (x, C)``, else ``NOT_CONSTANT``."""
    return _operand(f, _PAIR_SHAPE, None)


def is_plain_add(f):
    """``f(a, b)`` is ``a + b`` and nothing else."""
    if f is operator.add:
        return True
    code = _plain_function(f, 2)
    return code is not None and _shape(code) == _ADD_SHAPE


def contains_operand(f):
    """``X`` if ``f`` is ``lambda s: X in s`` (``X`` constant or captured), else ``NOT_CONSTANT``.

    A captured ``X`` is read now: call this when the filter runs (in the
    task), not when it is defined, since Python closures bind late.
    """
    return _operand(f, _CONTAINS_CONST_SHAPE, _CONTAINS_CELL_SHAPE)


def prefix_operand(f):
    """``X`` if ``f`` is ``lambda s: s.startswith(X)``, else ``NOT_CONSTANT`` (read late too)."""
    # the shape holds the method's name by index only: the name itself is checked too
    return _operand(f, _PREFIX_CONST_SHAPE, _PREFIX_CELL_SHAPE, names=("startswith",))


def _operand(f, const_shape, cell_shape, names=()):
    """The one constant (``const_shape``) or captured value (``cell_shape``) of a
    one-argument ``f`` whose global and attribute names are ``names``."""
    code = _plain_function(f, 1)
    if code is None or code.co_names != names:
        return NOT_CONSTANT
    shape = _shape(code)
    if shape == const_shape:
        return next(i.argval for i in _instructions(code) if i.opname == "LOAD_CONST")
    if shape == cell_shape and f.__closure__ is not None and len(f.__closure__) == 1:
        try:
            return f.__closure__[0].cell_contents
        except ValueError:  # an empty cell: let the call raise NameError as written
            return NOT_CONSTANT
    return NOT_CONSTANT

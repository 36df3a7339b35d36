"""Recognise the few user functions whose work the engine can do without calling them.

Word count is written ``map(lambda w: (w, 1)).reduceByKey(lambda a, b: a + b)``
in most PySpark code.  Calling those two lambdas costs two Python calls per
word, more than the dict update they feed.  When a function's bytecode is
*exactly* one of these shapes, the engine may skip the call:

* ``pair_constant(f)``: ``f`` is ``lambda x: (x, C)`` with a constant ``C``
  (building a pair has no side effect and cannot fail), so a map-side
  combine can take the elements as keys and ``C`` as every value.
* ``identity``: the engine's own ``lambda x: x``, the createCombiner of
  ``reduceByKey``; with a plain add as the merge, a combine may then keep the
  sums in C (``_core.sums.sum_pairs``).
* ``is_plain_add(f)``: ``f`` is ``operator.add`` or ``lambda a, b: a + b``;
  the compiled kernels then call ``a + b`` directly (``PyNumber_Add``,
  exactly what the lambda does) when both operands are of built-in types,
  whose ``+`` runs no user code; for other operands, and where that
  addition raises, they call the user's function, so that nothing user-made
  runs twice and an error shows the user's line.
* ``contains_operand(f)``: ``f`` is ``lambda s: X in s`` with ``X`` a
  constant or a captured variable (the log-mining query); a filter then
  runs ``X in s`` in C (``_core/iterators``) where ``s`` and ``X`` are both
  ``str`` (or both ``bytes``), and calls ``f`` for anything else.
* ``prefix_operand(f)``: ``f`` is ``lambda s: s.startswith(X)`` (the seed's
  ``lines.filter(lambda s: s.startswith("ERROR"))``); for ``str`` records
  and a ``str`` prefix the filter tests the prefix in C, and calls ``f``
  for anything else.

The last two answer with a cell holding ``X``: ``f``'s own closure cell when
``X`` is captured, so that the filter reads ``X`` at each record, as ``f``
does (an earlier function of the same task may assign it).  A global ``X``
is not recognised.

Shapes are compared with reference functions compiled by the running
interpreter, so the test holds on every CPython version whatever its
opcodes; only the instructions that load a constant are told apart by name.
Anything else (defaults, closures, generators, other constants, opcodes
this module does not know) is simply called as written, and so is a
function whose inspection fails in any way.  Only the standard library is
used: ``ci/specialize_pythons.py`` loads this file alone in every Python.
"""
import dis
import functools
import inspect
import operator
import types

__all__ = ["NOT_CONSTANT", "identity", "pair_constant", "is_plain_add", "contains_operand",
           "prefix_operand"]

class _NotConstant:
    """The answer for a function of no recognised shape: one object in every process."""

    def __reduce__(self):
        return "NOT_CONSTANT"  # unpickled as this module's own singleton

    def __repr__(self):
        return "NOT_CONSTANT"


NOT_CONSTANT = _NotConstant()

#: opcodes that do no work (they differ between versions and build modes)
_IGNORED = frozenset({"RESUME", "NOP", "CACHE", "EXTENDED_ARG"})
#: opcodes that push one constant: LOAD_CONST's, or 3.14's small int (its arg)
_CONSTANT_LOADS = frozenset({"LOAD_CONST", "LOAD_SMALL_INT"})
#: code flags of functions that do not simply return their value when called
_UNPLAIN = (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS | inspect.CO_GENERATOR
            | inspect.CO_COROUTINE | inspect.CO_ITERABLE_COROUTINE | inspect.CO_ASYNC_GENERATOR)


def _declining(answer):
    """Make a recogniser answer ``answer`` (not recognised) if inspecting raises:
    a code object this module cannot read costs speed, never a result."""
    def wrap(recogniser):
        @functools.wraps(recogniser)
        def safe(f):
            try:
                return recogniser(f)
            except Exception:
                return answer
        return safe
    return wrap


def _instructions(code):
    return [i for i in dis.get_instructions(code) if i.opname not in _IGNORED]


@functools.lru_cache(maxsize=512)
def _shape(code):
    """The instructions of ``code`` as (opname, arg), constant loads all alike."""
    return tuple(("CONSTANT", None) if i.opname in _CONSTANT_LOADS else (i.opname, i.arg)
                 for i in _instructions(code))


def _the_constant(code):
    """The value pushed by the one constant load of ``code`` (its shape has one)."""
    (load,) = [i for i in _instructions(code) if i.opname in _CONSTANT_LOADS]
    return load.arg if load.opname == "LOAD_SMALL_INT" else load.argval


def _plain_code(f, nargs, names):
    """The code of ``f`` if it is a Python function taking exactly ``nargs``
    positional arguments, returning a plain value, and naming only ``names``."""
    if type(f) is not types.FunctionType:
        return None
    code = f.__code__
    if (code.co_argcount != nargs or code.co_kwonlyargcount or code.co_flags & _UNPLAIN
            or code.co_names != names):
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


@_declining(NOT_CONSTANT)
def pair_constant(f):
    """``C`` if ``f`` is ``lambda x: (x, C)``, else ``NOT_CONSTANT``."""
    code = _plain_code(f, 1, ())
    if code is None or _shape(code) != _PAIR_SHAPE:
        return NOT_CONSTANT
    return _the_constant(code)


def identity(x):
    """``x`` itself: recognised by ``is`` wherever the engine passes it (reduceByKey's
    createCombiner), in every process (it is pickled by reference)."""
    return x


@_declining(False)
def is_plain_add(f):
    """``f(a, b)`` is ``a + b`` and nothing else."""
    if f is operator.add:
        return True
    code = _plain_code(f, 2, ())
    return code is not None and _shape(code) == _ADD_SHAPE


@_declining(NOT_CONSTANT)
def contains_operand(f):
    """A cell holding ``X`` if ``f`` is ``lambda s: X in s`` (``X`` constant or captured),
    else ``NOT_CONSTANT``."""
    return _operand(f, _CONTAINS_CONST_SHAPE, _CONTAINS_CELL_SHAPE, ())


@_declining(NOT_CONSTANT)
def prefix_operand(f):
    """A cell holding ``X`` if ``f`` is ``lambda s: s.startswith(X)``, else ``NOT_CONSTANT``."""
    # the shape holds the method's name by index only: the name itself is checked too
    return _operand(f, _PREFIX_CONST_SHAPE, _PREFIX_CELL_SHAPE, ("startswith",))


def _operand(f, const_shape, cell_shape, names):
    """The cell of the one constant (``const_shape``, a new cell) or captured
    variable (``cell_shape``, ``f``'s own cell) of a one-argument ``f``."""
    code = _plain_code(f, 1, names)
    if code is None:
        return NOT_CONSTANT
    shape = _shape(code)
    if shape == const_shape:
        return types.CellType(_the_constant(code))
    if shape == cell_shape and f.__closure__ is not None and len(f.__closure__) == 1:
        return f.__closure__[0]
    return NOT_CONSTANT

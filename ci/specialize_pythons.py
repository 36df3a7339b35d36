"""Check ``fastrdd/specialize.py`` in every Python 3.9+ that pyenv has.

The recogniser compares bytecode with references compiled by the running
interpreter, so each CPython version is a case of its own (3.11's new
opcodes, 3.13's LOAD_FAST_LOAD_FAST, 3.14's LOAD_SMALL_INT...).  Each
Python loads that one file by path, with no site-packages (``-I -S``): it
must need only the standard library, and fastrdd is not installed there.
The shapes of word count and log mining must be recognised, their near
misses declined, and nothing may raise.  One line per Python; exit 1 if a
check failed.
"""
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODULE = ROOT / "fastrdd" / "specialize.py"
VERSIONS = pathlib.Path(os.environ.get("PYENV_ROOT", pathlib.Path.home() / ".pyenv")) / "versions"

CHECK = r'''
import functools, importlib.util, operator, platform, sys

spec = importlib.util.spec_from_file_location("specialize_alone", sys.argv[1])
sp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sp)
assert not [m for m in sys.modules if m.split(".")[0] == "fastrdd"], "imports fastrdd"
NOT = sp.NOT_CONSTANT
G = "a"


def captured(v):
    return lambda s: v in s


def captured_prefix(v):
    return lambda s: s.startswith(v)


def closure_pair():
    c = 1
    return lambda x: (x, c)


async def async_add(a, b):
    return a + b


def generator_add(a, b):
    if 0:
        yield
    return a + b


async def async_pair(x):
    return (x, 1)


class Adder:
    def __call__(self, a, b):
        return a + b

    def add(self, a, b):
        return a + b


def odd_constant():
    f = lambda s: "odd" in s
    code = f.__code__
    consts = tuple(["odd"] if c == "odd" else c for c in code.co_consts)  # unhashable code
    return type(f)(code.replace(co_consts=consts), {})


def operand(cell):
    return cell if cell is NOT else cell.cell_contents


RECOGNISED = [
    (sp.pair_constant, lambda x: (x, 1), 1), (sp.pair_constant, lambda x: (x, 255), 255),
    (sp.pair_constant, lambda x: (x, 256), 256), (sp.pair_constant, lambda w: (w, "a"), "a"),
    (sp.pair_constant, lambda w: (w, None), None), (sp.pair_constant, lambda w: (w, -3), -3),
    (sp.pair_constant, lambda w: (w, (1, 2)), (1, 2)),
    (sp.is_plain_add, lambda a, b: a + b, True), (sp.is_plain_add, operator.add, True),
    (lambda f: operand(sp.contains_operand(f)), lambda s: "ERROR" in s, "ERROR"),
    (lambda f: operand(sp.contains_operand(f)), lambda s: 7 in s, 7),
    (lambda f: operand(sp.contains_operand(f)), captured(b"x"), b"x"),
    (lambda f: sp.contains_operand(f) is f.__closure__[0], captured("x"), True),
    (lambda f: operand(sp.prefix_operand(f)), lambda s: s.startswith("ERROR"), "ERROR"),
    (lambda f: operand(sp.prefix_operand(f)), captured_prefix("E"), "E"),
]
DECLINED = {
    sp.pair_constant: [lambda x: (x, 1) if x else x, lambda x: (1, x), lambda x: [x, 1],
                       lambda x: (x, []), lambda x, y=1: (x, y), lambda x: (x, G), closure_pair(),
                       async_pair, len, functools.partial(lambda x, c: (x, c), c=1)],
    sp.is_plain_add: [lambda a, b: b + a, lambda a, b: a + b + 1, lambda a, b: a - b, async_add,
                      generator_add, functools.partial(operator.add), Adder(), Adder().add, sum,
                      operator.iadd, None],
    sp.contains_operand: [lambda s: "a" not in s, lambda s: s in "abc", lambda s, t="a": t in s,
                          lambda s: G in s, "abc".__contains__, operator.contains, odd_constant()],
    sp.prefix_operand: [lambda s: s.startswith("a", 1), lambda s: s.endswith("a"),
                        lambda s: not s.startswith("a"), lambda s: s.startswith(G), str.startswith],
}
count = 0
for check, f, expected in RECOGNISED:
    got = check(f)
    assert got == expected and type(got) is type(expected), (check, f, got)
    count += 1
for recogniser, functions in DECLINED.items():
    for f in functions:
        assert recogniser(f) in (NOT, False), (recogniser.__name__, f)
        count += 1
print(platform.python_version(), count)
'''


def pythons():
    """(name, interpreter) of each pyenv version 3.9 or later, oldest first."""
    found = []
    for path in VERSIONS.iterdir():
        m = re.match(r"3\.(\d+)\.(\d+)", path.name)
        if m and int(m.group(1)) >= 9:
            found.append(((int(m.group(1)), int(m.group(2))), path.name, path / "bin" / "python"))
    return [(name, python) for _, name, python in sorted(found)]


def main():
    if not VERSIONS.is_dir():
        print("skipped: pyenv not found")
        return 0
    found = pythons()
    if not found:
        print(f"skipped: no Python 3.9 or later in {VERSIONS}")
        return 0
    failed = 0
    for name, python in found:
        try:
            run = subprocess.run([str(python), "-I", "-S", "-c", CHECK, str(MODULE)],
                                 capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            print(f"{name}: FAILED: {e}")
            failed += 1
            continue
        if run.returncode:
            lines = run.stderr.strip().splitlines() or [f"exit code {run.returncode}"]
            print(f"{name}: FAILED: {lines[-1]}")
            failed += 1
        else:
            version, count = run.stdout.split()
            print(f"{version}: {count} checks ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

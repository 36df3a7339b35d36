"""The compiled modules and their twins are chosen in one place."""
import os
import subprocess
import sys

from fastrdd import _impl

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_compiled_modules_are_used_unless_forced():
    for compiled, twin, names in [("fastrdd._shuffle", "fastrdd._shuffle_py", _impl.SHUFFLE_API),
                                  ("fastrdd._serde", "fastrdd._serde_py", _impl.SERDE_API)]:
        chosen = _impl.load(compiled, twin, names)
        # CI installs with a compiler: a silent fallback would hide a broken build
        assert chosen.__name__ == (twin if _impl.want_pure() else compiled)


def implementation_in_task(_):
    import sys

    from fastrdd import _impl as impl

    return dict(impl.IMPLEMENTATION), "fastrdd._shuffle" in sys.modules


def test_purepython_setting_switches_the_driver_and_the_workers(fresh):
    sc = fresh("local[2]", pure=True)
    twins = {"shuffle": "fastrdd._shuffle_py", "serde": "fastrdd._serde_py",
             "blockstore": "fastrdd._core.blockstore_py", "iterators": "fastrdd._core.iterators_py",
             "sums": "fastrdd._core.sums_py"}
    assert _impl.IMPLEMENTATION == twins
    for loaded, compiled_imported in sc.parallelize(range(4), 4).map(implementation_in_task).collect():
        assert loaded == twins and not compiled_imported
    assert sorted(sc.parallelize(["b", "a", "b"]).map(lambda w: (w, 1))
                  .reduceByKey(lambda x, y: x + y).collect()) == [("a", 1), ("b", 2)]
    if not _impl.want_pure():
        compiled = fresh("local[1]")
        assert _impl.COMPILED, _impl.IMPLEMENTATION
        loaded, _ = compiled.parallelize([0], 1).map(implementation_in_task).collect()[0]
        assert loaded["shuffle"] == "fastrdd._shuffle"


def test_env_variable_forces_the_twins_and_jobs_still_run():
    code = ("from fastrdd import _impl, SparkContext\n"
            "assert not _impl.COMPILED, _impl.IMPLEMENTATION\n"
            "with SparkContext('local[2]', 'pure') as sc:\n"
            "    print(sorted(sc.parallelize([('a', 1), ('b', 2), ('a', 3)], 2)"
            ".reduceByKey(lambda x, y: x + y).collect()))\n")
    env = dict(os.environ, FASTRDD_PUREPYTHON="1", PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[('a', 4), ('b', 2)]"


def test_twins_have_the_same_public_names():
    pairs = [("fastrdd._shuffle", "fastrdd._shuffle_py", _impl.SHUFFLE_API),
             ("fastrdd._serde", "fastrdd._serde_py", _impl.SERDE_API),
             ("fastrdd._core.blockstore", "fastrdd._core.blockstore_py", _impl.BLOCKSTORE_API)]
    for compiled, twin, names in pairs:
        a = _impl.load(compiled, twin, names, pure=False)
        b = _impl.load(compiled, twin, names, pure=True)
        assert b.__name__ == twin
        for name in names:
            assert hasattr(a, name) and hasattr(b, name)

"""ci/layers.py: the package has no import cycle, and the checker finds one when there is."""
import importlib.util
import pathlib
import shutil

ROOT = pathlib.Path(__file__).resolve().parent.parent


def load_checker():
    spec = importlib.util.spec_from_file_location("layers", ROOT / "ci" / "layers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_package_is_layered():
    assert load_checker().check() == []


def copy_package(tmp_path):
    target = tmp_path / "fastrdd"
    shutil.copytree(ROOT / "fastrdd", target, ignore=shutil.ignore_patterns("*.so", "*.c", "__pycache__"))
    return target


def test_an_upward_import_and_a_cycle_are_reported(tmp_path):
    layers = load_checker()
    package = copy_package(tmp_path)
    runtime = package / "worker" / "runtime.py"
    # a function-local import counts as much as a module-level one
    runtime.write_text(runtime.read_text() + "\n\ndef _peek():\n    from fastrdd.scheduler import dag\n")
    assert "layering: fastrdd.worker.runtime imports fastrdd.scheduler.dag" in layers.check(package)
    spill = package / "storage" / "spill.py"  # shuffle.writer imports it: a cycle
    spill.write_text(spill.read_text() + "\n\ndef _peek():\n    from fastrdd.shuffle import writer\n")
    errors = layers.check(package)
    assert any(e.startswith("import cycle:") and "fastrdd.storage.spill" in e
               and "fastrdd.shuffle.writer" in e for e in errors)


def test_naming_a_transport_outside_the_factory_is_reported(tmp_path):
    layers = load_checker()
    package = copy_package(tmp_path)
    context = package / "context.py"
    context.write_text(context.read_text() + "\nfrom fastrdd.local.backend import LocalBackend\n")
    assert any("fastrdd.context names a transport" in e for e in layers.check(package))

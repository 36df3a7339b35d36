"""Fail on an import cycle inside fastrdd, or on an import that breaks the layering.

Every import counts, at module level or inside a function: a cycle hidden
in a function body is still a cycle.  The layers (README, "How the engine
works") only point down:

* ``worker/`` (the task runtime) never imports the RDD API, the scheduler,
  the context or a transport;
* ``shuffle/``, ``storage/`` and ``io/`` import none of those nor
  ``worker/``; ``storage/`` does not import ``shuffle/``;
* the scheduler never imports the worker runtime, the RDD API or a
  transport: it drives the backend contract;
* only ``fastrdd.masters`` names a transport (``local/``, ``cluster/``),
  besides the transports themselves;
* ``ui/`` reads the event stream and the status registry only.
"""
import ast
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent / "fastrdd"

#: (importer prefix, imported prefixes it must not import, unless the importer is in the exception)
RULES = [
    ("fastrdd.worker", ("fastrdd.rdd", "fastrdd.scheduler", "fastrdd.context", "fastrdd.local",
                        "fastrdd.cluster", "fastrdd.masters", "fastrdd.ui")),
    ("fastrdd.shuffle", ("fastrdd.rdd", "fastrdd.scheduler", "fastrdd.context", "fastrdd.local",
                         "fastrdd.cluster", "fastrdd.masters", "fastrdd.worker", "fastrdd.ui")),
    ("fastrdd.storage", ("fastrdd.rdd", "fastrdd.scheduler", "fastrdd.context", "fastrdd.local",
                         "fastrdd.cluster", "fastrdd.masters", "fastrdd.worker", "fastrdd.shuffle",
                         "fastrdd.ui")),
    ("fastrdd.io", ("fastrdd.rdd", "fastrdd.scheduler", "fastrdd.context", "fastrdd.local",
                    "fastrdd.cluster", "fastrdd.masters", "fastrdd.worker", "fastrdd.ui")),
    ("fastrdd.scheduler", ("fastrdd.worker", "fastrdd.rdd", "fastrdd.context", "fastrdd.local",
                           "fastrdd.cluster", "fastrdd.masters", "fastrdd.ui")),
]
TRANSPORTS = ("fastrdd.local", "fastrdd.cluster")
UI_MAY_READ = ("fastrdd.scheduler", "fastrdd.scheduler.events", "fastrdd.scheduler.status")


def module_name(path, root=ROOT):
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path, name, modules):
    """The fastrdd modules ``path`` imports (resolving ``from X import submodule``)."""
    is_pkg = path.name == "__init__.py"
    package = name if is_pkg else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                       for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def is_under(name, prefix):
    return name == prefix or name.startswith(prefix + ".")


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def check(root=ROOT):
    """The list of problems found in the package at ``root`` (empty: all is well)."""
    paths = {module_name(p, root): p for p in root.rglob("*.py")}
    modules = set(paths)
    graph = {name: imports_of(path, name, modules) for name, path in paths.items()}
    # a package's __init__ is imported with any of its modules: an edge to
    # a submodule implies one to its package
    for name in list(graph):
        for target in list(graph[name]):
            parent = target.rpartition(".")[0]
            while parent and parent != "fastrdd":
                if parent in modules and not is_under(name, parent):
                    graph[name].add(parent)
                parent = parent.rpartition(".")[0]
    errors = []
    for component in cycles(graph):
        errors.append("import cycle: " + " -> ".join(component))
    for name, targets in sorted(graph.items()):
        for target in sorted(targets):
            for prefix, banned in RULES:
                if is_under(name, prefix) and any(is_under(target, b) for b in banned):
                    errors.append(f"layering: {name} imports {target}")
            if any(is_under(target, t) for t in TRANSPORTS) and not (
                    name == "fastrdd.masters" or any(is_under(name, t) for t in TRANSPORTS)):
                errors.append(f"layering: {name} names a transport ({target}); only "
                              f"fastrdd.masters may")
            if is_under(name, "fastrdd.ui") and is_under(target, "fastrdd.scheduler") and \
                    target not in UI_MAY_READ:
                errors.append(f"layering: {name} reads scheduler internals ({target})")
    return errors


def main():
    errors = check()
    if errors:
        print("\n".join(errors))
        return 1
    print("layers ok: no import cycle, every import points down")
    return 0


if __name__ == "__main__":
    sys.exit(main())

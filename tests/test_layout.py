"""The shape of the code: no import cycle, between modules or between areas, and myapp.aio on its own.

Imports are read from the source (ast), not by importing it: a cycle that Python happens to
tolerate at run time, because of the order things are imported in, fails here all the same.
"""

import ast
import pathlib

import myapp

ROOT = pathlib.Path(myapp.__file__).parent
SKIP = ("myapp.startproject.template", "myapp.alembic.versions")


def module_name(path):
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules():
    """{module name: path} of every module of myapp (migrations and the project template aside)."""
    found = {}
    for path in ROOT.rglob("*.py"):
        name = module_name(path)
        if not name.startswith(SKIP):
            found[name] = path
    return found


def imports(name, path, known):
    """The myapp modules that ``name`` imports, each with the packages Python runs on the way to it."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            base = f"{base}.{node.module}" if node.level and node.module else base if node.level else node.module
            # "from . import x" imports the module x when there is one, else a name of the package
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            parts = target.split(".")
            for n in range(1, len(parts) + 1):
                step = ".".join(parts[:n])
                # the packages on the way in are imported too, but never count the importer's own parents
                if step in known and step != name and not name.startswith(step + "."):
                    found.add(step)
    return found


def graph():
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def cycles(edges):
    """The strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for other in edges.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.add(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def area(name):
    return ".".join(name.split(".")[:2])


def test_no_module_imports_itself_through_others():
    assert cycles(graph()) == []


def test_no_area_imports_itself_through_others():
    edges = {}
    for name, targets in graph().items():
        edges.setdefault(area(name), set()).update(area(t) for t in targets if area(t) != area(name))
    assert cycles(edges) == []


def test_checks_import_nothing_of_the_areas_above_them():
    """Running and recording checks is below what a user edits (monitors) and what hears of flips and checks
    (alerts, ops: config.add_flip_listener, add_check_listener): hooks, not imports."""
    above = {"myapp.monitors", "myapp.alerts", "myapp.ops", "myapp.status_pages", "myapp.manifest"}
    checks = {n: t for n, t in graph().items() if area(n) == "myapp.checks"}
    assert checks and not [(n, t) for n, ts in checks.items() for t in ts if area(t) in above]


def test_monitors_import_nothing_of_alerts():
    """Alerts hear of monitors' flips through a hook (config.add_flip_listener), not an import."""
    monitors = {n: t for n, t in graph().items() if area(n) == "myapp.monitors"}
    assert monitors and not [(n, t) for n, ts in monitors.items() for t in ts if area(t) == "myapp.alerts"]


def test_the_adapter_imports_nothing_of_the_rest_of_myapp():
    aio = {n: t for n, t in graph().items() if area(n) == "myapp.aio"}
    assert aio and not [(n, t) for n, ts in aio.items() for t in ts if area(t) != "myapp.aio"]


def test_a_cycle_is_found():
    """The checks above can fail: two modules that import each other are a cycle."""
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]

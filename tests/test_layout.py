"""The package's layout: layers that import only downward, no import circles, small modules and functions.

Each layer may import its own modules and those of layers before it in LAYERS; the foundation modules
(clock, durations, errors, mention, sanitize, textmatch) import nothing of ours but each other.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "monitor"
# Lowest first: a module may import from its own layer and the layers before it.
LAYERS = [
    (
        "monitor.clock",
        "monitor.durations",
        "monitor.errors",
        "monitor.mention",
        "monitor.sanitize",
        "monitor.textmatch",
        "monitor.wording",
    ),
    ("monitor.config",),
    ("monitor.sentiment",),
    ("monitor.store",),
    ("monitor.sources",),
    ("monitor.rules",),
    ("monitor.loading",),
    ("monitor.alerts",),
    ("monitor.engine",),
    ("monitor.slack",),
    ("monitor.service",),
    ("monitor.demo",),
    ("monitor.commands",),
    ("monitor.__main__",),
]
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(path: Path, known: dict[str, Path]) -> Iterator[tuple[int, str]]:
    """(line, module) for every import of one of ours, at any depth of the module (inside functions too)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("monitor"):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                yield node.lineno, full if full in known else node.module
        elif isinstance(node, ast.Import):
            yield from ((node.lineno, a.name) for a in node.names if a.name.startswith("monitor"))


def layer_of(module: str) -> int:
    for index, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return index
    return -1  # the package itself (monitor/__init__.py): its version only


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: {m for _, m in imports(path, known) if m != name} for name, path in known.items()}


def test_every_module_has_a_layer() -> None:
    assert [name for name in modules() if name != "monitor" and layer_of(name) < 0] == []


def test_no_import_reaches_up_a_layer() -> None:
    known = modules()
    wrong = []
    for name, path in known.items():
        for line, imported in imports(path, known):
            if imported != "monitor" and layer_of(imported) > layer_of(name):
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {name} imports {imported}")
    assert wrong == [], "\n".join(wrong)


def circles(edges: dict[str, set[str]]) -> list[str]:
    """Every import circle found by a depth-first walk, as "a -> b -> a"."""
    found, done, path = [], set(), []

    def visit(node: str) -> None:
        if node in path:
            found.append(" -> ".join([*path[path.index(node) :], node]))
            return
        if node in done:
            return
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt in edges:
                visit(nxt)
        path.pop()
        done.add(node)

    for node in sorted(edges):
        visit(node)
    return found


def test_no_import_circles() -> None:
    found = circles(graph())
    assert found == [], "\n".join(found)


def test_the_guard_sees_a_circle_and_an_upward_import() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a -> b -> c -> a"]
    assert circles({"a": {"b"}, "b": set()}) == []
    assert layer_of("monitor.store.mentions") < layer_of("monitor.engine.filters")
    assert layer_of("monitor.config.load") < layer_of("monitor.sources.x") < layer_of("monitor.service.daemon")


@pytest.mark.parametrize("name", sorted(modules()))
def test_modules_and_functions_are_small(name: str) -> None:
    path = modules()[name]
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_MODULE_LINES, f"{path} has {len(text.splitlines())} lines"
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == [], f"{path}: {', '.join(long)}"


def test_each_package_says_what_it_owns_and_may_import() -> None:
    for init in PACKAGE.rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert "import" in doc.lower(), f"{init}: say what the package owns and what it may import"

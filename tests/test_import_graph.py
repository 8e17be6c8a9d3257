"""The modules of chalicelib (and app.py) import each other without circles.

Every module is parsed with `ast` (nothing is imported), every import statement in it is read
(also those inside functions, which only hide a circle until the function runs), and those that
name a module of the package become edges. A cycle fails the test with the path that closes it.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "chalicelib"


def module_files() -> dict[str, Path]:
    files = {"app": ROOT / "app.py"}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        files[".".join(parts)] = path
    return files


def _is_package(name: str, files: dict[str, Path]) -> bool:
    return files[name].name == "__init__.py"


def _resolve(name: str, files: dict[str, Path]) -> str | None:
    """The longest known module that `name` is or lies inside (a.b.func -> a.b)."""
    while name:
        if name in files:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str, files: dict[str, Path]) -> set[str]:
    tree = ast.parse(files[module].read_text(encoding="utf-8"), filename=str(files[module]))
    package = module if _is_package(module, files) else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import mod` imports pkg.mod when it is a module; otherwise pkg itself.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else base
                       for alias in node.names]
        else:
            continue
        for target in targets:
            resolved = _resolve(target, files)
            if resolved and resolved != module:
                found.add(resolved)
    return found


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    return {module: imports_of(module, files) for module in files}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle as a list of modules (first == last), or None. Iterative depth-first search."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in sorted(graph):
        if state.get(start):
            continue
        path, stack = [start], [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


def test_the_import_graph_has_no_cycles():
    graph = import_graph()
    assert len(graph) > 50 and "chalicelib.render.pipeline" in graph["chalicelib.services.render"]
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_function_level_and_relative_imports_are_edges(tmp_path, monkeypatch):
    pkg = tmp_path / PACKAGE
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "a.py").write_text("def f():\n    from chalicelib.sub import b\n")
    (pkg / "sub" / "b.py").write_text("from .a import f\n")
    (tmp_path / "app.py").write_text("import chalicelib.sub.a\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    graph = import_graph()
    assert graph["chalicelib.sub.a"] == {"chalicelib.sub.b"}
    assert graph["chalicelib.sub.b"] == {"chalicelib.sub.a"}
    assert find_cycle(graph) in (["chalicelib.sub.a", "chalicelib.sub.b", "chalicelib.sub.a"],
                                 ["chalicelib.sub.b", "chalicelib.sub.a", "chalicelib.sub.b"])


@pytest.mark.parametrize("graph, expected", [
    ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
])
def test_find_cycle(graph, expected):
    assert find_cycle(graph) == expected

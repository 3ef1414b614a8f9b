"""The package's layout keeps its layers: no import circle anywhere, no module or class too big to read.

Imports are read with ``ast`` from the source: module-level, function-level and ``if TYPE_CHECKING:`` alike. A
circle hidden in a function body, or one that only type hints close, still ties two modules both ways.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "aci_widgets"
PACKAGE = "aci_widgets"
MAX_MODULE_LINES = 620
MAX_CLASS_LINES = 320


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE_ROOT.rglob("*.py"))}


def _imported_names(tree: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    """Every module of the package that ``module`` imports, wherever the import statement stands."""
    found: set[str] = set()
    base = module.split(".") if is_package else module.split(".")[:-1]

    def resolve(target: str) -> str | None:
        # "from .x import y" may name a module (x.y) or a name inside x: take the longest known module.
        while target and target not in known:
            target = target.rpartition(".")[0]
        return target or None

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] == PACKAGE:
                        hit = resolve(alias.name)
                        if hit:
                            found.add(hit)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    anchor = base[: len(base) - (child.level - 1)]
                    prefix = ".".join(anchor + ([child.module] if child.module else []))
                else:
                    prefix = child.module or ""
                if prefix.split(".")[0] != PACKAGE:
                    continue
                for alias in child.names:
                    hit = resolve(f"{prefix}.{alias.name}")
                    if hit:
                        found.add(hit)
            visit(child)

    visit(tree)
    found.discard(module)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        edges = _imported_names(tree, name, path.name == "__init__.py", known)
        # Importing "a.b.c" runs a/__init__ and a/b/__init__ too, but a package's __init__ importing its own
        # children is the normal direction, so only the named module counts as the edge.
        graph[name] = edges
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative enough for this size)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def strong(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                strong(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            strong(node)
    return cycles




def test_the_graph_sees_function_level_imports() -> None:
    tree = ast.parse("def f():\n    from .b import thing\n")
    assert _imported_names(tree, "aci_widgets.a", False, {"aci_widgets.a", "aci_widgets.b"}) == {"aci_widgets.b"}


def test_the_cycle_finder_finds_a_circle() -> None:
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_under_the_package() -> None:
    cycles = find_cycles(import_graph())
    assert cycles == [], "import circles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_no_module_too_long() -> None:
    long = {name: len(path.read_text().splitlines()) for name, path in _modules().items()}
    too_long = {name: lines for name, lines in long.items() if lines > MAX_MODULE_LINES}
    assert too_long == {}, f"modules over {MAX_MODULE_LINES} lines: {too_long}"


def test_no_class_too_long() -> None:
    too_long: dict[str, int] = {}
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_CLASS_LINES:
                    too_long[f"{name}.{node.name}"] = lines
    assert too_long == {}, f"classes over {MAX_CLASS_LINES} lines: {too_long}"

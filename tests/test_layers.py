"""The direction of imports between the project's packages (DESIGN §1): each package imports
only the packages below it, and the dashboard none but its own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ALLOWED = {
    "graph": set(),
    "ingest": {"graph"},
    "queries": {"graph"},
    "api": {"queries", "ingest", "graph"},
    "dashboard": set(),
    "lotgraph": {"api", "queries", "ingest", "graph", "dashboard"},
}


def _project_imports(path: Path) -> set[tuple[str, int]]:
    """``(package, line)`` of every import of a project package in one module (also the
    imports inside functions)."""
    found: set[tuple[str, int]] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in ALLOWED:
                found.add((top, node.lineno))
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_down(package: str) -> None:
    modules = sorted((REPO / package).rglob("*.py"))
    assert modules, f"no modules under {package}/"
    wrong = [
        f"{module.relative_to(REPO)}:{line} imports {imported}"
        for module in modules
        for imported, line in sorted(_project_imports(module))
        if imported != package and imported not in ALLOWED[package]
    ]
    assert not wrong, "\n".join(wrong)


STORE_MODULES = {"graph.embedded", "graph.neo4j_store"}


@pytest.mark.parametrize("package", ["queries", "api"])
def test_investigations_and_api_reach_stores_only_through_their_interface(package: str) -> None:
    """Issue 16: no module of queries/ or api/ imports a store's own module, so none reads
    its tables or sessions or branches on its type; they use ``graph.store.GraphStore``."""
    wrong = []
    for module in sorted((REPO / package).rglob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            wrong += [
                f"{module.relative_to(REPO)}:{node.lineno} imports {n}"
                for n in names
                if n in STORE_MODULES
            ]
    assert not wrong, "\n".join(wrong)

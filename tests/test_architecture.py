"""Data flows one way: loaders and revisions never import the store or the surfaces."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LEAVES = {"kb.model", "kb.dates", "kb.errors"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_pure_stages_import_only_the_model():
    for package in ("loaders", "revisions"):
        for path in (ROOT / package).glob("*.py"):
            project = {m for m in _imports(path) if m.split(".")[0] == "kb"}
            assert project <= LEAVES, f"{path.name} imports {project - LEAVES}"
    for leaf in ("model", "dates", "errors"):
        project = {m for m in _imports(ROOT / "kb" / f"{leaf}.py") if m.split(".")[0] in ("kb", "loaders", "revisions")}
        assert project <= LEAVES, f"kb/{leaf}.py imports {project - LEAVES}"


def test_revisions_do_not_import_loaders():
    for path in (ROOT / "revisions").glob("*.py"):
        assert not any(m.startswith("loaders") for m in _imports(path)), path.name


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_import_cycles():
    modules = {_module(p): p for package in ("kb", "loaders", "revisions") for p in (ROOT / package).rglob("*.py")}
    graph = {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for target in graph[name]:
            assert state.get(target) != "open", f"import cycle: {' -> '.join([*trail, name, target])}"
            if target not in state:
                visit(target, [*trail, name])
        state[name] = "done"

    for name in graph:
        if name not in state:
            visit(name, [])


def test_queries_do_not_import_surfaces():
    surfaces = {"kb.cli", "kb.api", "kb.site", "kb.reports", "kb.export", "kb.bench"}
    queries = ("asof", "diff", "audit", "evaluate", "ruleset", "outcomes", "conditions", "compiled", "facts", "store")
    paths = [ROOT / "kb" / f"{query}.py" for query in queries]
    paths += sorted((ROOT / "kb" / "predicates").glob("*.py")) + sorted((ROOT / "kb" / "concepts").glob("*.py"))
    for path in paths:
        imported = _imports(path) & surfaces
        assert not imported, f"{path.relative_to(ROOT)} imports {imported}"

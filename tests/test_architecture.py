"""Data flows one way, and the tree shows it: each package imports only the packages before it.

    loaders, revisions (pure)  ->  kb.concepts  ->  kb.predicates  ->  kb.store
        ->  kb.history | kb.decide  ->  kb.surfaces  ->  kb.bench, kb.reliability  ->  kb.surfaces.cli

``kb.model``, ``kb.dates`` and ``kb.errors`` are the leaves everyone imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LEAVES = ("kb.model", "kb.dates", "kb.errors")
LAYERS: list[tuple[str, ...]] = [
    LEAVES,
    ("loaders", "revisions"),
    ("kb.concepts",),
    ("kb.predicates",),
    ("kb.store",),
    ("kb.history", "kb.decide"),
    ("kb.surfaces",),
    ("kb.bench", "kb.reliability"),
    ("kb.surfaces.cli",),
]
SIBLINGS_APART = {("revisions", "loaders"), ("loaders", "revisions"), ("kb.history", "kb.decide"), ("kb.decide", "kb.history")}
"""Packages of one layer that must not import each other."""
KB_MODULES = {"__init__", "__main__", *(leaf.split(".")[1] for leaf in LEAVES)}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package(module: str) -> str | None:
    """The layered package a module belongs to (``kb.store.asof`` -> ``kb.store``; the longest that
    holds it), or None."""
    holding = [p for layer in LAYERS for p in layer if module == p or module.startswith(p + ".")]
    return max(holding, key=len, default=None)


def _layer(package: str) -> int:
    return next(index for index, layer in enumerate(LAYERS) if package in layer)


MODULES = {_module(p): p for package in ("kb", "loaders", "revisions") for p in (ROOT / package).rglob("*.py")}


def test_every_module_belongs_to_a_layer():
    unplaced = sorted(name for name in MODULES if name not in ("kb", "kb.__main__") and _package(name) is None)
    assert not unplaced, f"modules outside the layered packages: {unplaced}"


def test_imports_run_with_the_flow():
    against = []
    for name, path in MODULES.items():
        own = _package(name)
        if own is None:
            continue
        for imported in _imports(path):
            target = _package(imported)
            if target is None or target == own:
                continue
            if _layer(target) > _layer(own) or (own, target) in SIBLINGS_APART:
                against.append(f"{name} imports {imported}")
    assert not against, "imports against the flow:\n" + "\n".join(sorted(against))


def test_the_leaves_and_the_pure_stages_import_only_leaves():
    for name, path in MODULES.items():
        if _package(name) in (*LEAVES, "loaders", "revisions"):
            project = {m for m in _imports(path) if _package(m) and _package(m) not in ("loaders", "revisions")}
            assert {_package(m) for m in project} <= set(LEAVES), f"{name} imports {project}"


def test_kb_holds_packages_and_a_few_leaf_modules():
    direct = {path.stem for path in (ROOT / "kb").glob("*.py")}
    assert direct == KB_MODULES, f"modules directly in kb/ beyond the leaves: {sorted(direct - KB_MODULES)}"
    for package in sorted(p for p in (ROOT / "kb").iterdir() if p.is_dir() and any(p.glob("*.py"))):
        init = package / "__init__.py"
        assert init.is_file() and ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))), (
            f"kb/{package.name}/__init__.py must say what the package holds and may import"
        )


def test_no_module_over_500_lines():
    long = {name: n for name, path in MODULES.items() if (n := len(path.read_text(encoding="utf-8").splitlines())) > 500}
    assert not long, f"modules over 500 lines: {long}"


def test_no_import_cycles():
    graph = {name: {m for m in _imports(path) if m in MODULES and m != name} for name, path in MODULES.items()}
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


def test_dates_given_as_text_are_parsed_at_the_edge():
    """The store, the history and the evaluator take dates and timestamps as types: none of them
    imports the factories that read user text (``kb.dates.to_date``, ``to_timestamp``)."""
    edge = {"kb.dates.to_date", "kb.dates.to_timestamp"}
    inner = ("kb.store", "kb.history", "kb.decide")
    parsing = {name: _imports(path) & edge for name, path in MODULES.items() if _package(name) in inner}
    assert not any(parsing.values()), {name: found for name, found in parsing.items() if found}

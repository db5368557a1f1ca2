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

"""A version's criteria as a tree: rows by item_id, label paths as the version prints them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


class CriteriaTree:
    """A version's criteria by item_id, with label paths as the version numbers them."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = {row["item_id"]: row for row in rows}
        self.children: dict[str | None, list[dict[str, Any]]] = {}
        for row in sorted(rows, key=lambda r: r["position"]):
            self.children.setdefault(row["parent_id"], []).append(row)

    def where(self, item_id: str) -> str:
        labels: list[str] = []
        row: dict[str, Any] | None = self.rows[item_id]
        while row is not None:
            labels.append(row["label"].rstrip(".)"))
            row = self.rows.get(row["parent_id"]) if row["parent_id"] else None
        return ".".join([self.rows[item_id]["section"], *reversed(labels)])

    def outline(self, parent: str | None = None, depth: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(depth, row)`` in reading order: section I before II, items by position."""
        rows = self.children.get(parent, [])
        if parent is None:
            rows = sorted(rows, key=lambda r: (r["section"], r["indication"]))
        for row in rows:
            yield depth, row
            yield from self.outline(row["item_id"], depth + 1)

    def subtree(self, item_id: str, depth: int = 0) -> Iterator[str]:
        for row in self.children.get(item_id, []):
            yield f"{'  ' * depth}{row['label']} {row['text'] if row['text'] is not None else '[unknown]'}"
            yield from self.subtree(row["item_id"], depth + 1)

    def descendants(self, item_id: str) -> set[str]:
        found: set[str] = set()
        for row in self.children.get(item_id, []):
            found |= {row["item_id"], *self.descendants(row["item_id"])}
        return found

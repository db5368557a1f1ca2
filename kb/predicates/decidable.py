"""Which indications no request can meet without clinical review.

A criteria set (an indication of section I or II) that every approval must take through a
reviewer holds a mandatory review: whatever the facts say, its result stays unknown or false
until a person decides. This module finds such sets over the newest versions, from the stored
predicates, by asking of each item what it *can* be with every review left undecided: met,
not met, both (facts decide) or neither (only a reviewer does). Items combine as the evaluator
combines them (all / any / none / at least N; "If X, Y" by where it stands; a footnote binds
its item, an exemption frees it); facts are taken as free, so the answer is what the criteria's
form allows, not what a given request shows. ``kb load`` prints the sets found, each with the
criteria left to review and their reasons (``coverage.REVIEW_SQL`` lists every one).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from kb.predicates.language import Predicate, needs_review

Possible = tuple[bool, bool]
"""(can be met, can be not met) with every clinical review left undecided."""

LIVE_SQL = """
SELECT policy_id, item_id, parent_id, section, text, logic, logic_count, predicate, footnote_predicate
FROM criterion WHERE superseded_at IS NULL AND valid_to IS NULL ORDER BY policy_id, position, id
"""
UNDECIDED: Possible = (False, False)


@dataclass(frozen=True)
class Blocked:
    """A criteria set no request can meet without review, and the reviews it holds (item, reason)."""

    policy_id: str
    item_id: str
    text: str | None
    reviews: tuple[tuple[str, str], ...]


def combine(logic: str, parts: list[Possible], count: int | None = None) -> Possible:
    """What a list can be, from what its items can be."""
    met, unmet = [p[0] for p in parts], [p[1] for p in parts]
    if logic == "any":
        return any(met), all(unmet) and bool(parts)
    if logic == "none":
        return all(unmet), any(met)
    if logic == "at_least":
        needed = count or 1
        return sum(met) >= needed, sum(unmet) > len(parts) - needed
    return all(met), any(unmet)


class Walk:
    """One policy's criteria rows as a tree, walked for what each item can be."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = {row["item_id"]: row for row in rows}
        self.children: dict[str | None, list[str]] = {}
        for row in rows:
            self.children.setdefault(row["parent_id"], []).append(row["item_id"])

    def node(self, item: str) -> Possible:
        row = self.rows[item]
        body = self.predicate(json.loads(row["predicate"]), "all", item)
        footnote = json.loads(row["footnote_predicate"]) if row["footnote_predicate"] else None
        if footnote is None or footnote["op"] == "note":
            return body
        if footnote["op"] == "unless":
            return combine("any", [body, self.predicate(footnote["cond"], "all", item)])
        return combine("all", [body, self.predicate(footnote, "all", item)])

    def predicate(self, p: Predicate, context: str, item: str) -> Possible:
        op = p["op"]
        if "fact" in p:
            return True, True
        if op == "children":
            row = self.rows[item]
            parts = [self.node(child) for child in self.children.get(item, [])]
            return combine(row["logic"] or "all", parts, row["logic_count"])
        if op in ("all", "any", "at_least"):
            return combine(op, [self.predicate(a, op, item) for a in p["args"]], p.get("count"))
        if op == "not":
            met, unmet = self.predicate(p["arg"], "all", item)
            return unmet, met
        if op == "if":
            cond, then = self.predicate(p["cond"], "all", item), self.predicate(p["then"], context, item)
            if context == "all":
                return cond[1] or then[0], cond[0] and then[1]
            return cond[0] and then[0], cond[1] or then[1]
        return (False, True) if op == "never" else UNDECIDED

    def reviews(self, item: str) -> list[tuple[str, str]]:
        """The items under (and including) ``item`` that need review, with their reasons."""
        row = self.rows[item]
        found = [
            (item, reason)
            for column in ("predicate", "footnote_predicate")
            if row[column] and needs_review(predicate := json.loads(row[column]))
            for reason in _reasons(predicate)
        ]
        for child in self.children.get(item, []):
            found += self.reviews(child)
        return found


def _reasons(p: Predicate) -> list[str]:
    if p["op"] == "review":
        return [p["reason"]]
    nested = [*p.get("args", []), *(p[k] for k in ("arg", "cond", "then") if k in p)]
    return [reason for arg in nested for reason in _reasons(arg)]


def blocked(connection: sqlite3.Connection) -> list[Blocked]:
    """The criteria sets of sections I and II (newest versions) no request can meet without review."""
    by_policy: dict[str, list[dict[str, Any]]] = {}
    for row in connection.execute(LIVE_SQL):
        by_policy.setdefault(row["policy_id"], []).append(dict(row))
    found = []
    for policy_id, rows in by_policy.items():
        walk = Walk(rows)
        for item in walk.children.get(None, []):
            row = walk.rows[item]
            if row["section"] not in ("I", "II") or '"refer"' in (row["predicate"] or ""):
                continue
            if not walk.node(item)[0] and (reviews := walk.reviews(item)):
                found.append(Blocked(policy_id, item, row["text"], tuple(reviews)))
    return found

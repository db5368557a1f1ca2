"""The change data's citations, checked against the log: does each operation cite a clause
that speaks of what it changes, and does each unknown rest on the revision that made it so?"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from kb.history.diff import Diff
from kb.history.wording import change_name, mentions, names_scope
from kb.model import in_scope
from revisions.clauses import CATEGORY_TABLES, read_clause

KIND_WIDE = frozenset({"reference", "code"})
"""Kinds a clause reviews as a whole ("references reviewed and updated")."""


@dataclass
class CitationFinding:
    """An operation of the change data (or an unknown it left) that does not fit the log."""

    revision_date: str
    source: str
    change: str
    cited: int
    reason: str


def _opposite(action: str) -> str | None:
    return {"remove": "after", "insert": "before"}.get(action)


def _cite_problem(op: dict[str, Any], clause: dict[str, Any] | None, step: Diff, counts: Counter[str]) -> str | None:
    """Why the clause ``op`` cites cannot be the one that made its change (None: it can)."""
    if clause is None:
        return f"cites clause #{op['clause']}, which the revision does not have"
    tables = CATEGORY_TABLES.get(clause["category"])
    if tables is not None and op["kind"] not in tables:
        return f"cites clause #{op['clause']} ({clause['category']}), which does not speak of a {op['kind']}"
    reading = read_clause(clause["text"])
    side = _opposite(op["action"])
    if side and reading.values and all(v.side == side for v in reading.values):
        return f"cites clause #{op['clause']}, whose values stand {side} the revision: it does not describe a {op['action']}"
    if op["action"] == "unknown" and op["kind"] in ("criterion", "statement") and op["record_key"] != "*":
        known = [
            r.get("text") or ""
            for r in step.after.records.get(op["kind"], [])
            if in_scope(op["record_key"], r.get("item_id") or r["record_key"])
        ]
        if not names_scope(reading.action, known):
            return f"cites clause #{op['clause']}, which does not speak of {op['record_key']}"
    return None


def check_citations(
    step: Diff,
    revision_date: str,
    clauses: list[dict[str, Any]],
    operations: list[dict[str, Any]],
    explained: dict[int, set[tuple[str, int]]],
    counts: Counter[str],
) -> list[CitationFinding]:
    """Operations citing a clause the revision lacks, one of another kind, or one that does not
    describe their change (another clause does, or none mentions it)."""
    by_number = {c["ordinal"]: c for c in clauses if c.get("revision_date", revision_date) == revision_date}
    found = []
    for op in operations:
        where = f"{op['path'].rsplit('/', 1)[-1]}:{op['line']}"
        clause = by_number.get(op["clause"])
        problem = _cite_problem(op, clause, step, counts)
        if problem or clause is None or op["action"] == "unknown":
            if problem:
                found.append(CitationFinding(revision_date, where, op["record_key"], op["clause"], problem))
            continue
        action = read_clause(clause["text"]).action
        for change in step.changes:
            if change.table != op["kind"] or op["record_key"] not in change.key.split(" -> "):
                continue
            by = explained.get(id(change), set())
            if by and (revision_date, op["clause"]) not in by:
                others = ", ".join(f"#{n}" for _, n in sorted(by))
                problem = f"cites clause #{op['clause']} for {change_name(change)}, which {others} describes instead"
            elif not by and change.substantive is not False and not _speaks_of(action, change, counts):
                problem = f"cites clause #{op['clause']} for {change_name(change)}, which it does not mention"
            if problem:
                found.append(CitationFinding(revision_date, where, change_name(change), op["clause"], problem))
                problem = None
    return found


def _speaks_of(action: str, change: Any, counts: Counter[str]) -> bool:
    """Does a clause mention a change no clause explains (a change with an unknown side is
    mentioned where the clause names its known text)?"""
    if change.table not in ("criterion", "statement"):
        return True
    if change.substantive is None:
        known = change.after if change.kind == "became known" else change.before
        return names_scope(action, [(known or {}).get("text") or "", *change.subtree_after, *change.subtree_before])
    return mentions(action, change, counts)


def carried_across(step: Diff, revision_date: str, clauses: list[dict[str, Any]]) -> list[CitationFinding]:
    """Records said unchanged ("unlogged = unchanged") across a revision whose template clause
    names their section: the log says that section changed."""
    found = []
    headings = {
        r["item_id"]: r.get("text") or "" for r in step.after.records.get("criterion", []) if r["parent_id"] is None
    }
    for clause in (c for c in clauses if c["category"] == "template"):
        action = read_clause(clause["text"]).action
        named = [top for top, heading in headings.items() if names_scope(action, [heading])]
        for table, rows in step.before.records.items():
            for row in rows:
                anchor = row.get("item_id") or row["record_key"]
                if row.get("source") == "carried" and any(in_scope(top, anchor) for top in named):
                    reason = f"{table} {anchor} is carried as unlogged = unchanged across #{clause['ordinal']}, which names its section"
                    found.append(CitationFinding(revision_date, f"{table} {anchor}", anchor, clause["ordinal"], reason))
    return found


def check_unknowns(step: Diff, revision_date: str, clauses: list[dict[str, Any]]) -> list[CitationFinding]:
    """A kind a clause reviews as a whole ("references reviewed and updated") is unknown before
    the revision because of that revision: an unknown made by a later one skips it."""
    found = []
    for clause in (c for c in clauses if c.get("revision_date", revision_date) == revision_date):
        tables = CATEGORY_TABLES.get(clause["category"]) or frozenset()
        if not tables or not tables <= KIND_WIDE:
            continue
        for row in step.before.records.get("unknown", []):
            if row["kind"] in tables and row["scope"] == "*" and row["revision"] != revision_date:
                reason = (
                    f"the earlier version's {row['kind']}s are unknown by the revision of {row['revision']}, "
                    f"not by this one, whose clause #{clause['ordinal']} reviewed them"
                )
                found.append(
                    CitationFinding(revision_date, f"unknown {row['kind']}:*", row["kind"], clause["ordinal"], reason)
                )
    return found

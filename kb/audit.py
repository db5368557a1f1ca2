"""The revision-log audit: does each logged clause match a change, and each change a clause?

A span of versions is cut into steps (one per revision); each step's changes are matched
against that revision's clauses. A clause matches a change only if the change carries the
values the clause names, on the side it names them (``revisions.clauses``: "updated age to
≥ 15 years" wants 15 years in the version after); a clause naming no value matches by its
specific words ("induction", not "prescribed"). A clause whose value is missing but whose
change reads another of the same unit is "value differs"; a clause is "not checkable" only
where the value it needs could stand on an unknown side. The change data's citations are
checked too: an operation must cite a clause that describes the change it makes.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from kb.asof import as_of
from kb.diff import Change, Diff, diff_answers, normalise
from kb.wording import mentions, rarity
from revisions.clauses import Value, quantities, read_clause

CATEGORY_TABLES: dict[str, frozenset[str]] = {
    "criteria": frozenset({"criterion", "statement"}),
    "template": frozenset({"criterion", "cross_reference", "statement"}),
    "duration": frozenset({"duration"}),
    "cross_reference": frozenset({"cross_reference", "criterion"}),
    "references": frozenset({"reference"}),
    "coding": frozenset({"code"}),
    "dosing": frozenset({"dosing", "criterion"}),
}
"""Which record tables a clause of each category can speak of ("other": any)."""

PRIMARY: dict[str, frozenset[str]] = {
    "criteria": frozenset({"criterion"}),
    "dosing": frozenset({"dosing", "criterion"}),
}
"""A clause of these categories must touch one of these tables ("updated criteria" is not met by the FDA statement alone)."""

PROBLEMS = ("logged, not seen", "value differs")


@dataclass
class ClauseFinding:
    """One clause of the log and what it was matched to (changes named by their printed labels)."""

    revision_date: str
    ordinal: int
    text: str
    category: str
    status: str
    changes: list[str] = field(default_factory=list)
    reason: str | None = None


@dataclass
class UnloggedChange:
    revision_date: str
    table: str
    key: str
    summary: str


@dataclass
class CitationFinding:
    """An operation of the change data that cites a clause not describing its change."""

    revision_date: str
    source: str
    change: str
    cited: int
    reason: str


@dataclass
class Audit:
    steps: list[dict[str, Any]]
    clauses: list[ClauseFinding]
    unlogged: list[UnloggedChange]
    citations: list[CitationFinding] = field(default_factory=list)

    def logged_not_seen(self) -> list[ClauseFinding]:
        return [c for c in self.clauses if c.status == "logged, not seen"]

    def problems(self) -> list[str]:
        """Every finding an auditor must resolve, one line each (empty: the history holds)."""
        return (
            [
                f"{c.revision_date} #{c.ordinal} {c.status}: {c.text} ({c.reason})"
                for c in self.clauses
                if c.status in PROBLEMS
            ]
            + [f"{u.revision_date} changed, not logged: {u.table} {u.key}: {u.summary}" for u in self.unlogged]
            + [f"{c.revision_date} citation: {c.source} {c.reason}" for c in self.citations]
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "clauses": [asdict(c) for c in self.clauses],
            "logged_not_seen": [asdict(c) for c in self.logged_not_seen()],
            "changed_not_logged": [asdict(c) for c in self.unlogged],
            "citations": [asdict(c) for c in self.citations],
        }


def change_name(change: Change) -> str:
    """A change named as the version shows it: the printed label of a criterion, else its table and key."""
    if change.table == "criterion":
        where = change.where_after or change.where_before or change.key
        return f"{where} (replaced)" if change.kind == "replaced" else where
    return f"{change.table} {change.key}"


def side_text(change: Change, side: str, deep: bool = True) -> str | None:
    """What one side of a change reads (None: that side is unknown), with its subtree if ``deep``."""
    record = change.before if side == "before" else change.after
    unknown = (change.kind == "became known" and side == "before") or (
        change.kind == "became unknown" and side == "after"
    )
    if unknown:
        return None
    if record is None:
        return ""
    parts = [str(record.get(name) or "") for name in ("text", "logic_text", "citation", "policy_ref", "regimen")]
    if deep:
        parts += change.subtree_before if side == "before" else change.subtree_after
    return " ".join(p for p in parts if p)


def carries(change: Change, value: Value) -> bool | None:
    """Does ``change`` carry ``value`` on its side (None: that side is unknown and might)?"""
    sides = ("before", "after") if value.side == "either" else (value.side,)
    found: list[bool | None] = []
    for side in sides:
        text = side_text(change, side, deep=value.kind != "quote")
        if text is None:
            found.append(None)
        elif value.kind == "quantity":
            found.append(value.text in quantities(text))
        elif value.kind == "policy":
            found.append(value.text in text)
        else:
            wanted, said = normalise(value.text) or "", normalise(text) or ""
            found.append(re.search(rf"(?<!\w){re.escape(wanted)}(?!\w)", said) is not None)
    return True if True in found else None if None in found else False


def _conflicts(change: Change, value: Value) -> bool:
    """Does ``change`` read another quantity of the same unit where the clause wants ``value``?"""
    if value.kind != "quantity":
        return False
    unit = value.text.split(" ", 1)[1]
    sides = ("before", "after") if value.side == "either" else (value.side,)
    return any(any(q.split(" ", 1)[1] == unit for q in quantities(side_text(change, side) or "")) for side in sides)


@dataclass
class _Check:
    status: str
    fits: list[Change]
    reason: str | None = None


def check_clause(clause: dict[str, Any], step: Diff, counts: Counter[str], markers: list[str]) -> _Check:
    """Match one clause against the changes of its step (see the module doc)."""
    reading = read_clause(clause["text"])
    tables = CATEGORY_TABLES.get(clause["category"])
    primary = PRIMARY.get(clause["category"], tables)
    candidates = [
        c
        for c in step.changes
        if (tables is None or c.table in tables)
        and c.substantive is not False
        and c.table != "unknown"
        and (
            not reading.lines_of_business
            or (c.before or c.after or {}).get("line_of_business") in reading.lines_of_business
        )
    ]
    worded = [c for c in candidates if mentions(reading.action, c, counts)]
    if reading.values:
        fits = [c for c in candidates if any(carries(c, v) for v in reading.values)]
        missing = [v for v in reading.values if not any(carries(c, v) for c in fits)]
        if not missing and any(primary is None or c.table in primary for c in fits):
            return _Check("matched", fits)
        if missing:
            named = ", ".join(f"{v.text!r} ({v.side})" for v in missing)
            if differing := [c for c in worded if any(_conflicts(c, v) for v in missing)]:
                reads = "; ".join(f"{change_name(c)} reads {c.summary}" for c in differing)
                return _Check("value differs", differing, f"the log names {named}; {reads}")
            if any(carries(c, v) is None for c in candidates for v in missing):
                return _Check("not checkable", [], f"{named} may stand on a side that is unknown")
            return _Check("logged, not seen", [], f"no change carries {named}" + _also(fits))
        return _Check(
            "logged, not seen",
            [],
            f"only {', '.join(change_name(c) for c in fits)} carries it; no {'/'.join(sorted(primary or []))} change does",
        )
    known = [c for c in worded if c.substantive]
    if known and any(primary is None or c.table in primary for c in known):
        return _Check("matched", worded)
    if worded or markers:
        reason = worded[0].note if worded else markers[0]
        return _Check("not checkable", [], reason)
    return _Check("logged, not seen", [], "no change of this step is what the clause describes")


def _also(fits: list[Change]) -> str:
    return f" (it is carried by {', '.join(change_name(c) for c in fits)})" if fits else ""


def _markers(step: Diff, tables: frozenset[str] | None) -> list[str]:
    """Unknown records of a kind the clause speaks of, in either version of the step."""
    return [
        f"{answer.version['label'] if answer.version else '?'}: {row['reason']}"
        for answer in (step.before, step.after)
        for row in answer.records.get("unknown", [])
        if tables is None or row["kind"] in tables
    ]


def audit_step(
    step: Diff, revision_date: str, clauses: list[dict[str, Any]], operations: list[dict[str, Any]] | None = None
) -> tuple[list[ClauseFinding], list[UnloggedChange], list[CitationFinding]]:
    """Match one revision's clauses to the changes between the versions before and after it,
    and check that each of its operations cites a clause that describes its change."""
    counts = rarity(step)
    findings: list[ClauseFinding] = []
    explained: dict[int, set[int]] = {}
    for clause in clauses:
        check = check_clause(clause, step, counts, _markers(step, CATEGORY_TABLES.get(clause["category"])))
        for change in check.fits:
            explained.setdefault(id(change), set()).add(clause["ordinal"])
        findings.append(
            ClauseFinding(
                revision_date,
                clause["ordinal"],
                clause["text"],
                clause["category"],
                check.status,
                [change_name(c) for c in check.fits],
                check.reason,
            )
        )
    unlogged = [
        UnloggedChange(revision_date, c.table, change_name(c), c.summary)
        for c in step.changes
        if c.substantive and id(c) not in explained
    ]
    return findings, unlogged, _citations(step, revision_date, clauses, operations or [], explained)


def _citations(
    step: Diff,
    revision_date: str,
    clauses: list[dict[str, Any]],
    operations: list[dict[str, Any]],
    explained: dict[int, set[int]],
) -> list[CitationFinding]:
    """Operations that cite a clause the revision lacks, or one that does not describe their change."""
    numbers = {c["ordinal"] for c in clauses}
    found = []
    for op in operations:
        where = f"{op['path'].rsplit('/', 1)[-1]}:{op['line']}"
        if op["clause"] not in numbers:
            found.append(
                CitationFinding(
                    revision_date,
                    where,
                    op["record_key"],
                    op["clause"],
                    f"cites clause {op['clause']}, which the revision does not have",
                )
            )
            continue
        if op["action"] == "unknown":
            continue
        for change in step.changes:
            made = change.table == op["kind"] and op["record_key"] in change.key.split(" -> ")
            if made and explained.get(id(change)) and op["clause"] not in explained[id(change)]:
                others = ", ".join(f"#{n}" for n in sorted(explained[id(change)]))
                reason = f"cites clause #{op['clause']} for {change_name(change)}, which that clause does not describe ({others} does)"
                found.append(CitationFinding(revision_date, where, change_name(change), op["clause"], reason))
    return found


def audit_diff(connection: sqlite3.Connection, diff: Diff) -> Audit:
    """Audit every revision that took effect after ``diff.before`` and by ``diff.after``."""
    versions = connection.execute(
        "SELECT label, valid_from, revision_date FROM version WHERE policy_id = ? AND superseded_at IS NULL"
        " ORDER BY valid_from",
        (diff.policy_id,),
    ).fetchall()
    start = diff.before.as_of.isoformat() if diff.before.covered else ""
    end = diff.after.as_of.isoformat()
    audit = Audit([], [], [])
    for earlier, later in zip([None, *versions], versions):
        if not start < later["valid_from"] <= end:
            continue
        clauses = _rows(
            connection,
            "SELECT ordinal, text, category FROM change_clause WHERE policy_id = ? AND revision_date = ?"
            " AND superseded_at IS NULL ORDER BY ordinal",
            diff.policy_id,
            later["revision_date"],
        )
        audit.steps.append(
            {
                "from": earlier["label"] if earlier else None,
                "to": later["label"],
                "revision_date": later["revision_date"],
            }
        )
        if earlier is None:
            why = f"{later['label']} is the earliest version known; nothing to compare it with"
            audit.clauses += [
                ClauseFinding(
                    later["revision_date"], c["ordinal"], c["text"], c["category"], "not checkable", reason=why
                )
                for c in clauses
            ]
            continue
        operations = _rows(
            connection,
            "SELECT * FROM change_operation WHERE policy_id = ? AND revision_date = ? AND superseded_at IS NULL",
            diff.policy_id,
            later["revision_date"],
        )
        step = diff_answers(
            as_of(connection, diff.policy_id, earlier["valid_from"]),
            as_of(connection, diff.policy_id, later["valid_from"]),
        )
        found, missed, citations = audit_step(step, later["revision_date"], clauses, operations)
        audit.clauses += found
        audit.unlogged += missed
        audit.citations += citations
    return audit


def _rows(connection: sqlite3.Connection, sql: str, *params: str) -> list[dict[str, Any]]:
    return [dict(row) for row in connection.execute(sql, params)]

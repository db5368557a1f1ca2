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

import sqlite3
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from kb.history.citations import CitationFinding, carried_across, check_citations, check_unknowns
from kb.history.diff import Change, Diff, diff_answers
from kb.history.textdiff import normalise
from kb.history.wording import carries, change_name, conflicts, mentions, names_scope, rarity
from kb.model import in_scope
from kb.store.asof import Answer, as_of
from loaders.logic import logic_of
from revisions.clauses import CATEGORY_TABLES, PRIMARY, Value, read_clause

PROBLEMS = ("logged, not seen", "value differs", "partly seen")


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
class HistoryAudit:
    """A policy's history audited: the span from its earliest to its newest version, each
    loaded document against the previous one, and what the change data claims
    (``change_data``: one line per claim no witness supports, ``kb.history.scrutiny``)."""

    policy_id: str
    span: Diff
    history: Audit
    documents: list[Audit]
    change_data: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Every problem once (a document pair's problem is often one of the history's too), then
        the change data's claims that no witness supports."""
        audited = self.history.problems() + [p for audit in self.documents for p in audit.problems()]
        return list(dict.fromkeys(audited + self.change_data))


@dataclass
class Audit:
    steps: list[dict[str, Any]]
    clauses: list[ClauseFinding]
    unlogged: list[UnloggedChange]
    citations: list[CitationFinding] = field(default_factory=list)
    inconsistencies: list[str] = field(default_factory=list)

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
            + [f"inconsistent: {line}" for line in self.inconsistencies]
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "clauses": [asdict(c) for c in self.clauses],
            "logged_not_seen": [asdict(c) for c in self.logged_not_seen()],
            "changed_not_logged": [asdict(c) for c in self.unlogged],
            "citations": [asdict(c) for c in self.citations],
            "inconsistencies": self.inconsistencies,
        }


@dataclass
class _Check:
    status: str
    fits: list[Change]
    reason: str | None = None


def _in_lob(change: Change, lobs: tuple[str, ...]) -> bool:
    return not lobs or (change.before or change.after or {}).get("line_of_business") in lobs


def _reaches(category: str, change: Change, values: tuple[Value, ...]) -> bool:
    """A duration clause speaks of a criterion only through its cycle cap ("up to 6 cycles
    total" and "has not received ≥ 6 cycles"); every other category, of all its tables."""
    if category != "duration" or change.table != "criterion":
        return True
    return any(v.kind == "quantity" and v.text.endswith(" cycle") and carries(change, v) for v in values)


def _in_section(change: Change, sections: tuple[str, ...]) -> bool:
    """A clause naming a section ("added to initial criteria") speaks of no record of another."""
    section = (change.before or change.after or {}).get("section")
    return not sections or section is None or section in sections


def check_clause(clause: dict[str, Any], step: Diff, counts: Counter[str]) -> _Check:
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
        and _in_lob(c, reading.lines_of_business)
        and _in_section(c, reading.sections)
        and _reaches(clause["category"], c, reading.values)
    ]
    worded = [c for c in candidates if mentions(reading.action, c, counts, reading.side)]
    if not reading.values:
        known = [c for c in worded if c.substantive]
        if known and any(primary is None or c.table in primary for c in known):
            return _Check("matched", worded)
        hidden = [c.note for c in worded if c.note] + markers(step, tables, reading.action)
        if hidden:
            return _Check("not checkable", [], hidden[0])
        return _Check("logged, not seen", [], "no change of this step is what the clause describes")
    carriers = [c for c in candidates if any(carries(c, v) for v in reading.values)]
    if clashing := [c for c in carriers if any(conflicts(c, v) and not carries(c, v) for v in reading.values)]:
        reads = "; ".join(f"{change_name(c)} reads {c.summary}" for c in clashing)
        return _Check("value differs", carriers, f"the log names {', '.join(v.text for v in reading.values)}; {reads}")
    fits = carriers
    missing = [v for v in reading.values if not any(carries(c, v) for c in fits)]
    if not missing and any(primary is None or c.table in primary for c in fits):
        partly = _every_line_of_business(clause["category"], reading.lines_of_business, step, fits)
        return partly or _Check("matched", fits)
    if not missing:
        named = "/".join(sorted(primary or []))
        return _Check(
            "logged, not seen", [], f"only {', '.join(map(change_name, fits))} carries it; no {named} change does"
        )
    named = ", ".join(f"{v.text!r} ({v.side})" for v in missing)
    if differing := [
        c for c in worded if (primary is None or c.table in primary) and any(conflicts(c, v) for v in missing)
    ]:
        reads = "; ".join(f"{change_name(c)} reads {c.summary}" for c in differing)
        return _Check("value differs", differing, f"the log names {named}; {reads}")
    if any(carries(c, v) is None for c in candidates for v in missing):
        return _Check("not checkable", [], f"{named} may stand on a side that is unknown")
    return _Check("logged, not seen", [], f"no change carries {named}" + _also(fits))


def _every_line_of_business(category: str, lobs: tuple[str, ...], step: Diff, fits: list[Change]) -> _Check | None:
    """A duration clause naming no line of business revises every line of business of the
    sections it touches: one that did not change is "partly seen"."""
    if category != "duration" or lobs:
        return None
    places = {(row["section"], row["indication"]) for c in fits for row in (c.after or c.before or {},) if row}
    changed = {c.key for c in fits}
    left = [
        row["record_key"]
        for row in step.after.records.get("duration", [])
        if (row["section"], row["indication"]) in places and row["record_key"] not in changed
    ]
    if not left:
        return None
    return _Check("partly seen", fits, f"the log revises every line of business; not {', '.join(left)}")


def _also(fits: list[Change]) -> str:
    return f" (it is carried by {', '.join(change_name(c) for c in fits)})" if fits else ""


def markers(step: Diff, tables: frozenset[str] | None, action: str) -> list[str]:
    """Unknowns that could hide what a clause describes: of a kind it speaks of, and, for
    criteria, over a scope whose known text the clause names."""
    found = []
    for answer, other in ((step.before, step.after), (step.after, step.before)):
        for row in answer.records.get("unknown", []):
            if tables is not None and row["kind"] not in tables:
                continue
            if row["kind"] in ("criterion", "statement") and row["scope"] != "*":
                known = [
                    r.get("text") or ""
                    for r in other.records.get(row["kind"], [])
                    if in_scope(row["scope"], r.get("item_id") or r["record_key"])
                ]
                if not names_scope(action, known):
                    continue
            found.append(f"{answer.version['label'] if answer.version else '?'}: {row['reason']}")
    return found


def explained_parents(step: Diff, explained: dict[int, set[tuple[str, int]]]) -> None:
    """An item whose sub-item a clause explains is explained by it too (its logic words follow)."""
    by_key = {c.key: c for c in step.changes if c.table == "criterion"}
    for change in [c for c in step.changes if id(c) in explained and c.table == "criterion"]:
        for record in (change.before, change.after):
            parent = by_key.get((record or {}).get("parent_id"))
            if parent is not None:
                explained.setdefault(id(parent), set()).update(explained[id(change)])


def inconsistent(answer: Answer) -> list[str]:
    """Reconstructed criteria whose logic contradicts their own words ("(a and b)" read as any)."""
    found = []
    for row in answer.criteria():
        if row["source"] == "document" or not row["text"] or not row["logic"]:
            continue
        reading = logic_of(row["text"])
        said = normalise(row["logic_text"]) or ""
        if (reading.logic and reading.logic.value != row["logic"]) or said not in (normalise(row["text"]) or ""):
            label = (answer.version or {}).get("label")
            found.append(
                f"{label} {row['item_id']}: logic {row['logic']} ({row['logic_text']!r}) but it reads {row['text']!r}"
            )
    return found


def audit_step(
    step: Diff, revision_date: str, clauses: list[dict[str, Any]], operations: list[dict[str, Any]] | None = None
) -> tuple[list[ClauseFinding], list[UnloggedChange], list[CitationFinding]]:
    """Match one revision's clauses to the changes between the versions before and after it,
    and check the change data's citations and the unknowns it leaves behind."""
    counts = rarity(step)
    findings: list[ClauseFinding] = []
    explained: dict[int, set[tuple[str, int]]] = {}
    for clause in clauses:
        check = check_clause(clause, step, counts)
        for change in check.fits:
            explained.setdefault(id(change), set()).add((clause.get("revision_date", revision_date), clause["ordinal"]))
        findings.append(
            ClauseFinding(
                clause.get("revision_date", revision_date),
                clause["ordinal"],
                clause["text"],
                clause["category"],
                check.status,
                [change_name(c) for c in check.fits],
                check.reason,
            )
        )
    explained_parents(step, explained)
    unlogged = [
        UnloggedChange(revision_date, c.table, c.where_after or c.where_before or c.key, c.summary)
        for c in step.changes
        if c.substantive and id(c) not in explained
    ]
    cited = check_citations(step, revision_date, clauses, operations or [], explained, counts)
    return (
        findings,
        unlogged,
        cited + check_unknowns(step, revision_date, clauses) + carried_across(step, revision_date, clauses),
    )


_VERSIONS = (
    "SELECT label, valid_from, revision_date, basis, document_sha256 FROM version WHERE policy_id = ?"
    " AND superseded_at IS NULL ORDER BY valid_from"
)


class _Auditor:
    """Audits steps between stored versions of one policy, each version read once."""

    def __init__(self, connection: sqlite3.Connection, policy: str, known_at: datetime | None) -> None:
        self.connection, self.policy, self.known = connection, policy, known_at
        self.answers: dict[str, Answer] = {}

    def answer(self, day: str) -> Answer:
        if day not in self.answers:
            self.answers[day] = as_of(self.connection, self.policy, date.fromisoformat(day), self.known)
        return self.answers[day]

    def step(self, audit: Audit, earlier: dict[str, Any] | None, later: dict[str, Any], cite: bool = True) -> None:
        """Audit the revisions after ``earlier`` up to ``later`` against the diff between them."""
        clauses = _rows(
            self.connection,
            "SELECT revision_date, ordinal, text, category FROM change_clause WHERE policy_id = ? AND revision_date > ?"
            " AND revision_date <= ? AND superseded_at IS NULL ORDER BY revision_date, ordinal",
            self.policy,
            earlier["revision_date"] if earlier else "",
            later["revision_date"],
        )
        label = earlier["label"] if earlier else None
        audit.steps.append({"from": label, "to": later["label"], "revision_date": later["revision_date"]})
        if earlier is None:
            why = f"{later['label']} is the earliest version known; nothing to compare it with"
            audit.clauses += [
                ClauseFinding(c["revision_date"], c["ordinal"], c["text"], c["category"], "not checkable", reason=why)
                for c in clauses
            ]
            return
        operations = (
            _rows(
                self.connection,
                "SELECT * FROM change_operation WHERE policy_id = ? AND revision_date = ? AND superseded_at IS NULL",
                self.policy,
                later["revision_date"],
            )
            if cite
            else []
        )
        diff = diff_answers(self.answer(earlier["valid_from"]), self.answer(later["valid_from"]))
        found, missed, citations = audit_step(diff, later["revision_date"], clauses, operations)
        audit.clauses += found
        audit.unlogged += missed
        audit.citations += citations

    def finish(self, audit: Audit) -> Audit:
        for day in sorted(self.answers):
            audit.inconsistencies += inconsistent(self.answers[day])
        return audit


def audit_diff(connection: sqlite3.Connection, diff: Diff, whole: bool = False) -> Audit:
    """Audit every revision that took effect after ``diff.before`` and by ``diff.after``: one
    step per pair of successive versions, against the clauses of every revision between them
    (more than one where no document or change data tells the versions in between). ``whole``:
    from the first revision of the log (its clauses listed as not checkable)."""
    auditor = _Auditor(connection, diff.policy_id, diff.after.known_at)
    start = diff.before.as_of.isoformat() if diff.before.covered and not whole else ""
    end = diff.after.as_of.isoformat()
    audit = Audit([], [], [])
    versions = _rows(connection, _VERSIONS, diff.policy_id)
    for earlier, later in zip([None, *versions], versions):
        if start < later["valid_from"] <= end:
            auditor.step(audit, earlier, later)
    return auditor.finish(audit)


def audit_documents(connection: sqlite3.Connection, policy: str, known_at: datetime | None = None) -> list[Audit]:
    """For each loaded document after the first, the log rows it adds audited against the diff
    between its version and the previous document's (whatever versions lie between)."""
    documents = [row for row in _rows(connection, _VERSIONS, policy) if row["basis"] == "document"]
    audits = []
    for older, newer in zip(documents, documents[1:]):
        auditor, audit = _Auditor(connection, policy, known_at), Audit([], [], [])
        auditor.step(audit, older, newer, cite=False)
        audits.append(auditor.finish(audit))
    return audits


def _rows(connection: sqlite3.Connection, sql: str, *params: str) -> list[dict[str, Any]]:
    return [dict(row) for row in connection.execute(sql, params)]

"""The revision-log audit: does each logged clause match a change, and each change a clause?

A diff across revisions is cut into steps (one per revision between the two versions); each
step's structural changes are matched against that revision's change clauses by what the
clause names: its category (durations, references, codes ...) and the words it shares with
the change. A word counts only where it is specific: in the passage that changed, or rare
among the step's items ("prescribed" names nothing; "induction" does).
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from kb.asof import as_of
from kb.diff import Change, Diff, diff_answers
from kb.model import LINES_OF_BUSINESS

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

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "for",
        "the",
        "in",
        "on",
        "at",
        "by",
        "with",
        "as",
        "is",
        "be",
        "are",
        "was",
        "were",
        "that",
        "this",
        "these",
        "those",
        "its",
        "it",
        "if",
        "not",
        "no",
        "than",
        "more",
        "per",
        "from",
        "into",
        "when",
        "also",
        "since",
        "both",
        "one",
        "following",
        "all",
        "any",
        "each",
        "has",
        "have",
        "had",
        "must",
        "meet",
        "meets",
        "criteria",
        "criterion",
        "option",
        "options",
        "added",
        "removed",
        "revised",
        "updated",
        "update",
        "updates",
        "corrected",
        "clarified",
        "include",
        "includes",
        "requirement",
        "requirements",
        "use",
        "nccn",
        "compendium",
    ]
)
SYNONYMS: dict[str, tuple[str, ...]] = {
    "monotherapy": ("single", "agent"),
    "ph-negative": ("philadelphia", "chromosome-negative"),
    "ph-positive": ("philadelphia", "chromosome-positive"),
}
"""Words of the revision log that the criteria spell another way."""

RARE = 2
"""A word is specific if at most this many of the step's records use it."""

_WORD = re.compile(r"[a-z0-9≥≤]+(?:[-/.][a-z0-9]+)*")


def words(text: str | None) -> set[str]:
    found = set(_WORD.findall((text or "").casefold().replace("’", "'")))
    for word in list(found):
        found.update(SYNONYMS.get(word, ()))
    return found - STOPWORDS


@dataclass
class ClauseFinding:
    """One clause of the log and what it was matched to."""

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
class Audit:
    steps: list[dict[str, Any]]
    clauses: list[ClauseFinding]
    unlogged: list[UnloggedChange]

    def logged_not_seen(self) -> list[ClauseFinding]:
        return [c for c in self.clauses if c.status == "logged, not seen"]

    def to_json(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "clauses": [asdict(c) for c in self.clauses],
            "logged_not_seen": [asdict(c) for c in self.logged_not_seen()],
            "changed_not_logged": [asdict(c) for c in self.unlogged],
        }


def audit_step(
    step: Diff, revision_date: str, clauses: list[dict[str, Any]]
) -> tuple[list[ClauseFinding], list[UnloggedChange]]:
    """Match one revision's clauses to the changes between the versions before and after it."""
    rarity = _rarity(step)
    findings: list[ClauseFinding] = []
    matched: set[int] = set()
    for clause in clauses:
        tables = CATEGORY_TABLES.get(clause["category"])
        candidates = [c for c in step.changes if tables is None or c.table in tables]
        hits = [c for c in candidates if c.substantive and _mentions(clause, c, rarity)]
        matched.update(id(c) for c in hits)
        finding = ClauseFinding(
            revision_date, clause["ordinal"], clause["text"], clause["category"], "matched", [c.key for c in hits]
        )
        if not hits:
            unknown = [c.note for c in candidates if c.substantive is None]
            reason = unknown[0] if unknown else _unknown_reason(step, tables)
            if reason:
                finding.status = "not checkable"
                finding.reason = reason
            else:
                finding.status = "logged, not seen"
        findings.append(finding)
    unlogged = [
        UnloggedChange(revision_date, c.table, c.key, c.summary)
        for c in step.changes
        if c.substantive and id(c) not in matched
    ]
    return findings, unlogged


def _unknown_reason(step: Diff, tables: frozenset[str] | None) -> str | None:
    """Why a clause cannot be checked: either version holds an unknown of a kind it speaks of."""
    for answer in (step.before, step.after):
        for row in answer.records.get("unknown", []):
            if tables is None or row["kind"] in tables:
                return f"{answer.version['label'] if answer.version else '?'}: {row['reason']}"
    return None


def _rarity(step: Diff) -> Counter[str]:
    """In how many of the step's changed or surrounding records each word occurs."""
    counts: Counter[str] = Counter()
    for texts in _record_texts(step).values():
        counts.update(set().union(*(words(t) for t in texts)))
    return counts


def _record_texts(step: Diff) -> dict[str, list[str]]:
    texts: dict[str, list[str]] = {}
    for answer in (step.before, step.after):
        for table in ("criterion", "statement"):
            for row in answer.records.get(table, []):
                texts.setdefault(f"{table}:{row['record_key']}", []).append(row.get("text") or "")
    return texts


def _mentions(clause: dict[str, Any], change: Change, rarity: Counter[str]) -> bool:
    said = words(clause["text"])
    if change.table == "duration":
        named = {lob for lob in LINES_OF_BUSINESS if lob.casefold() in said}
        return not named or (change.before or change.after or {}).get("line_of_business") in named
    if change.table not in ("criterion", "statement"):
        return True
    if change.words and change.kind not in ("replaced", "added", "removed"):
        changed = words(" ".join(text for op, text in change.words if op != "="))
        if said & changed:
            return True
    return bool(said & {w for w in _change_words(change) if rarity[w] <= RARE})


def _change_words(change: Change) -> set[str]:
    texts = [
        (change.before or {}).get("text"),
        (change.after or {}).get("text"),
        *change.subtree_before,
        *change.subtree_after,
    ]
    return set().union(*(words(t) for t in texts))


def audit_diff(connection: sqlite3.Connection, diff: Diff) -> Audit:
    """Audit every revision that took effect after ``diff.before`` and by ``diff.after``."""
    versions = connection.execute(
        "SELECT label, valid_from, revision_date FROM version WHERE policy_id = ? AND superseded_at IS NULL"
        " ORDER BY valid_from",
        (diff.policy_id,),
    ).fetchall()
    start = diff.before.as_of.isoformat() if diff.before.covered else ""
    end = diff.after.as_of.isoformat()
    steps, findings, unlogged = [], [], []
    for earlier, later in zip([None, *versions], versions):
        if not start < later["valid_from"] <= end:
            continue
        clauses = [
            dict(row)
            for row in connection.execute(
                "SELECT ordinal, text, category FROM change_clause WHERE policy_id = ? AND revision_date = ?"
                " AND superseded_at IS NULL ORDER BY ordinal",
                (diff.policy_id, later["revision_date"]),
            )
        ]
        steps.append(
            {
                "from": earlier["label"] if earlier else None,
                "to": later["label"],
                "revision_date": later["revision_date"],
            }
        )
        if earlier is None:
            findings += [
                ClauseFinding(
                    later["revision_date"],
                    c["ordinal"],
                    c["text"],
                    c["category"],
                    "not checkable",
                    reason=f"{later['label']} is the earliest version known; nothing to compare it with",
                )
                for c in clauses
            ]
            continue
        step = diff_answers(
            as_of(connection, diff.policy_id, earlier["valid_from"]),
            as_of(connection, diff.policy_id, later["valid_from"]),
        )
        found, missed = audit_step(step, later["revision_date"], clauses)
        findings += found
        unlogged += missed
    return Audit(steps, findings, unlogged)

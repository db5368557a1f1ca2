"""Point in time: the one implementation of "in force on D" (as known at K).

``in_force_sql`` is the SQL every surface uses (API, CLI, evaluator, Datasette queries);
``as_of`` turns its rows into an answer that says which version, from where, and what is
unknown, or why no answer can be given.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from kb.dates import Month
from kb.errors import UnknownPolicy
from kb.model import RevisionRow
from kb.store.schema import RECORD_TABLES
from revisions.log import RULES

FOREVER = "9999-12-31T23:59:59+00:00"


IN_FORCE = (
    "policy_id = :policy AND valid_from <= :as_of AND (valid_to IS NULL OR valid_to > :as_of)"
    " AND recorded_at <= :known_at AND (superseded_at IS NULL OR superseded_at > :known_at)"
)
"""The condition "in force on :as_of for :policy, as known at :known_at" (Datasette's canned
queries use it too, with a blank :known_at read as "now": see ``canned_in_force``)."""


def in_force_sql(table: str) -> str:
    """Rows of ``table`` in force on ``:as_of`` for ``:policy``, as known at ``:known_at``."""
    return f"SELECT * FROM {table} WHERE {IN_FORCE}"


def canned_in_force(table: str) -> str:
    """``in_force_sql`` for a Datasette canned query: a blank ``:known_at`` means now, and a
    malformed ``:as_of`` matches nothing (the page says what is wrong with it)."""
    condition = IN_FORCE.replace(":known_at", f"coalesce(nullif(:known_at, ''), '{FOREVER}')")
    return f"SELECT * FROM {table} WHERE {condition} AND date(:as_of) IS :as_of"


@dataclass
class Answer:
    """What was in force for a policy on a date, or why that cannot be said.

    ``rule`` is the effective-date rule the answer is read under; ``rule_dependent`` the
    windows holding ``as_of`` in which the rules disagree (each with what the other rule
    reads); ``loaded_at`` the latest load the answer reflects (knowledge time, with
    ``known_at``); ``documents`` the documents its citations name, by SHA-256; ``title`` the
    policy's title (its drug); ``revisions`` the revision log as known then.
    """

    policy_id: str
    as_of: date
    known_at: datetime | None
    status: str
    reason: str | None = None
    version: dict[str, Any] | None = None
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rule: str | None = None
    rule_dependent: list[dict[str, Any]] = field(default_factory=list)
    loaded_at: str | None = None
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    title: str | None = None
    revisions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def covered(self) -> bool:
        return self.status == "in force"

    def criteria(self) -> list[dict[str, Any]]:
        return self.records.get("criterion", [])

    def knowledge(self) -> str:
        """Knowledge time in words: as known at ``known_at`` (or now), and the load it reflects."""
        when = f"as known at {self.known_at_text}" if self.known_at else "as known now"
        return f"{when} (latest load recorded {self.loaded_at or 'never'})"

    @property
    def known_at_text(self) -> str | None:
        """The knowledge time as ISO text (None: as known now)."""
        return self.known_at.isoformat() if self.known_at else None

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy_id,
            "as_of": self.as_of.isoformat(),
            "known_at": self.known_at_text,
            "knowledge": {"known_at": self.known_at_text, "latest_load": self.loaded_at},
            "status": self.status,
            "reason": self.reason,
            "effective_date_rule": self.rule,
            "version": self.version,
            "rule_dependent": self.rule_dependent,
            "documents": self.documents,
            **self.records,
        }


def knowledge_param(known_at: datetime | None) -> str:
    """The ``:known_at`` parameter of ``in_force_sql``: the timestamp as ISO text, or "forever" (now)."""
    return known_at.isoformat() if known_at else FOREVER


def _params(policy_id: str, as_of: date, known_at: datetime | None) -> dict[str, str]:
    return {"policy": policy_id, "as_of": as_of.isoformat(), "known_at": knowledge_param(known_at)}


def _rows(connection: sqlite3.Connection, sql: str, params: dict[str, str]) -> list[dict[str, Any]]:
    return [dict(row) for row in connection.execute(sql, params)]


def as_of(
    connection: sqlite3.Connection,
    policy_id: str,
    when: date,
    known_at: datetime | None = None,
    rule: str | None = None,
) -> Answer:
    """The policy as in force on ``when`` (as the knowledge base knew it at ``known_at``),
    under the effective-date ``rule`` (default: the rule it was loaded under)."""
    policy = connection.execute("SELECT * FROM policy WHERE policy_id = ?", (policy_id,)).fetchone()
    if policy is None:
        raise UnknownPolicy(policy_id)
    params = _params(policy_id, when, known_at)
    rule = rule or policy["effective_date_rule"]
    answer = Answer(policy_id, when, known_at, "in force", rule=rule)
    answer.title = policy["title"]
    answer.revisions = [
        {k: row[k] for k in ("label", "revision_date", "pt_month", "effective_date", "description")}
        for row in _revisions(connection, policy_id, params["known_at"])
    ]
    answer.loaded_at = connection.execute(
        "SELECT max(recorded_at) FROM version WHERE policy_id = :policy AND recorded_at <= :known_at", params
    ).fetchone()[0]
    answer.documents = {
        row["sha256"]: {"last_review": row["last_review"], "path": row["path"]}
        for row in connection.execute(
            "SELECT sha256, last_review, path FROM source_document WHERE policy_id = ? AND loaded_at <= ?",
            (policy_id, params["known_at"]),
        )
    }
    answer.rule_dependent = rule_dependent(connection, policy_id, when, known_at)
    version = version_under(connection, policy_id, when, rule, known_at)
    if version is None:
        answer.status = "not covered"
        answer.reason = _not_covered_reason(connection, policy, params, rule)
        return answer
    answer.version = version
    at = {**params, "as_of": version["stored_from"]}
    answer.records = {table: _rows(connection, in_force_sql(table) + " ORDER BY id", at) for table in RECORD_TABLES}
    return answer


def _revisions(connection: sqlite3.Connection, policy_id: str, known_at: str) -> list[sqlite3.Row]:
    return connection.execute(
        "SELECT * FROM revision WHERE policy_id = ? AND recorded_at <= ? AND (superseded_at IS NULL OR superseded_at > ?)"
        " ORDER BY revision_date, ordinal",
        (policy_id, known_at, known_at),
    ).fetchall()


def _effective(row: sqlite3.Row, rule: str) -> date:
    """A stored revision's effective date under ``rule`` (the rules of ``revisions.log``)."""
    pt_month = Month.fromisoformat(row["pt_month"]) if row["pt_month"] else None
    revision = RevisionRow(row["ordinal"], row["description"], date.fromisoformat(row["revision_date"]), pt_month)
    return RULES[rule](revision)


def effective_dates(revisions: list[sqlite3.Row], revision_date: str) -> dict[str, str]:
    """When the version a revision led to takes effect under each effective-date rule (the
    same date under every rule unless the revision's Date and P&T month disagree)."""
    row = next((r for r in revisions if r["revision_date"] == revision_date), None)
    return {rule: _effective(row, rule).isoformat() for rule in RULES} if row is not None else {}


def version_under(
    connection: sqlite3.Connection, policy_id: str, day: date, rule: str, known_at: datetime | None = None
) -> dict[str, Any] | None:
    """The version in force on ``day`` under the effective-date ``rule``, as known at
    ``known_at``, with its window under that rule (``valid_from``/``valid_to``) and as stored
    (``stored_from``), and the day it takes effect under each rule (``effective_dates``); None
    where no version is vouched for.

    The versions are the same whatever the rule; only the days each is in force differ, so
    a version under another rule than the stored one is found from the revision log's Date
    and P&T month (the evaluator asks this for both rules on a rule-dependent date)."""
    known = knowledge_param(known_at)
    stored = connection.execute("SELECT effective_date_rule FROM policy WHERE policy_id = ?", (policy_id,)).fetchone()
    if stored is not None and rule == stored["effective_date_rule"]:
        rows = _rows(connection, in_force_sql("version"), _params(policy_id, day, known_at))
        if not rows:
            return None
        view = {
            key: rows[0][key]
            for key in ("label", "valid_from", "valid_to", "revision_date", "basis", "document_sha256")
        }
        dates = effective_dates(_revisions(connection, policy_id, known), view["revision_date"])
        return {**view, "rule": rule, "stored_from": rows[0]["valid_from"], "effective_dates": dates}
    revisions = _revisions(connection, policy_id, known)
    versions = {
        row["revision_date"]: row
        for row in connection.execute(
            "SELECT * FROM version WHERE policy_id = ? AND recorded_at <= ? AND (superseded_at IS NULL OR superseded_at > ?)",
            (policy_id, known, known),
        )
    }
    starts = sorted((_effective(row, rule), row["revision_date"]) for row in revisions)
    in_effect = [(start, revision) for start, revision in starts if start <= day]
    if not in_effect:
        return None
    start, revision = in_effect[-1]
    row = versions.get(revision)
    if row is None:
        return None
    later = [s for s, _ in starts if s > start]
    view = {key: row[key] for key in ("label", "valid_from", "valid_to", "revision_date", "basis", "document_sha256")}
    view.update(valid_from=start.isoformat(), valid_to=later[0].isoformat() if later else None)
    dates = effective_dates(revisions, revision)
    return {**view, "rule": rule, "stored_from": row["valid_from"], "effective_dates": dates}


def _not_covered_reason(connection: sqlite3.Connection, policy: sqlite3.Row, params: dict[str, str], rule: str) -> str:
    """Why no version answers: before the earliest vouched date, or a revision nothing tells."""
    day, policy_id = params["as_of"], params["policy"]
    revisions = _revisions(connection, policy_id, params["known_at"])
    versions = connection.execute(
        "SELECT revision_date, basis FROM version WHERE policy_id = ? AND recorded_at <= ?"
        " AND (superseded_at IS NULL OR superseded_at > ?)",
        (policy_id, params["known_at"], params["known_at"]),
    ).fetchall()
    if not revisions or not versions:
        return f"no version of {policy_id} was known for {day} at {params['known_at']}"
    told = {row["revision_date"] for row in versions}
    starts = sorted((_effective(row, rule).isoformat(), row["revision_date"], row["label"]) for row in revisions)
    earliest = min(start for start, revision, _ in starts if revision in told)
    first = revisions[0]
    if day < earliest:
        if not any(row["basis"] == "reconstructed" for row in versions):
            return (
                f"{day} is before {earliest}: the knowledge base holds only versions read from documents, the "
                f"earliest in force from {earliest} (rule {rule}); the revision log goes back to {first['label']} "
                f"({first['revision_date']}), but no change data reconstructs the earlier versions"
            )
        return (
            f"{day} is before {earliest}, the earliest date any version of {policy_id} can be vouched for "
            f"(rule {rule}): the revision log starts with {first['label']} ({first['revision_date']}), although "
            f"the policy exists since {policy['original_effective_date']}; earlier revisions are missing from the log"
        )
    start, revision, label = [s for s in starts if s[0] <= day][-1]
    return (
        f"{day} falls under {label} (Date {revision}, in effect from {start} under rule {rule}), a revision "
        "that no loaded document and no change data tell: the knowledge base holds no version for it"
    )


def pending_spans(
    connection: sqlite3.Connection, policy_id: str, known_at: datetime | None = None
) -> list[tuple[str, str]]:
    """The spans (ISO dates, both ends included) in which some revision of the policy is in effect
    under one effective-date rule and not yet under another: outside them no date is rule-dependent."""
    rows = _revisions(connection, policy_id, knowledge_param(known_at))
    return [(row["pending_from"], row["pending_to"]) for row in rows if row["pending_from"]]


def rule_dependent(
    connection: sqlite3.Connection, policy_id: str, day: date, known_at: datetime | None = None
) -> list[dict[str, Any]]:
    """The rule-dependent windows holding ``day``: revisions in effect under one effective-date
    rule and not yet under another. Each names the version every rule reads (None: not
    covered); ``differences`` is left for a diff to fill (see ``kb.history.windows``)."""
    stored = connection.execute("SELECT effective_date_rule FROM policy WHERE policy_id = ?", (policy_id,)).fetchone()
    windows = []
    for row in _revisions(connection, policy_id, knowledge_param(known_at)):
        if not (row["pending_from"] and row["pending_from"] <= day.isoformat() <= row["pending_to"]):
            continue
        readings = {rule: version_under(connection, policy_id, day, rule, known_at) for rule in RULES}
        labels = {rule: view["label"] if view else None for rule, view in readings.items()}
        used = stored["effective_date_rule"]
        other = next(rule for rule in RULES if rule != used)
        windows.append(
            {
                "revision": row["label"],
                "revision_date": row["revision_date"],
                "pt_month": row["pt_month"],
                "window": {"from": row["pending_from"], "to": row["pending_to"]},
                "rule": used,
                "version": labels[used],
                "other_rule": other,
                "other_version": labels[other],
                "readings": labels,
                "differences": [],
                "note": _window_note(day, row, used, labels[used], other, labels[other]),
            }
        )
    return windows


def _window_note(day: date, row: sqlite3.Row, used: str, version: str | None, other: str, theirs: str | None) -> str:
    def reads(label: str | None) -> str:
        return f"{label} applies" if label else "no version is vouched for (not covered)"

    return (
        f"{day} lies in {row['pending_from']}..{row['pending_to']}, between {row['label']}'s Date "
        f"({row['revision_date']}) and its P&T month ({row['pt_month'] or 'none'}): the answer depends on the "
        f"effective-date rule. Under {used} (used here) {reads(version)}; under {other} {reads(theirs)}."
    )

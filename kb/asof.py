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

from kb.dates import to_date
from kb.errors import UnknownPolicy
from kb.schema import RECORD_TABLES

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
    """What was in force for a policy on a date, or why that cannot be said."""

    policy_id: str
    as_of: date
    known_at: str | None
    status: str
    reason: str | None = None
    version: dict[str, Any] | None = None
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rule: str | None = None
    rule_dependent: list[dict[str, Any]] = field(default_factory=list)

    @property
    def covered(self) -> bool:
        return self.status == "in force"

    def criteria(self) -> list[dict[str, Any]]:
        return self.records.get("criterion", [])

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy_id,
            "as_of": self.as_of.isoformat(),
            "known_at": self.known_at,
            "status": self.status,
            "reason": self.reason,
            "effective_date_rule": self.rule,
            "version": self.version,
            "rule_dependent": self.rule_dependent,
            **self.records,
        }


def _params(policy_id: str, as_of: date, known_at: datetime | None) -> dict[str, str]:
    return {"policy": policy_id, "as_of": as_of.isoformat(), "known_at": known_at.isoformat() if known_at else FOREVER}


def _rows(connection: sqlite3.Connection, sql: str, params: dict[str, str]) -> list[dict[str, Any]]:
    return [dict(row) for row in connection.execute(sql, params)]


def as_of(connection: sqlite3.Connection, policy_id: str, when: date | str, known_at: datetime | None = None) -> Answer:
    """The policy as in force on ``when`` (as the knowledge base knew it at ``known_at``)."""
    when = to_date(when)
    policy = connection.execute("SELECT * FROM policy WHERE policy_id = ?", (policy_id,)).fetchone()
    if policy is None:
        raise UnknownPolicy(policy_id)
    params = _params(policy_id, when, known_at)
    answer = Answer(
        policy_id, when, params["known_at"] if known_at else None, "in force", rule=policy["effective_date_rule"]
    )
    versions = _rows(connection, in_force_sql("version"), params)
    if not versions:
        answer.status = "not covered"
        answer.reason = _not_covered_reason(connection, policy, params)
        return answer
    answer.version = _version_view(versions[0])
    answer.records = {table: _rows(connection, in_force_sql(table) + " ORDER BY id", params) for table in RECORD_TABLES}
    answer.rule_dependent = _pending(connection, params, answer.version["label"])
    return answer


def _version_view(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("label", "valid_from", "valid_to", "revision_date", "basis", "document_sha256")
    return {key: row[key] for key in keys}


def _not_covered_reason(connection: sqlite3.Connection, policy: sqlite3.Row, params: dict[str, str]) -> str:
    earliest = policy["earliest_vouched"]
    if earliest and params["as_of"] < earliest:
        first = connection.execute(
            "SELECT label, revision_date FROM revision WHERE policy_id = ? AND superseded_at IS NULL"
            " ORDER BY revision_date LIMIT 1",
            (params["policy"],),
        ).fetchone()
        reconstructed = connection.execute(
            "SELECT COUNT(*) FROM version WHERE policy_id = ? AND superseded_at IS NULL AND basis = 'reconstructed'",
            (params["policy"],),
        ).fetchone()[0]
        if not reconstructed:
            return (
                f"{params['as_of']} is before {earliest}: the knowledge base holds only the version read from "
                f"the document, in force from {earliest}; the revision log goes back to {first['label']} "
                f"({first['revision_date']}), but no change data reconstructs the earlier versions"
            )
        return (
            f"{params['as_of']} is before {earliest}, the earliest date any version of {params['policy']} "
            f"can be vouched for: the revision log starts with {first['label']} ({first['revision_date']}), "
            f"although the policy exists since {policy['original_effective_date']}; earlier revisions are "
            "missing from the log"
        )
    return f"no version of {params['policy']} was known for {params['as_of']} at {params['known_at']}"


def rule_dependent(
    connection: sqlite3.Connection, policy_id: str, when: date, label: str, known_at: str | None = None
) -> list[dict[str, Any]]:
    """The revisions whose pending window holds ``when``: the answer there depends on the rule."""
    return _pending(
        connection, {"policy": policy_id, "as_of": when.isoformat(), "known_at": known_at or FOREVER}, label
    )


def _pending(connection: sqlite3.Connection, params: dict[str, str], label: str) -> list[dict[str, Any]]:
    """Revisions written on or before the date but not yet in effect under the stored rule."""
    pending = connection.execute(
        "SELECT r.label AS revision, r.revision_date, r.effective_date, v.label AS version, v.valid_from"
        " FROM revision r JOIN version v ON v.policy_id = r.policy_id AND v.revision_date = r.revision_date"
        " AND v.superseded_at IS NULL WHERE r.policy_id = :policy AND r.superseded_at IS NULL"
        " AND r.pending_from <= :as_of AND r.pending_to >= :as_of",
        params,
    ).fetchall()
    return [
        {
            "revision": row["revision"],
            "revision_date": row["revision_date"],
            "effective_date": row["effective_date"],
            "under_stored_rule": label,
            "under_revision_date_rule": row["version"],
            "note": (
                f"{params['as_of']} lies between the revision's Date {row['revision_date']} and its effective "
                f"date {row['effective_date']}: under the stored rule {label} applies; if revisions took "
                f"effect on their Date, {row['version']} would apply"
            ),
        }
        for row in pending
    ]

"""The home page: every policy with its current version, Last Review, next scheduled review and
latest change, as a compliance officer checks them each morning."""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Any

from kb.history.reviews import next_review
from kb.store.asof import FOREVER, in_force_sql
from kb.surfaces.api import KnowledgeBase
from kb.surfaces.site.navigation import diff_url, policy_links, policy_url


def _current(connection: sqlite3.Connection, policy: str, today: str) -> dict[str, Any] | None:
    """The version in force today (the one in-force condition, as known now)."""
    row = connection.execute(
        in_force_sql("version"), {"policy": policy, "as_of": today, "known_at": FOREVER}
    ).fetchone()
    return dict(row) if row else None


def _latest_change(kb: KnowledgeBase, policy: dict[str, Any], today: str) -> dict[str, Any] | None:
    """The newest revision in effect today, with the diff of the version it opened (where one is stored)."""
    row = kb.connection.execute(
        "SELECT r.label, r.effective_date, v.label AS version, v.valid_from,"
        " (SELECT p.label FROM version p WHERE p.policy_id = r.policy_id AND p.superseded_at IS NULL"
        "  AND p.valid_to = v.valid_from) AS previous"
        " FROM revision r LEFT JOIN version v ON v.policy_id = r.policy_id AND v.revision_date = r.revision_date"
        " AND v.superseded_at IS NULL WHERE r.policy_id = ? AND r.superseded_at IS NULL AND r.effective_date <= ?"
        " ORDER BY r.effective_date DESC, r.revision_date DESC LIMIT 1",
        (policy["policy_id"], today),
    ).fetchone()
    if row is None:
        return None
    latest = {"label": row["label"], "effective_date": row["effective_date"], "diff": None, "note": None}
    if row["previous"]:
        latest["step"] = f"{row['previous']} → {row['version']}"
        latest["diff"] = diff_url(policy["policy_id"], row["previous"], row["version"])
    elif row["version"]:
        latest["note"] = (
            f"opened {row['version']}, the first version the knowledge base holds: nothing earlier to compare"
        )
    else:
        latest["note"] = (
            f"no version of it is stored (the knowledge base holds {policy['policy_id']} from {policy['earliest_vouched']})"
        )
    return latest


def overview(kb: KnowledgeBase, database: str, today: date) -> dict[str, Any]:
    """The home page's rows and figures."""
    day = today.isoformat()
    rows = []
    for policy in kb.connection.execute("SELECT * FROM policy ORDER BY policy_id").fetchall():
        policy = dict(policy)
        policy_id = policy["policy_id"]
        labels = [
            r["label"]
            for r in kb.connection.execute(
                "SELECT label FROM revision WHERE policy_id = ? AND superseded_at IS NULL", (policy_id,)
            )
        ]
        document = kb.connection.execute(
            "SELECT last_review FROM source_document WHERE policy_id = ? ORDER BY last_review DESC LIMIT 1",
            (policy_id,),
        ).fetchone()
        current = _current(kb.connection, policy_id, day)
        rows.append(
            {
                "policy_id": policy_id,
                "title": policy["title"],
                "policy_href": policy_url(policy_id, day)
                if current
                else policy_url(policy_id, policy["earliest_vouched"] or day),
                "current": current,
                "current_reason": None if current else kb.as_of(policy_id, day).reason,
                "last_review": document["last_review"] if document else None,
                "next": next_review(labels, today),
                "latest": _latest_change(kb, policy, day),
                "links": policy_links(database, policy_id),
            }
        )
    documents = kb.connection.execute("SELECT COUNT(*) FROM source_document").fetchone()[0]
    return {"policies": rows, "documents": documents, "today": day}

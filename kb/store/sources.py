"""What a stored row rests on, in words: the document (Last Review, short hash, lines), the
clause, the copy, or what carries it across revisions ("unlogged = unchanged"), with its confidence."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

SOURCE_KEY = {
    "document": "read from the policy document itself (its Last Review, SHA-256 and lines are cited)",
    "log": "reconstructed from a clause of the document's revision log (Reviews, Revisions, and Approvals), "
    "cited by the revision's Date and the clause's words",
    "carried": "read the same in a later (or earlier) document or copy, carried across revisions whose log "
    "clauses do not name it: unlogged = unchanged",
    "unknown": "no source tells it: stored and shown as unknown, never filled in",
}
"""What each source a row may rest on means; an older copy ("copy-11.23") is keyed by ``source_key``."""


def document_text(row: dict[str, Any], documents: dict[str, dict[str, Any]] | None = None) -> str | None:
    """The document a row cites: its Last Review, short hash and lines ("document 11.25 (ebedc22fcfb2) line 33")."""
    sha = row.get("document_sha256")
    if not sha:
        return None
    review = (documents or {}).get(sha, {}).get("last_review")
    name = f"{review[5:7]}.{review[2:4]} ({sha[:12]})" if review else sha[:12]
    first, last = row.get("first_line"), row.get("last_line")
    lines = "" if not first else f" line {first}" if first == last else f" lines {first}-{last}"
    return f"document {name}{lines}"


def provenance_text(row: dict[str, Any] | None, documents: dict[str, dict[str, Any]] | None = None) -> str | None:
    """One line saying what a stored row rests on: the document (Last Review, hash, lines), the
    clause, the copy, or what carries it across revisions ("unlogged = unchanged"), with its confidence."""
    if row is None:
        return None
    document = document_text(row, documents)
    if row["source"] == "document":
        return document or "document"
    confidence = f"{row['confidence']} confidence" if row.get("confidence") else None
    if row["source"] == "carried":
        detail = ", ".join(p for p in (row.get("clause"), confidence) if p)
        return f"carried from {document or 'an older copy'} ({detail})"
    said = ", ".join(p for p in (f"“{row['clause']}”" if row.get("clause") else None, confidence) if p)
    return " ".join(p for p in (row["source"], row.get("revision")) if p) + (f" ({said})" if said else "")


def source_key(sources: Iterable[str]) -> list[tuple[str, str]]:
    """The key to the sources named: each with what it means ("copy-11.23": an older copy of the
    policy, the version in force at its review month 11.23, kept with the change data)."""
    key = []
    for source in sorted(set(sources)):
        if source in SOURCE_KEY:
            key.append((source, SOURCE_KEY[source]))
        elif source.startswith("copy-"):
            month = source.removeprefix("copy-")
            key.append(
                (
                    source,
                    f"an older copy of the policy, of the version reviewed in {month} (published for an affiliate "
                    "plan), kept as a source document beside the change data; it shows only part of the policy",
                )
            )
    return key

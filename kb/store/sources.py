"""What a stored row rests on, in words: the document (Last Review, short hash, lines), the
clause, the copy, or what carries it across revisions ("unlogged = unchanged"), with its confidence."""

from __future__ import annotations

from typing import Any


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

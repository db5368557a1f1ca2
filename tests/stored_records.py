"""What the knowledge base holds of a document, read back as typed records: the answer keys and
the round-trip test read what a user sees (``kb show --json``), not only what the parser returned.

``ROUND_TRIPS`` keeps each document's (policy, parsed records, stored records) for pytest's
summary (see conftest.py).
"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import date
from typing import Any

from kb.model import RECORD_KINDS, Criterion, Logic, PolicyDocument, Provenance, Record, Reference, Span
from kb.surfaces.api import KnowledgeBase

ROUND_TRIPS: list[tuple[str, int, int]] = []
_KINDS = {kind.KIND: kind for kind in RECORD_KINDS}


def record_of(table: str, row: dict[str, Any]) -> Record:
    """A stored row as the record it stores: its fields typed, its span, its occurrence."""
    kind = _KINDS[table]
    names = {f.name for f in fields(kind)} - {"provenance", "occurrence"}
    values = {name: row[name] for name in names}
    if kind is Criterion and values["logic"]:
        values["logic"] = Logic(values["logic"])
    if kind is Reference and values["accessed"]:
        values["accessed"] = date.fromisoformat(values["accessed"])
    if "reauthorization_permitted" in values:
        values["reauthorization_permitted"] = bool(values["reauthorization_permitted"])
    span = Span(row["first_line"], row["last_line"]) if row["first_line"] else None
    record = kind(**values, provenance=Provenance(row["source"], row["document_sha256"], span))
    suffix = row["record_key"].removeprefix(record.identity + "#")
    return replace(record, occurrence=int(suffix)) if row["record_key"] != record.key else record


def stored_records(kb: KnowledgeBase, policy_id: str) -> list[Record]:
    """The records of the policy's newest version, as ``kb show --json`` returns them."""
    answer = kb.show(policy_id).to_json()
    return [record_of(table, row) for table in _KINDS for row in answer.get(table, [])]


def stored_document(kb: KnowledgeBase, document: PolicyDocument) -> PolicyDocument:
    """The document with the records the knowledge base stores for it in place of the parsed ones."""
    return replace(document, records=tuple(stored_records(kb, document.policy_id)))


def by_key(records: list[Record] | tuple[Record, ...]) -> dict[tuple[str, str], dict[str, object]]:
    """Records by kind and key, each as its content and lines (what a round trip must keep)."""
    return {(r.KIND, r.key): {**r.content(), "span": r.provenance.span} for r in records}

"""A version of a policy laid out as the policy reads, for the policy page's template.

Criteria come in section order (I. Initial Approval Criteria, II. Continued Therapy, ...), each
indication a heading, items indented by depth with their printed label, logic words marked,
footnote text beside the marker and, for anything not read from the document, its source. The
template escapes every text: this module only arranges it.
"""

from __future__ import annotations

from typing import Any

from kb.store.asof import Answer
from kb.store.sources import provenance_text
from kb.store.tree import CriteriaTree
from kb.surfaces.site.cells import readable, segments, source_kind
from kb.surfaces.site.queries import SECTION_NAMES

STATEMENT_HEADINGS = {
    "description": "Description",
    "fda_indication": "FDA Approved Indication(s)",
    "criteria_preamble": "Policy/Criteria",
    "non_covered": "Diagnoses/Indications for which coverage is NOT authorized",
    "appendix": "Appendices/General Information",
    "definition": "Definitions",
    "abbreviation": "Abbreviations",
    "product_availability": "Product Availability",
}


def source(row: dict[str, Any]) -> dict[str, str] | None:
    """The mark of an element not read from a document: its class and what it rests on."""
    if row["source"] == "document":
        return None
    return {"kind": source_kind(row["source"]) or "unknown", "text": provenance_text(row) or row["source"]}


def criteria(answer: Answer) -> list[dict[str, Any]]:
    """The criteria in reading order: a section heading before its first item, then every item."""
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    for depth, row in CriteriaTree(answer.criteria()).outline():
        if row["section"] not in seen:
            seen.add(row["section"])
            items.append({"heading": SECTION_NAMES.get(row["section"], f"Section {row['section']}")})
        text = row["text"]
        items.append(
            {
                "depth": depth,
                "label": row["label"],
                "pieces": segments(readable(text)) if text is not None else None,
                "marker": row["footnote_marker"] or "",
                "footnote": readable(row["footnote_text"]) if row["footnote_text"] else None,
                "source": source(row),
            }
        )
    return items


def statements(answer: Answer) -> list[tuple[str, list[dict[str, Any]]]]:
    """Statements grouped under the template's headings, in the template's order."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for row in answer.records.get("statement", []):
        by_kind.setdefault(row["kind"], []).append(
            {
                "heading": row.get("term") or row.get("heading"),
                "text": readable(row["text"]) if row["text"] is not None else None,
                "source": source(row),
            }
        )
    ordered = [(STATEMENT_HEADINGS[k], by_kind.pop(k)) for k in STATEMENT_HEADINGS if k in by_kind]
    return ordered + [(kind.replace("_", " ").capitalize(), rows) for kind, rows in by_kind.items()]


def records(answer: Answer, table: str) -> list[dict[str, Any]]:
    """Rows of one record table, each with its source mark."""
    return [{**row, "mark": source(row)} for row in answer.records.get(table, [])]


def layout(answer: Answer) -> dict[str, Any]:
    """Everything the policy page shows of one answer."""
    return {
        "criteria": criteria(answer),
        "statements": statements(answer),
        "durations": records(answer, "duration"),
        "dosing": records(answer, "dosing"),
        "cross_references": records(answer, "cross_reference"),
        "codes": records(answer, "code"),
        "references": records(answer, "reference"),
        "unknowns": records(answer, "unknown"),
    }

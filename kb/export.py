"""The rules in force on a date, exported: CSV, JSON and XLSX tables, or the whole policy as it read.

The markdown rendering is the document a reader would have seen on that date, with every
reconstructed element marked with its source and every unknown one shown as unknown; the
HTML rendering is that markdown through markdown-it-py.
"""

from __future__ import annotations

import io
import json
from typing import Any

from markdown_it import MarkdownIt
from openpyxl import Workbook
from openpyxl.styles import Font

from kb.asof import Answer
from kb.diff import META_COLUMNS, CriteriaTree, provenance_text
from kb.reports import TEMPLATES, to_csv
from kb.schema import RECORD_TABLES

CSV_COLUMNS = (
    "policy",
    "as_of",
    "version",
    "table",
    "key",
    "where",
    "section",
    "indication",
    "line_of_business",
    "text",
    "logic",
    "value",
    "source",
    "provenance",
)
STATEMENT_HEADINGS = {
    "description": "Description",
    "fda_indication": "FDA Approved Indication(s)",
    "non_covered": "III. Diagnoses/Indications for which coverage is NOT authorized",
    "definition": "Definitions",
    "product_availability": "Dosage forms and strengths",
}


def rows_in_force(answer: Answer) -> list[dict[str, Any]]:
    """Every record in force, one row each, with the columns every kind shares."""
    tree = CriteriaTree(answer.criteria())
    version = (answer.version or {}).get("label")
    rows = []
    for table in RECORD_TABLES:
        records = [row for _, row in tree.outline()] if table == "criterion" else answer.records.get(table, [])
        for row in records:
            rows.append(
                {
                    "policy": answer.policy_id,
                    "as_of": answer.as_of.isoformat(),
                    "version": version,
                    "table": table,
                    "key": row["record_key"],
                    "where": tree.where(row["item_id"]) if table == "criterion" else None,
                    "section": row.get("section"),
                    "indication": row.get("indication"),
                    "line_of_business": row.get("line_of_business"),
                    "text": _text(table, row),
                    "logic": row.get("logic"),
                    "value": _value(table, row),
                    "source": row["source"],
                    "provenance": provenance_text(row),
                }
            )
    return rows


def _text(table: str, row: dict[str, Any]) -> str | None:
    field = {"reference": "citation", "code": "description", "dosing": "regimen", "unknown": "reason"}.get(
        table, "text"
    )
    if table == "cross_reference":
        return f"{row['role']}: {row['policy_ref'] or '[unknown]'}"
    return row.get(field)


def _value(table: str, row: dict[str, Any]) -> str | None:
    if table == "duration":
        return " ".join(f"{row[n]} {n}" for n in ("months", "weeks") if row[n]) or None
    if table == "code":
        return f"{row['system']} {row['code'] or '[not in source]'}"
    if table == "dosing":
        return row["max_dose"]
    if table == "reference":
        return row["url"]
    return None


def export_csv(answer: Answer) -> str:
    return to_csv(rows_in_force(answer), CSV_COLUMNS)


def export_json(answer: Answer) -> str:
    return json.dumps(answer.to_json(), indent=2, ensure_ascii=False, default=str)


def export_xlsx(answer: Answer) -> bytes:
    """A workbook: the version on the first sheet, then one sheet per record kind."""
    book = Workbook()
    sheet = book.active
    sheet.title = "version"
    for name, value in [
        ("policy", answer.policy_id),
        ("as of", answer.as_of.isoformat()),
        ("status", answer.status),
        *(answer.version or {}).items(),
        ("reason", answer.reason),
    ]:
        sheet.append([name, value])
    for table in RECORD_TABLES:
        records = answer.records.get(table, [])
        if not records:
            continue
        sheet = book.create_sheet(table)
        columns = sorted(records[0], key=lambda name: name in META_COLUMNS)
        sheet.append(columns)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in records:
            sheet.append([row[c] for c in columns])
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def export_markdown(answer: Answer) -> str:
    """The whole policy as it read on the date: reconstructed parts marked, unknown parts shown."""
    tree = CriteriaTree(answer.criteria())
    statements: dict[str, list[dict[str, Any]]] = {}
    for row in answer.records.get("statement", []):
        statements.setdefault(row["kind"], []).append(row)
    return TEMPLATES.get_template("policy.md").render(
        answer=answer,
        outline=list(tree.outline()),
        statements=statements,
        headings=STATEMENT_HEADINGS,
        source=_source_mark,
    )


def _source_mark(row: dict[str, Any]) -> str:
    """Nothing for text read from the document; otherwise what the element rests on."""
    if row["source"] == "document":
        return ""
    return f" *[{provenance_text(row)}]*"


MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table").disable(["link", "image", "autolink"])
"""Policy text is third-party input: raw HTML is shown as text, and no text becomes a link or an image."""


def export_html(answer: Answer) -> str:
    body = MARKDOWN.render(export_markdown(answer))
    return TEMPLATES.get_template("page.html").render(title=f"{answer.policy_id} as of {answer.as_of}", body=body)


EXPORTS = {
    "csv": export_csv,
    "json": export_json,
    "xlsx": export_xlsx,
    "markdown": export_markdown,
    "html": export_html,
}

"""The rules in force on a date, exported: CSV, JSON and XLSX tables, or the whole policy as it read.

Every export states what an auditor needs to read it: the version, the effective-date rule,
the rule-dependent windows holding the date (with what the other rule reads), the knowledge
time and when the export was generated. Tables put the criteria in policy order with their
printed label and depth first, and provenance as plain columns (source, revision, clause,
confidence, document, lines); the workbook keeps internal columns on a sheet of their own.
The markdown is the document a reader would have seen on that date, reconstructed parts
marked with their source and unknown parts shown as unknown; the HTML is that markdown
through markdown-it-py with raw HTML disabled (policy text is third-party input).
"""

from __future__ import annotations

import io
import json
from datetime import datetime
from typing import Any

from markdown_it import MarkdownIt
from openpyxl import Workbook
from openpyxl.styles import Font

from kb.dates import utc_now
from kb.store.asof import Answer
from kb.store.schema import RECORD_TABLES
from kb.store.sources import document_text, provenance_text, source_key
from kb.store.tree import CriteriaTree
from kb.surfaces.fhir.questionnaire import export_questionnaire
from kb.surfaces.reports import CSV_COLUMNS as DIFF_COLUMNS
from kb.surfaces.reports import TEMPLATES, as_text, md, to_csv

PROVENANCE = ("source", "revision", "clause", "confidence", "document", "lines")
CONTEXT_COLUMNS = (
    "policy",
    "title",
    "version",
    "interval",
    "basis",
    "documents",
    "as_of",
    "effective_date_rule",
    "rule_dependent",
    "knowledge",
    "generated_at",
)
"""The columns every row of a table export carries: what the export is."""
CSV_COLUMNS = (
    "label",
    "depth",
    "table",
    "text",
    "logic",
    "line_of_business",
    "value",
    *PROVENANCE,
    *CONTEXT_COLUMNS,
)
INTERNAL = (
    "record_key",
    "item_id",
    "parent_id",
    "position",
    "raw_text",
    "predicate",
    "predicate_rule",
    "footnote_predicate",
    "document_sha256",
    "valid_from",
    "valid_to",
    "recorded_at",
    "superseded_at",
    "id",
)
SHEETS = {
    "criterion": "criteria",
    "duration": "durations",
    "cross_reference": "cross-references",
    "statement": "statements",
    "code": "codes",
    "reference": "references",
    "dosing": "dosing",
    "unknown": "unknown",
}


def stamp(generated_at: datetime | None) -> str:
    return (generated_at or utc_now()).isoformat(timespec="seconds")


def context(answer: Answer, generated_at: datetime | None = None) -> dict[str, Any]:
    """What every export states about itself: the policy and its drug, the version with its
    interval and basis, the documents (Last Review and SHA-256), the rule, the windows, the
    knowledge time and the generation time."""
    version = answer.version or {}
    interval = f"{version['valid_from']} .. {version['valid_to'] or 'open'}" if version else None
    basis = {"document": "read from a document", "reconstructed": "reconstructed from the revision log and change data"}
    return {
        "policy": answer.policy_id,
        "title": answer.title,
        "as_of": answer.as_of.isoformat(),
        "status": answer.status,
        "version": version.get("label"),
        "interval": interval,
        "basis": basis.get(version.get("basis", ""), "none: not covered"),
        "documents": documents_text(answer),
        "effective_date_rule": answer.rule,
        "rule_dependent": windows_text(answer),
        "knowledge": answer.knowledge(),
        "generated_at": stamp(generated_at),
    }


def documents_text(answer: Answer) -> str:
    """The documents the knowledge base held, by Last Review and SHA-256 (no local path)."""
    return "; ".join(
        f"Last Review {about['last_review']}, SHA-256 {sha}"
        for sha, about in sorted(answer.documents.items(), key=lambda item: item[1]["last_review"])
    )


def windows_text(answer: Answer) -> str:
    """The rule-dependent windows in one line each: the note, then what the other rule reads."""
    return " | ".join(f"{w['note']} Differs: {'; '.join(w['differences'])}" for w in answer.rule_dependent)


def provenance_columns(row: dict[str, Any], documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Where a row comes from, as plain columns."""
    lines = row.get("first_line")
    span = None if not lines else str(lines) if lines == row.get("last_line") else f"{lines}-{row['last_line']}"
    named = document_text({"document_sha256": row.get("document_sha256")}, documents)
    return {
        "source": row["source"],
        "revision": row.get("revision"),
        "clause": row.get("clause"),
        "confidence": row.get("confidence"),
        "document": named.removeprefix("document ") if named else None,
        "lines": span,
    }


def _label(table: str, row: dict[str, Any], tree: CriteriaTree) -> str:
    if table == "criterion":
        return tree.where(row["item_id"])
    if table == "duration":
        place = f"{row['section']}.{row['indication']} {row['line_of_business']}"
        return f"{place} ({row['condition']})" if row.get("condition") else place
    if table == "cross_reference":
        where = tree.where(row["item_id"]) if row["item_id"] in tree.rows else row["item_id"]
        return f"{where} {row['line_of_business']} ({row['role']})"
    if table == "statement":
        return f"{row['kind']} {row['term'] or row['ordinal']}"
    if table == "unknown":
        return f"unknown {row['kind']} {'(all)' if row['scope'] == '*' else row['scope']}"
    return f"{table} {row.get('ordinal', row['record_key'])}"


def _text(table: str, row: dict[str, Any]) -> str | None:
    if table == "cross_reference":
        return row["policy_ref"] or "[unknown]"
    field = {"reference": "citation", "code": "description", "dosing": "regimen", "unknown": "reason"}.get(
        table, "text"
    )
    return row.get(field) if row.get(field) is not None else "[unknown]"


def _value(table: str, row: dict[str, Any]) -> str | None:
    if table == "duration":
        return " ".join(f"{row[n]} {n}" for n in ("months", "weeks", "days") if row.get(n)) or None
    if table == "code":
        return f"{row['system']} {row['code'] or '[not in source]'}"
    return {"dosing": row.get("max_dose"), "reference": row.get("url")}.get(table)


def rows_in_force(answer: Answer, generated_at: datetime | None = None) -> list[dict[str, Any]]:
    """Every record in force, one row each: criteria in policy order first, then the other kinds."""
    tree = CriteriaTree(answer.criteria())
    about = context(answer, generated_at)
    rows = []
    for table in RECORD_TABLES:
        records = tree.outline() if table == "criterion" else ((None, r) for r in answer.records.get(table, []))
        for depth, row in records:
            rows.append(
                {
                    "label": _label(table, row, tree),
                    "depth": depth,
                    "table": table,
                    "text": _text(table, row),
                    "logic": row.get("logic"),
                    "line_of_business": row.get("line_of_business"),
                    "value": _value(table, row),
                    **provenance_columns(row, answer.documents),
                    **{k: about[k] for k in CONTEXT_COLUMNS},
                    "_row": row,
                }
            )
    return rows


def export_csv(answer: Answer, generated_at: datetime | None = None) -> str:
    """One row per record in force; a date no version covers is one row saying why."""
    rows = rows_in_force(answer, generated_at) or [status_row(answer, generated_at)]
    return to_csv(rows, CSV_COLUMNS)


def status_row(answer: Answer, generated_at: datetime | None = None) -> dict[str, Any]:
    """The one row of an empty export: the answer's status and why, with every context column."""
    about = context(answer, generated_at)
    return {"table": answer.status, "text": answer.reason or answer.status, **{k: about[k] for k in CONTEXT_COLUMNS}}


def export_json(answer: Answer, generated_at: datetime | None = None) -> str:
    """The answer as JSON with the export's context; documents named by Last Review and hash only."""
    documents = {sha: {"last_review": about["last_review"]} for sha, about in answer.documents.items()}
    data = {
        **answer.to_json(),
        "documents": documents,
        "about": context(answer, generated_at),
        "revision_log": answer.revisions,
        "source_key": dict(source_key(_sources(answer))),
        "generated_at": stamp(generated_at),
    }
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)


def _sources(answer: Answer) -> list[str]:
    return [row["source"] for rows in answer.records.values() for row in rows if row.get("source")]


def export_xlsx(answer: Answer, generated_at: datetime | None = None) -> bytes:
    """A workbook: what it is on the first sheet, one sheet per record kind, the revision log and
    the key to the sources, internal columns last."""
    book = Workbook()
    sheet = book.active
    sheet.title = "about"
    for name, value in [*context(answer, generated_at).items(), ("reason", answer.reason)]:
        sheet.append([name, value])
    as_text(sheet)
    rows = rows_in_force(answer, generated_at)
    shown = ("label", "depth", "text", "logic", "line_of_business", "value", *PROVENANCE)
    for table, title in SHEETS.items():
        mine = [r for r in rows if r["table"] == table]
        if mine:
            _sheet(book, title, shown, [[r[c] for c in shown] for r in mine])
    log = [
        [r["label"], r["revision_date"], r["pt_month"], r["effective_date"], r["description"]] for r in answer.revisions
    ]
    _sheet(book, "revision log", ("revision", "date", "P&T month", "effective", "description"), log)
    _sheet(book, "source key", ("source", "meaning"), [list(pair) for pair in source_key(_sources(answer))])
    internal = [[r["table"], r["label"], *(r["_row"].get(c) for c in INTERNAL)] for r in rows]
    _sheet(book, "internal", ("table", "label", *INTERNAL), internal)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _sheet(book: Workbook, title: str, columns: tuple[str, ...], rows: list[list[Any]]) -> None:
    sheet = book.create_sheet(title)
    sheet.append(list(columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    as_text(sheet)
    sheet.freeze_panes = "A2"


def diff_xlsx(rows: list[dict[str, Any]]) -> bytes:
    """``kb diff`` as a workbook (the rows of its CSV): the changes on one sheet, the revision-log
    audit on another, each row stating the rule, the windows, the knowledge and generation time."""
    book = Workbook()
    book.remove(book.active)
    changes = [r for r in rows if not str(r.get("kind", "")).startswith("audit:")]
    audit = [r for r in rows if str(r.get("kind", "")).startswith("audit:")]
    for title, mine in (("changes", changes), ("revision-log audit", audit)):
        _sheet(book, title, DIFF_COLUMNS, [[r.get(c) for c in DIFF_COLUMNS] for r in mine])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()



def export_markdown(answer: Answer, generated_at: datetime | None = None) -> str:
    """The whole policy as it read on the date: reconstructed parts marked, unknown parts shown."""
    tree = CriteriaTree(answer.criteria())
    statements: dict[str, list[dict[str, Any]]] = {}
    for row in answer.records.get("statement", []):
        statements.setdefault(row["kind"], []).append(row)
    appendices: dict[str, list[dict[str, Any]]] = {}
    for row in statements.get("abbreviation", []) + statements.get("appendix", []):
        appendices.setdefault(row["heading"] or "Appendix", []).append(row)
    unknown = {row["kind"]: row for row in answer.records.get("unknown", []) if row["scope"] == "*"}
    sets: list[dict[str, Any]] = []
    for depth, row in tree.outline():
        if depth == 0:
            durations = [
                d
                for d in answer.records.get("duration", [])
                if (d["section"], d["indication"]) == (row["section"], row["indication"])
            ]
            sets.append({"where": tree.where(row["item_id"]), "items": [], "durations": durations})
        sets[-1]["items"].append((depth, row))
    return TEMPLATES.get_template("policy.md").render(
        answer=answer,
        about=context(answer, generated_at),
        sets=sets,
        statements=statements,
        appendices=appendices,
        unknown=unknown,
        md=md,
        source=lambda row: _source_mark(row, answer.documents),
        key=source_key(_sources(answer)),
    )


def _source_mark(row: dict[str, Any], documents: dict[str, dict[str, Any]]) -> str:
    """Nothing for text read from the document; otherwise what the element rests on."""
    if row["source"] == "document":
        return ""
    return f" *\\[{md(provenance_text(row, documents))}\\]*"


MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table").disable(["link", "image", "autolink"])
"""Policy text is third-party input: raw HTML is shown as text, and no text becomes a link or an image."""


def export_html(answer: Answer, generated_at: datetime | None = None) -> str:
    body = MARKDOWN.render(export_markdown(answer, generated_at))
    return TEMPLATES.get_template("page.html").render(title=f"{answer.policy_id} as of {answer.as_of}", body=body)


EXPORTS = {
    "csv": export_csv,
    "json": export_json,
    "xlsx": export_xlsx,
    "markdown": export_markdown,
    "html": export_html,
    "questionnaire": export_questionnaire,
}

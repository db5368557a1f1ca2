"""Diffs rendered for people: terminal text, markdown, CSV rows, a standalone HTML redline."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from kb.dates import utc_now
from kb.history.audit import Audit, HistoryAudit
from kb.history.diff import Change, Diff, Skipped, describe
from kb.history.mutations import MutationReport
from kb.store.asof import Answer
from kb.store.tree import CriteriaTree

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
Styler = Callable[[str, str], str]
"""``style(role, text)``: how a renderer marks deleted (``-``), inserted (``+``) and heading text."""

CSV_COLUMNS = (
    "policy",
    "from_date",
    "to_date",
    "from_version",
    "to_version",
    "table",
    "key",
    "kind",
    "substantive",
    "where_before",
    "where_after",
    "summary",
    "before",
    "after",
    "source_before",
    "source_after",
    "note",
    "from_effective",
    "to_effective",
    "effective_date_rule",
    "rule_dependent",
    "knowledge",
    "generated_at",
)


def plain(role: str, text: str) -> str:
    return {"-": f"[-{text}-]", "+": f"{{+{text}+}}"}.get(role, text)


def _label(diff: Diff) -> str:
    def side(answer: Any) -> str:
        return f"{answer.version['label']} ({answer.as_of})" if answer.version else f"not covered ({answer.as_of})"

    return f"{diff.policy_id}: {side(diff.before)} -> {side(diff.after)}"


def context_lines(answers: list[Answer], notices: list[str]) -> list[str]:
    """What a reader must know before the rows: notices, the effective-date rule, the
    rule-dependent windows (and what the other rule reads there), the knowledge time."""
    lines = [f"NOTICE: {notice}" for notice in notices]
    lines.append(f"effective-date rule: {answers[0].rule}; knowledge: {answers[-1].knowledge()}")
    lines += [f"EFFECTIVE: {line}" for answer in answers if (line := effective_text(answer))]
    for answer in answers:
        for window in answer.rule_dependent:
            lines.append(f"RULE-DEPENDENT ({answer.as_of}): {window['note']}")
            lines += [f"  under {window['other_rule']}, differs: {d}" for d in window["differences"]]
    return lines


def effective_text(answer: Answer) -> str:
    """When the answer's version takes effect, under each rule where the rules disagree
    ("V2024-11 takes effect 2024-11-01 under pt-month-start (used here), 2024-07-11 under revision-date")."""
    version = answer.version or {}
    dates = version.get("effective_dates") or {}
    if not dates:
        return ""
    if len(set(dates.values())) == 1:
        return f"{version['label']} takes effect {next(iter(dates.values()))} under every rule"
    under = ", ".join(
        f"{day} under {rule}{' (used here)' if rule == answer.rule else ''}" for rule, day in dates.items()
    )
    return f"{version['label']} takes effect {under}"


def _windows_cell(diff: Diff) -> str:
    return " | ".join(
        f"{answer.as_of}: {w['note']} Differs: {'; '.join(w['differences'])}"
        for answer in (diff.before, diff.after)
        for w in answer.rule_dependent
    )


def _substance(change: Change) -> str:
    return {True: "substantive", False: "non-substantive", None: "cannot be compared"}[change.substantive]


def _words(change: Change, style: Styler) -> str:
    return "".join(text if op == "=" else style(op, text) for op, text in change.words)


def diff_text(diff: Diff, everything: bool = False, style: Styler = plain) -> str:
    """The diff as a terminal reads it: one block per change, the audit below."""
    out = [
        style("heading", _label(diff)),
        *(f"  {line}" for line in context_lines([diff.before, diff.after], diff.notices)),
    ]
    shown = diff.shown(everything)
    if not shown and not diff.notices:
        out.append("  no changes")
    for change in shown:
        where = change.where_after or change.where_before or change.key
        out.append(f"  {style('heading', change.kind.upper())} {change.table} {where} [{_substance(change)}]")
        out.append(f"    {change.summary}")
        if change.words and change.kind in ("text changed", "logic changed", "changed", "replaced", "formatting"):
            out.append(f"    {_words(change, style)}")
        out += [f"    {style('-', '- ' + line)}" for line in change.subtree_before if change.kind != "logic changed"]
        out += [f"    {style('+', '+ ' + line)}" for line in change.subtree_after if change.kind != "logic changed"]
        if change.note:
            out.append(f"    note: {change.note}")
        out.append(f"    source: {change.source_before or '-'} -> {change.source_after or '-'}")
    hidden = len(diff.changes) - len(shown)
    if hidden:
        out.append(f"  ({hidden} formatting-only change(s) hidden; --all-changes shows them)")
    if diff.audit:
        out += ["", style("heading", "Revision-log audit"), *audit_lines(diff.audit)]
    return "\n".join(out)


def audit_lines(audit: Audit) -> list[str]:
    """An audit in lines: each clause and what it matched (or why not), then the problems."""
    lines = []
    for finding in audit.clauses:
        detail = ", ".join(finding.changes) or finding.reason or ""
        lines.append(
            f"  {finding.revision_date} #{finding.ordinal} [{finding.category}] {finding.status}: {finding.text}"
        )
        if detail:
            lines.append(f"      {detail}")
    lines.append(f"  logged, not seen: {len(audit.logged_not_seen())}")
    lines.append(f"  changed, not logged: {len(audit.unlogged)}")
    lines += [f"    {u.revision_date} {u.table} {u.key}: {u.summary}" for u in audit.unlogged]
    lines.append(f"  citations that do not fit: {len(audit.citations)}")
    lines += [f"    {c.revision_date} {c.source}: {c.reason}" for c in audit.citations]
    lines.append(f"  reconstructed logic contradicting its words: {len(audit.inconsistencies)}")
    lines += [f"    {line}" for line in audit.inconsistencies]
    return lines


def history_text(result: HistoryAudit) -> str:
    """``kb audit``: the whole history, then each document against the one before it."""
    span = result.span

    def name(answer: Answer) -> str:
        return f"{(answer.version or {}).get('label')} ({answer.as_of})"

    out = [f"{result.policy_id}: revision-log audit, {name(span.before)} .. {name(span.after)}"]
    out += [f"  {line}" for line in context_lines([span.before, span.after], span.notices)]
    out += audit_lines(result.history)
    if not result.documents:
        out += ["", "Documents: one document version loaded; no pair of documents to audit"]
    for audit in result.documents:
        step = audit.steps[0]
        out += [
            "",
            f"Document of {step['to']} against the document of {step['from']}: the log rows it adds, against the diff between the two",
        ]
        out += audit_lines(audit)
    out += [
        "",
        f"Change data against the log and the stored copies: {len(result.change_data)} claim(s) no witness supports",
    ]
    out += [f"  {line}" for line in result.change_data]
    problems = result.problems()
    out += ["", f"problems: {len(problems)}", *(f"  {p}" for p in problems)]
    return "\n".join(out)


def mutation_text(report: MutationReport) -> str:
    """``kb audit --mutations``: how many planted defects were caught, by whom, and which were missed."""
    counts = report.counts()
    total = len(report.outcomes)
    out = [
        f"{report.policy_id}: mutation check, {total} mutants of the change data",
        f"  caught {report.caught} of {total} ({report.share:.1%}): refused at load {counts['refused at load']}, "
        f"found by the audit {counts['found by the audit']}; missed {counts['missed']}",
        f"  the unchanged change data: {len(report.baseline)} problem(s)",
        "  by operator: " + ", ".join(f"{op} {c}/{t}" for op, (c, t) in report.by_operator().items()),
    ]
    missed = [o for o in report.outcomes if o.status == "missed"]
    out += ["  missed:" if missed else "  missed: none"] + [f"    {o.mutant.operator}: {o.mutant.name}" for o in missed]
    return "\n".join(out)


def diff_markdown(diff: Diff, everything: bool = False) -> str:
    """The diff as a markdown document; document text escaped as ``kb export --format markdown`` does."""

    def cell(text: Any) -> str:
        return md(text or "")

    def styled(role: str, text: str) -> str:
        """Document text escaped; struck or bold with the spaces around the words kept outside the
        marks ("6 months **or to**")."""
        core = text.strip()
        if role not in ("-", "+") or not core:
            return md(text)
        mark, after = ("~~", " ") if role == "-" else ("**", "")  # a deletion is never glued to its insertion
        return f"{text[: len(text) - len(text.lstrip())]}{mark}{md(core)}{mark}{text[len(text.rstrip()) :] or after}"

    out = [f"# {cell(_label(diff))}", ""]
    out += [f"- {cell(line)}" for line in context_lines([diff.before, diff.after], diff.notices)]
    out += ["", "| Change | Item | Substance | What changed | Source |", "|---|---|---|---|---|"]
    for change in diff.shown(everything):
        where = change.where_after or change.where_before or change.key
        words = "".join(styled(op, text) for op, text in change.words)
        shown = f"<br>{words}" if change.words else ""  # the summary is not repeated
        out.append(
            f"| {change.kind} | {change.table} {cell(where)} | {_substance(change)} | {cell(change.summary)}"
            f"{shown} | {cell(change.source_before or '-')} → {cell(change.source_after or '-')} |"
        )
    if diff.audit:
        out += [
            "",
            "## Revision-log audit",
            "",
            "| Revision | Clause | Category | Status | Matched / reason |",
            "|---|---|---|---|---|",
        ]
        for f in diff.audit.clauses:
            out.append(
                f"| {f.revision_date} | {cell(f.text)} | {f.category} | {f.status} | "
                f"{cell(', '.join(f.changes) or f.reason)} |"
            )
        out += ["", f"Changed, not logged: {len(diff.audit.unlogged)}"]
        out += [f"- {u.revision_date} {u.table} {cell(u.key)}: {cell(u.summary)}" for u in diff.audit.unlogged]
        out += ["", f"Citations that do not fit: {len(diff.audit.citations)}"]
        out += [f"- {c.revision_date} {cell(c.source)}: {cell(c.reason)}" for c in diff.audit.citations]
    return "\n".join(out) + "\n"


def diff_rows(diff: Diff, everything: bool = False, generated_at: str | None = None) -> list[dict[str, Any]]:
    """One row per change (and per notice), then one per finding of the revision-log audit, for CSV
    and spreadsheets; every row carries the effective-date rule, the rule-dependent windows, the
    knowledge time and when it was generated."""
    common = {
        "policy": diff.policy_id,
        "from_date": diff.before.as_of.isoformat(),
        "to_date": diff.after.as_of.isoformat(),
        "from_version": (diff.before.version or {}).get("label"),
        "to_version": (diff.after.version or {}).get("label"),
        "from_effective": effective_text(diff.before),
        "to_effective": effective_text(diff.after),
        "effective_date_rule": diff.before.rule,
        "rule_dependent": _windows_cell(diff),
        "knowledge": diff.after.knowledge(),
        "generated_at": generated_at or generated_now(),
    }
    notices = [{**common, "kind": "notice", "summary": notice} for notice in diff.notices]
    return notices + _change_rows(diff, everything, common) + audit_rows(diff.audit, common)


def audit_rows(audit: Audit | None, common: dict[str, Any]) -> list[dict[str, Any]]:
    """The revision-log audit as rows: each logged clause with what it matched or why not, each
    change no clause names, each citation that does not fit."""
    if audit is None:
        return []
    clauses = [
        {
            **common,
            "table": "revision log",
            "key": f"{f.revision_date} #{f.ordinal}",
            "kind": f"audit: {f.status}",
            "summary": f.text,
            "note": ", ".join(f.changes) or f.reason,
        }
        for f in audit.clauses
    ]
    unlogged = [
        {
            **common,
            "table": u.table,
            "key": u.key,
            "kind": "audit: changed, not logged",
            "summary": u.summary,
            "note": f"revision {u.revision_date}",
        }
        for u in audit.unlogged
    ]
    citations = [
        {
            **common,
            "table": "revision log",
            "key": c.revision_date,
            "kind": "audit: citation does not fit",
            "summary": c.source,
            "note": c.reason,
        }
        for c in audit.citations
    ]
    return clauses + unlogged + citations


def generated_now() -> str:
    """When an output is generated (UTC, to the second), as every diff format states it."""
    return utc_now().isoformat(timespec="seconds")


def _change_rows(diff: Diff, everything: bool, common: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            **common,
            "table": c.table,
            "key": c.key,
            "kind": c.kind,
            "substantive": _substance(c),
            "where_before": c.where_before,
            "where_after": c.where_after,
            "summary": c.summary,
            "before": describe(c.table, c.before) if c.before else None,
            "after": describe(c.table, c.after) if c.after else None,
            "source_before": c.source_before,
            "source_after": c.source_after,
            "note": c.note,
        }
        for c in diff.shown(everything)
    ]


_MARKDOWN = re.compile(r"([\\`*_{}\[\]<>|#])")
_FORMULA = re.compile(r"^(?:[=+@\t\r]|-(?!\d+(?:\.\d+)?$)\S)")
"""How a cell a spreadsheet would run as a formula begins (OWASP, CSV injection): =, +, @, a tab
or a carriage return, or a minus sign before anything but a space or a plain negative number."""


def md(text: Any) -> str:
    """Policy text made safe for markdown: its own marks are escaped, table cells stay one line."""
    return _MARKDOWN.sub(r"\\\1", str(text)).replace("\n", " ")


def formula_safe(value: Any) -> Any:
    """A value for a CSV cell: text a spreadsheet would run as a formula gets a leading ' (shown
    as text, as spreadsheets do with it); other values as they are."""
    return f"'{value}" if isinstance(value, str) and _FORMULA.match(value) else value


def as_text(sheet: Any) -> None:
    """Every text cell of an openpyxl worksheet stored as text, never as a formula (openpyxl
    takes any text that begins with = for one)."""
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"


def to_csv(rows: list[dict[str, Any]], columns: tuple[str, ...] | list[str]) -> str:
    """Rows as CSV, no cell a spreadsheet would run as a formula."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows({key: formula_safe(value) for key, value in row.items()} for row in rows)
    return buffer.getvalue()


def diff_html(
    diffs: list[Diff], everything: bool = False, skipped: list[Skipped] | None = None, generated: str | None = None
) -> str:
    """A standalone redline page: deletions struck, insertions marked, trees side by side, audit below."""
    pages = [
        {
            "label": _label(diff),
            "diff": diff,
            "context": context_lines([diff.before, diff.after], diff.notices),
            "changes": diff.shown(everything),
            "hidden": len(diff.changes) - len(diff.shown(everything)),
            "trees": [_tree(diff.before, diff.changes, "before"), _tree(diff.after, diff.changes, "after")],
        }
        for diff in diffs
    ]
    return TEMPLATES.get_template("diff.html").render(
        pages=pages, substance=_substance, skipped=skipped or [], generated=generated or generated_now()
    )


def skipped_lines(skipped: list[Skipped]) -> list[str]:
    """The policies a diff of every policy left out, one line each."""
    if not skipped:
        return []
    return [f"Skipped {len(skipped)} polic{'y' if len(skipped) == 1 else 'ies'} without the versions named:"] + [
        f"  {s.policy_id}: {s.reason}" for s in skipped
    ]


def skipped_rows(skipped: list[Skipped]) -> list[dict[str, Any]]:
    return [{"policy": s.policy_id, "kind": "skipped", "summary": s.reason} for s in skipped]


SIDE_MARKS = {"removed": ("removed", None), "added": (None, "added"), "replaced": ("removed", "added")}


def _tree(answer: Answer, changes: list[Change], side: str) -> dict[str, Any]:
    """One side of the side-by-side criteria: rows with depth, and how each one changed."""
    index = 0 if side == "before" else 1
    marks: dict[str, str | None] = {}
    for change in changes:
        record = change.before if side == "before" else change.after
        if change.table == "criterion" and record and change.substantive is not False:
            marks[record["item_id"]] = SIDE_MARKS.get(change.kind, ("changed", "changed"))[index]
    tree = CriteriaTree(answer.criteria())
    rows = []
    for depth, row in tree.outline():
        inherited = marks.get(row["parent_id"]) if row["parent_id"] else None
        if row["item_id"] not in marks and inherited in ("removed", "added"):
            marks[row["item_id"]] = inherited
        rows.append(
            {"depth": depth, "row": row, "where": tree.where(row["item_id"]), "mark": marks.get(row["item_id"])}
        )
    return {"answer": answer, "rows": rows}


def diff_table(items: Iterable[Diff | Skipped], everything: bool, generated: str | None = None) -> list[dict[str, Any]]:
    """The rows of the CSV and the workbook: every diff's rows, then the policies skipped."""
    generated = generated or generated_now()
    rows: list[dict[str, Any]] = []
    skipped: list[Skipped] = []
    for item in items:
        if isinstance(item, Skipped):
            skipped.append(item)
        else:
            rows += diff_rows(item, everything, generated)
    return rows + skipped_rows(skipped)


def render_diffs(items: Iterable[Diff | Skipped], fmt: str, everything: bool, style: Styler, single: bool) -> str:
    """The diffs in one format; a stream of diffs (``kb diff --all``) is rendered one policy at
    a time, and the policies skipped (without the versions named) are listed after them."""
    skipped: list[Skipped] = []

    def diffs() -> Iterator[Diff]:
        for item in items:
            if isinstance(item, Skipped):
                skipped.append(item)
            else:
                yield item

    generated = generated_now()
    if fmt == "text":
        body = "\n\n".join(diff_text(d, everything, style) for d in diffs())
        return "\n\n".join(p for p in (body, "\n".join(skipped_lines(skipped)), f"Generated {generated}.") if p)
    if fmt == "markdown":
        body = "\n".join(diff_markdown(d, everything) for d in diffs())
        return body + "".join(f"\n{line}" for line in skipped_lines(skipped)) + f"\nGenerated {generated}.\n"
    if fmt == "json":
        data = [{**d.to_json(everything), "generated_at": generated} for d in diffs()]
        if single:
            return json.dumps(data[0], indent=2, ensure_ascii=False, default=str)
        gone = [{"policy": s.policy_id, "reason": s.reason} for s in skipped]
        document = {"generated_at": generated, "diffs": data, "skipped": gone}
        return json.dumps(document, indent=2, ensure_ascii=False, default=str)
    if fmt == "csv":
        return to_csv(diff_table(items, everything, generated), CSV_COLUMNS)
    return diff_html(list(diffs()), everything, skipped, generated)

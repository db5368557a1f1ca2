"""The revision-log table read into dated rows, and whether a document is whole.

A log row is doubted where its dates may belong to another row; a document cut off at its end
is refused where its log is cut (a row without its Date, a Last Review newer than every row) and
flagged suspect where it only stops before the template's closing words.
"""

from __future__ import annotations

import re
from datetime import date

from kb.dates import Month, parse_policy_date, parse_policy_month
from kb.errors import DateFormatError
from kb.model import (
    Header,
    RevisionRow,
)
from loaders.context import ParseContext
from loaders.markup import plain
from loaders.sections import Section, joined
from loaders.source import Line
from loaders.tables import read_table

_LOG_DATE = re.compile(r"\b\d{2}\.\d{2}\.\d{2}\b")
CUT_OFF = "it ends before the template's closing words (the Important Reminder's copyright notice), so it is cut off"


def parse_revision_log(ctx: ParseContext, section: Section, whole: bool = True) -> list[RevisionRow]:
    """The revision log's rows. In a document that does not end as the template does, a last
    row without its Date cell (or with a Date cut short) means the text was cut mid-row: the
    document is refused."""
    heading = section.heading.text.split("\t") if section.heading else []
    _, rows = read_table(ctx, section.lines, 3, header=heading)
    if rows and not whole:
        after = [line for line in section.lines if line.number > rows[-1].lines[-1].number and not line.blank]
        if after and not any("\t" in line.raw for line in after):  # the line form: a row's text, no cells
            raise ctx.error(
                after[0].number,
                f"a revision-log row with its Date cell; the row is cut: {CUT_OFF}",
                joined(after)[-80:],
            )
    log: list[RevisionRow] = []
    for n, row in enumerate(rows, start=1):
        description, date_text, pt_text = row.cells
        number = row.lines[0].number
        try:
            revised = parse_policy_date(date_text)
            pt_month = parse_policy_month(pt_text) if pt_text else None
        except DateFormatError as error:
            if n == len(rows) and not whole:
                cell = "its Date cell" if not date_text else "whole dates"
                raise ctx.error(
                    number, f"the last revision-log row with {cell}; the row is cut: {CUT_OFF}", description[-80:]
                ) from None
            raise ctx.error(number, f"revision log dates as {error.expected}", error.found) from None
        _check_log_row(ctx, row.lines, description, revised, pt_month)
        log.append(RevisionRow(n, plain(description), revised, pt_month, provenance=ctx.provenance(number)))
    return log


def _check_log_row(ctx: ParseContext, lines: list[Line], description: str, revised: date, pt: Month | None) -> None:
    """Doubt a row whose dates may belong to another: a date inside its text, or a P&T month
    far from its Date (committees approve a revision within months of its writing)."""
    if _LOG_DATE.search(description):
        ctx.doubt(lines, "revision log", "a date inside the description: two rows may have run together")
    if pt is not None and not -1 <= (pt.year - revised.year) * 12 + pt.month - revised.month <= 12:
        ctx.doubt(
            lines, "revision log", f"P&T month {pt} is far from the row's Date {revised}: dates may be misassigned"
        )


def last_line(ctx: ParseContext) -> Line | None:
    """The document's last line of text, page furniture aside."""
    furniture = {n for n, (_, kind) in ctx.claims.items() if kind == "page header"}
    return next((line for line in reversed(ctx.source.lines) if not line.blank and line.number not in furniture), None)


def check_complete(ctx: ParseContext, header: Header, log: list[RevisionRow], end: Line | None, whole: bool) -> None:
    """A document cut off at its end must not load as whole. The header's Last Review is the
    month of the newest revision-log row (its P&T approval, else its Date): a Last Review newer
    than every row means rows are missing. In a document that also stops before the template's
    closing words, that is a cut-off log: refused. In an otherwise whole document the header
    and the log disagree: suspect. A document that only stops early (the log agrees with the
    header; the text ends inside the Important Reminder) loads with its end flagged suspect."""
    months = [(r.pt_month.year, r.pt_month.month) for r in log if r.pt_month]
    latest_pt = max(months, default=None)
    newest = max([*months, *((r.date.year, r.date.month) for r in log)])
    review_month = (header.last_review.year, header.last_review.month)
    if review_month <= newest and (latest_pt is None or review_month >= latest_pt) and whole:
        return  # the usual case: header and log agree, the document ends as the template does
    review, newest_text = str(header.last_review), "{:04d}-{:02d}".format(*newest)
    review_line = next(
        (line for line in ctx.source.lines[:60] if re.match(r"^\**Last Review Date", line.text.strip(), re.I)), None
    )
    if review_month > newest:
        newest = newest_text
        found = f"Last Review Date {review}, newest revision-log row {newest}"
        row = log[-1].provenance.span
        if not whole:
            raise ctx.error(
                row.first if row else None,
                f"a revision log that reaches the header's Last Review Date ({review}); rows are missing: {CUT_OFF}",
                found,
            )
        ctx.doubt(
            [review_line] if review_line else [],
            "truncated",
            f"the header's Last Review Date {review} is newer than every revision-log row ({newest}): rows may be missing",
        )
    elif latest_pt and review_month < latest_pt:
        ctx.doubt(
            [review_line] if review_line else [],
            "last review",
            f"the header's Last Review Date {review} is older than the newest P&T approval in the log "
            f"({latest_pt[0]:04d}-{latest_pt[1]:02d})",
        )
    if not whole and end is not None:
        ctx.doubt(
            [end],
            "truncated",
            "the document stops before the template's closing words (the Important Reminder's copyright notice): "
            "it may be cut off",
        )

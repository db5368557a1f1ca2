"""The loader for the Centene clinical-policy template: text in, ``PolicyDocument`` out.

A pipeline of small steps: read -> strip page furniture -> split sections -> parse each
section into records -> bind footnotes -> account for every line (coverage).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from kb.dates import parse_long_date, parse_policy_date, parse_policy_month
from kb.errors import DateFormatError, NotCenteneTemplate
from kb.model import (
    Code,
    Criterion,
    CrossReference,
    DosingRow,
    Drug,
    Duration,
    Header,
    PolicyDocument,
    Provenance,
    Record,
    Reference,
    RevisionRow,
    Statement,
)
from loaders.context import BOILERPLATE, PARSED, ParseContext
from loaders.criteria import bind_footnotes, parse_criteria, parse_tail, section_notes, split_indications
from loaders.crossrefs import ALL_LINES, CONTINUITY_OF_CARE, cross_references
from loaders.durations import NO_REAUTHORIZATION, header_lines_of_business
from loaders.headings import heading_mark
from loaders.identity import with_unique_keys
from loaders.markup import html_cell_text, plain, strip_emphasis
from loaders.reminder import ReminderReader, ends_with_closing
from loaders.revision_log import CUT_OFF, check_complete, last_line, parse_revision_log
from loaders.sections import Section, joined, paragraphs, raw, split_sections, strip_page_headers, unbulleted
from loaders.source import (
    BIDI,
    CONTROL,
    DEFAULT_READ,
    MAX_LINE_CHARS,
    Line,
    ReadOptions,
    SourceText,
    read_source,
    source_from_bytes,
    unread_long_lines,
)
from loaders.tables import read_table

T = TypeVar("T")
_TITLE = re.compile(r"^\**Clinical Policy:\s*(.+?)\**$", re.I)
_FIELD = re.compile(r"^\**(Reference Number|Effective Date|Last Review Date|Line of Business)\**:\s*(.*)$", re.I)
_DRUG = re.compile(r"(.+?)\s*\(([^)]+)\)")
_URL = re.compile(r"(?:Available (?:at|from|online)\b:?\s*)?<?((?:https?://|www\.)\S+?)>?[.,;]?(?=\s|$)", re.I)
_ACCESSED = re.compile(r"Accessed\s*([A-Z][a-z]+\.? \d{1,2},\s*\d{4})", re.I)
_TERM = re.compile(r"^([A-Za-z0-9/\-+ ]{1,40}?):\s+(.+)$")
_APPENDIX = re.compile(r"^Appendix ([A-Z]):\s*(.*)$", re.I)
_DEFINITION = re.compile(r"^\*?\s*([A-Za-z]+) \(([^)]+)\) is defined as", re.I)
_TWO_DESCRIPTIONS = re.compile(r"\S.*[a-z0-9,] (?:Injection,|Unclassified|Prescription drug|Noc |Not otherwise)")
_LONG_LINE = f"no line of the template is longer than {MAX_LINE_CHARS:,} characters"
_NAVIGATION = re.compile(
    r"^\[.+\]\(#\)|^See \[?Important[ _]Reminder|^<!--.*-->$|^(?:Coding[ _]Implications )?Revision Log$", re.I
)


REQUIRED_SECTIONS = {
    "I": "an 'I. Initial Approval Criteria' section",
    "II": "a 'II. Continued Therapy' section",
    "log": "the revision-log table ('Reviews, Revisions, and Approvals')",
}
"""What a document must hold to be taken as a policy of the template (with its header)."""


def load_path(path: str | Path, options: ReadOptions = DEFAULT_READ) -> PolicyDocument:
    """Read and parse one policy file."""
    return parse_source(read_source(path, options))


def policy_id_of(path: str | Path, options: ReadOptions = DEFAULT_READ) -> str:
    """A file's reference number, read from its header alone."""
    return parse_header(ParseContext(read_source(path, options))).reference_number


def load_text(name: str, text: str, options: ReadOptions = DEFAULT_READ) -> PolicyDocument:
    """Parse policy text given in memory (``name`` stands for the file in errors)."""
    return parse_source(source_from_bytes(name, text.encode("utf-8"), options))


def _doubt_characters(ctx: ParseContext, source: SourceText) -> None:
    """Doubt every line that holds a character the template never uses: a control character
    (loaded with --allow-control-characters), a bidirectional control, a line too long to read."""
    for line in source.lines:
        if len(line.text) > MAX_LINE_CHARS:
            ctx.doubt([line], "long line", f"a line of {len(line.text):,} characters, not read: {_LONG_LINE}")
    for line in source.lines if source.has_control_characters else ():
        if control := CONTROL.search(line.raw):
            ctx.doubt([line], "character", f"a character the template never uses: U+{ord(control.group(0)):04X}")
    for line in source.lines if BIDI.search(source.text) else ():
        if bidi := BIDI.search(line.raw):
            ctx.doubt(
                [line],
                "character",
                f"a bidirectional control (U+{ord(bidi.group(0)):04X}): the text may display "
                "in another order than it reads",
            )


def parse_source(source: SourceText) -> PolicyDocument:
    ctx = ParseContext(replace(source, lines=unread_long_lines(source.lines)))
    _doubt_characters(ctx, source)
    header = parse_header(ctx)
    running_name = re.sub(r"\s*\(.*$", "", header.title)
    sections = split_sections(strip_page_headers(ctx, running_name))
    by_name = {section.name: section for section in sections}
    end = last_line(ctx)
    reminder = by_name.get("reminder")
    whole = end is not None and ends_with_closing(end.text[-400:])
    if not whole and reminder and reminder.heading:  # the closing may be followed by text that is not the template's
        whole = ends_with_closing(joined([reminder.heading, *reminder.lines]))
    missing = [part for name, part in REQUIRED_SECTIONS.items() if name not in by_name]
    if missing:
        cut = "" if whole or end is None else f" (the text stops at line {end.number}: {CUT_OFF})"
        raise ctx.error(None, f"every part the template requires; missing {', '.join(missing)}{cut}")
    records: list[Record] = []
    revision_log: list[RevisionRow] = []
    for section in sections:
        if section.heading:
            ctx.claim([section.heading, *([section.continued] if section.continued else [])])
        if section.name in ("I", "II"):
            records += parse_criteria_section(ctx, section, header.lines_of_business)
        elif section.name == "log":
            revision_log = parse_revision_log(ctx, section, whole)
        elif section.name in _SECTION_PARSERS:
            records += _SECTION_PARSERS[section.name](ctx, section)
    if not any(isinstance(r, Criterion) and r.section == "I" and r.parent_id for r in records):
        raise ctx.error(
            by_name["I"].heading.number if by_name["I"].heading else None,
            "initial approval criteria (numbered items) under section I",
        )
    if not revision_log:
        heading = by_name["log"].heading
        cut = "" if whole else f" ({CUT_OFF})"
        raise ctx.error(heading.number if heading else None, f"at least one dated row in the revision-log table{cut}")
    check_complete(ctx, header, revision_log, end, whole)
    records = with_unique_keys(ctx, bind_footnotes(records))
    return PolicyDocument(
        source.path,
        source.sha256,
        source.text,
        header,
        tuple(records),
        tuple(revision_log),
        ctx.coverage(),
        len(source.lines),
        source.form,
        source.reading,
    )


def parse_header(ctx: ParseContext) -> Header:
    """Title, reference number, dates and lines of business from the first lines."""
    lines = [line for line in ctx.source.lines if not line.blank]
    title_line = next((line for line in lines[:12] if _TITLE.match(line.text.strip())), None)
    fields: dict[str, Line] = {}
    for line in lines[:20]:
        match = _FIELD.match(line.text.strip())
        if match:
            fields.setdefault(match.group(1).lower(), line)
    if title_line is None or not fields:
        raise NotCenteneTemplate(
            ctx.source.path,
            lines[0].number,
            "a Centene clinical policy (a 'Clinical Policy: <drug>' title and 'Reference Number:' line)",
            found=lines[0].text.strip()[:80],
        )
    ctx.claim([title_line, *fields.values()])
    title = _TITLE.match(title_line.text.strip()).group(1).strip()  # type: ignore[union-attr]
    reference = _field(ctx, fields, "reference number", "a 'Reference Number: CP.PHAR.NNN' line", title_line)
    if not re.fullmatch(r"[A-Z]{2,4}(?:\.[A-Z0-9]+)+", reference):
        raise ctx.error(fields["reference number"].number, "a reference number such as CP.PHAR.359", reference)
    effective = _dated(ctx, fields, "effective date", parse_policy_date, title_line)
    last_review = _dated(ctx, fields, "last review date", parse_policy_month, title_line)
    lobs = _lines_of_business(ctx, fields.get("line of business"), title_line)
    drugs = tuple(
        Drug(match.group(1).strip(), tuple(b.strip() for b in re.split(r",| and ", match.group(2))))
        for part in re.split(r"(?<=\)),\s*", title)
        if (match := _DRUG.fullmatch(part.strip()))
    ) or (Drug(title, ()),)
    return Header(title, reference, drugs, effective, last_review, lobs)


def _lines_of_business(ctx: ParseContext, line: Line | None, title_line: Line) -> tuple[str, ...]:
    """The header's lines of business; where it states none (or words it does not know), the
    doubt is recorded and nothing is defaulted."""
    known, unknown = header_lines_of_business(strip_emphasis(line.text.split(":", 1)[1]) if line else "")
    if not known:
        ctx.doubt([line or title_line], "line of business", "no line of business stated: stored as unknown")
    elif unknown:
        ctx.doubt([line], "line of business", f"line of business words not recognised: {', '.join(unknown)}")
    return known


def _field(ctx: ParseContext, fields: dict[str, Line], name: str, expected: str, near: Line) -> str:
    if name not in fields:
        raise ctx.error(near.number, expected, found="no such line near the title")
    return strip_emphasis(fields[name].text.split(":", 1)[1]).strip()


def _dated(ctx: ParseContext, fields: dict[str, Line], name: str, parse: Callable[[str], T], near: Line) -> T:
    text = _field(ctx, fields, name, f"a '{name.title()}:' line", near)
    try:
        return parse(text)
    except DateFormatError as error:
        raise ctx.error(fields[name].number, f"{name.title()} as {error.expected}", text) from None


def _statements(ctx: ParseContext, section: Section, kind: str) -> list[Record]:
    return [
        Statement(
            kind,
            n,
            plain(joined(p)),
            raw_text=raw(p),
            provenance=ctx.provenance_of(p),
        )
        for n, p in enumerate(_claimed_paragraphs(ctx, section.lines), start=1)
    ]


def _claimed_paragraphs(ctx: ParseContext, lines: list[Line]) -> list[list[Line]]:
    found = []
    for paragraph in paragraphs(lines):
        if _NAVIGATION.match(paragraph[0].text.strip()):
            ctx.claim(paragraph, BOILERPLATE, "navigation")
            continue
        ctx.claim(paragraph)
        found.append(paragraph)
    return found


def _claim_navigation(ctx: ParseContext, section: Section) -> list[Record]:
    """The header's links ("[Coding Implications](#)..."): boilerplate; anything else stays unparsed."""
    for line in section.lines:
        if _NAVIGATION.match(line.text.strip()):
            ctx.claim([line], BOILERPLATE, "navigation")
    return []


def parse_criteria_section(ctx: ParseContext, section: Section, lobs: tuple[str, ...]) -> list[Record]:
    """Section I or II: its notes, each indication's tree, footnotes, durations and cross-references."""
    lines = list(section.lines)
    heading = section.heading
    mark, rest = heading_mark(section.name, heading.text) if heading else (None, "")
    if heading and rest:  # "I. Initial Approval Criteria**A. ...**", or a note, on the heading's line
        lines.insert(0, Line(heading.number, heading.raw, rest))
    indications = split_indications(lines)
    preface = lines[: lines.index(indications[0][0])] if indications else []
    records: list[Record] = section_notes(ctx, section, mark, preface)
    for indication_heading, letter, title, body in indications:
        criteria, tail = parse_criteria(ctx, section.name, letter, indication_heading, title, body)
        records += criteria
        durations = parse_tail(ctx, section.name, letter, tail, lobs)
        if any(isinstance(c, Criterion) and c.text and NO_REAUTHORIZATION.search(c.text) for c in criteria):
            durations = [
                replace(d, reauthorization_permitted=False) if isinstance(d, Duration) else d for d in durations
            ]
        records += durations
        for criterion in criteria:
            if isinstance(criterion, Criterion) and criterion.text:
                records += _referrals(ctx, criterion.item_id, criterion.text, criterion.provenance)
    return records


def _referrals(ctx: ParseContext, item_id: str, text: str, provenance: Provenance) -> list[CrossReference]:
    """An item's cross-references; a policy it names for no line of business, other than a
    continuity-of-care document, is doubted (its role and reach are not stated)."""
    found = cross_references(item_id, text, provenance)
    for ref in found:
        if ref.line_of_business == ALL_LINES and ref.role != CONTINUITY_OF_CARE:
            ctx.doubt_span(provenance.span, "cross reference", f"{ref.policy_ref} is named for no line of business")
    return found


def parse_noncovered(ctx: ParseContext, section: Section) -> list[Record]:
    records: list[Record] = []
    for n, paragraph in enumerate(_claimed_paragraphs(ctx, section.lines), start=1):
        text = plain(unbulleted(paragraph))
        letter_match = re.match(r"^([A-Z])\.\s+(.*)$", text)
        term, body = letter_match.groups() if letter_match else (str(n), text)
        provenance = ctx.provenance_of(paragraph)
        records.append(Statement("non_covered", n, body, term=term, raw_text=raw(paragraph), provenance=provenance))
        records += _referrals(ctx, f"III.{term}", body, provenance)
    return records


def parse_appendices(ctx: ParseContext, section: Section) -> list[Record]:
    records: list[Record] = []
    heading, letter, count = "", "", 0
    for paragraph in _claimed_paragraphs(ctx, section.lines):
        text = plain(unbulleted(paragraph))
        appendix = _APPENDIX.match(text)
        provenance = ctx.provenance_of(paragraph)
        if appendix:
            letter, heading, count = appendix.group(1), text, 0
            continue
        count += 1
        term = _TERM.match(text)
        if "abbreviation" in heading.lower() and term:
            records.append(
                Statement(
                    "abbreviation",
                    count,
                    term.group(2),
                    heading=heading,
                    term=term.group(1),
                    raw_text=raw(paragraph),
                    provenance=provenance,
                )
            )
        else:
            records.append(
                Statement(
                    "appendix",
                    count,
                    text,
                    heading=heading,
                    term=f"{letter}.{count}",
                    raw_text=raw(paragraph),
                    provenance=provenance,
                )
            )
    return records


def parse_dosing(ctx: ParseContext, section: Section) -> list[Record]:
    _, rows = read_table(ctx, section.lines, 3)
    records: list[Record] = [
        DosingRow(
            n,
            html_cell_text(row.cells[0]),
            html_cell_text(row.cells[1]),
            html_cell_text(row.cells[2]),
            raw_text=raw(row.lines),
            provenance=ctx.provenance_of(row.lines),
        )
        for n, row in enumerate(rows, start=1)
    ]
    prose = [line for line in section.lines if "\t" not in line.raw]
    for n, paragraph in enumerate(_claimed_paragraphs(ctx, prose), start=1):
        text = strip_emphasis(plain(joined(paragraph)))
        definition = _DEFINITION.match(text)
        records.append(
            Statement(
                "definition" if definition else "dosing_note",
                n,
                text,
                term=definition.group(1) if definition else None,
                raw_text=raw(paragraph),
                provenance=ctx.provenance_of(paragraph),
            )
        )
    return records


def parse_references(ctx: ParseContext, section: Section) -> list[Record]:
    records: list[Record] = []
    for n, paragraph in enumerate(_numbered_references(_claimed_paragraphs(ctx, section.lines)), start=1):
        text = re.sub(r"^[-•]\s*|^\d+\.\s+", "", joined(paragraph))
        url = _URL.search(text)
        accessed = _ACCESSED.search(text)
        citation = text[: url.start()].strip() if url else re.sub(r"\s*Accessed\s*[A-Z].*$", "", text)
        try:
            accessed_on = parse_long_date(accessed.group(1).replace(".", "")) if accessed else None
        except DateFormatError as error:  # a reference whose date is not a date: read, the date unknown
            accessed_on = None
            ctx.doubt(paragraph, "accessed date", f"an accessed date not read (expected {error.expected})")
        if url is None and re.search(r"https?:|www\.", text):
            ctx.doubt(paragraph, "url", "a web address that was not read as the reference's URL")
        if url and url.group(1).rstrip(".>").endswith("-"):
            ctx.doubt(paragraph, "url", "a URL ending in a hyphen: it may be cut")
        records.append(
            Reference(
                n,
                plain(citation),
                url.group(1).rstrip(".>") if url else None,
                accessed_on,
                raw_text=raw(paragraph),
                provenance=ctx.provenance_of(paragraph),
            )
        )
    return records


def _numbered_references(found: list[list[Line]]) -> list[list[Line]]:
    """In a numbered list ("1. ...", "2. ..."), a paragraph that does not start with the next
    number continues the reference before it (a page break split it: "... et al." / "2018
    update of the EULAR recommendations ...")."""
    if not found or not re.match(r"^1\.\s", found[0][0].text.strip()):
        return found
    merged: list[list[Line]] = []
    for paragraph in found:
        text = paragraph[0].text.strip()
        if merged and not re.match(r"^(?:\d{1,2}\.\s|[-•])", text):
            merged[-1] = merged[-1] + paragraph
        else:
            merged.append(paragraph)
    return merged


def parse_coding(ctx: ParseContext, section: Section) -> list[Record]:
    tab_lines = [line for line in section.lines if "\t" in line.raw]
    for paragraph in paragraphs([line for line in section.lines if "\t" not in line.raw]):
        ctx.claim(paragraph, BOILERPLATE, "coding disclaimer")
    records: list[Record] = []
    for table_start in _table_starts(tab_lines):
        header, rows = read_table(ctx, table_start, 2, continuation=False)
        system = re.sub(r"\s*Codes?$", "", header[0], flags=re.I).upper().replace("HCPSC", "HCPCS")
        for n, row in enumerate(rows, start=1):
            if _TWO_DESCRIPTIONS.search(row.cells[1] or row.cells[0]):
                ctx.doubt(row.lines, "code", "a code description that may hold two")
            code = row.cells[0] if re.fullmatch(r"[A-Z0-9]{4,7}(?:\.[0-9A-Z]+)?", row.cells[0]) else None
            records.append(
                Code(system, code, row.cells[1] or row.cells[0], n, provenance=ctx.provenance(row.lines[0].number))
            )
    return records


def _table_starts(tab_lines: list[Line]) -> list[list[Line]]:
    """Coding tables one after another, each from its "... Codes<TAB>Description" header."""
    tables: list[list[Line]] = []
    for line in tab_lines:
        if re.match(r"^\S.*codes?\t", line.text, re.I) and "description" in line.text.lower():
            tables.append([])
        if tables:
            tables[-1].append(line)
    return tables


def parse_reminder(ctx: ParseContext, section: Section) -> list[Record]:
    """The template's reminder is boilerplate; any other text there is kept and reported."""
    reader = ReminderReader()
    for paragraph in paragraphs(section.lines):
        foreign = reader.foreign(joined(paragraph))
        if foreign:
            ctx.doubt(paragraph, "after reminder", f"text where the template expects none: {foreign[0][:80]!r}")
            ctx.claim(paragraph, PARSED)
            continue
        kind = "copyright" if paragraph[0].text.startswith(("©", "(c)")) else "important reminder"
        ctx.claim(paragraph, BOILERPLATE, kind)
    return []


_SECTION_PARSERS = {
    "description": lambda ctx, s: _statements(ctx, s, "description"),
    "fda": lambda ctx, s: _statements(ctx, s, "fda_indication"),
    "policy": lambda ctx, s: _statements(ctx, s, "criteria_preamble"),
    "header": lambda ctx, s: _claim_navigation(ctx, s),
    "III": parse_noncovered,
    "IV": parse_appendices,
    "V": parse_dosing,
    "VI": lambda ctx, s: _statements(ctx, s, "product_availability"),
    "VII": parse_references,
    "coding": parse_coding,
    "reminder": parse_reminder,
}

"""Cutting a Centene policy into its sections, and the page furniture that is not content."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from loaders.context import BOILERPLATE, ParseContext
from loaders.flattened import HEADINGS as FLAT_HEADINGS
from loaders.headings import CRITERIA_HEADINGS
from loaders.source import Line

SECTION_HEADINGS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("description", re.compile(r"^Description:?$", re.I)),
    ("fda", re.compile(r"^FDA Approved Indication\(?s?\)?:?$", re.I)),
    ("policy", re.compile(r"^Policy/Criteria$", re.I)),
    ("I", re.compile(rf"^{CRITERIA_HEADINGS['I']}", re.I)),
    ("II", re.compile(rf"^{CRITERIA_HEADINGS['II']}", re.I)),
    ("III", re.compile(r"^III\.\s+Diagnoses/Indications for which coverage is NOT authorized", re.I)),
    ("IV", re.compile(r"^IV\.\s+Appendices", re.I)),
    ("V", re.compile(r"^V\.\s+Dosage and Administration", re.I)),
    ("VI", re.compile(r"^VI\.\s+Product Availability", re.I)),
    ("VII", re.compile(r"^VII\.\s+References", re.I)),
    ("coding", re.compile(r"^Coding[ _]Implications$", re.I)),
    ("log", re.compile(r"^Reviews, Revisions,? and Approvals", re.I)),
    ("reminder", re.compile(r"^Important Reminder$", re.I)),
)
_PAGE_FURNITURE = re.compile(
    r"^(?:CLINICAL POLICY|(?:CLINICAL POLICY .{1,120} )?Page \d+ of \d+(?: CLINICAL POLICY .{1,120})?)$"
)
"""A page header or footer on a line of its own; the flattened form keeps "Page N of M" beside it."""
_SPLIT_HEADING_LENGTH = 60
"""The longest first part of a heading a page break split (the longest heading's words)."""
_RUN_ON = {name: words for name, words in FLAT_HEADINGS if name in ("III", "IV", "V", "VI", "VII")}
"""The whole headings of the sections whose first text may run onto the heading's line
(sections I and II read theirs with the heading's marks, ``loaders.headings``)."""
_BULLET = re.compile(r"^\s*(?:[-•*]\s+|\d+\.\s)")


@dataclass
class Section:
    name: str
    heading: Line | None
    lines: list[Line] = field(default_factory=list)
    continued: Line | None = None
    """The line a heading split by a page break continues on (``heading`` holds its whole text)."""


def strip_page_headers(ctx: ParseContext, running_name: str) -> list[Line]:
    """The lines without the running header ("CLINICAL POLICY" + drug name) a page break leaves."""
    lines = list(ctx.source.lines)
    kept: list[Line] = []
    skip_name = False
    name = running_name.lower()
    for line in lines:
        text = re.sub(r"\*+", "", line.text).strip()
        if _PAGE_FURNITURE.match(text) or (text.startswith("CLINICAL POLICY") and text[15:].strip().lower() == name):
            ctx.claim([line], BOILERPLATE, "page header")
            skip_name = text == "CLINICAL POLICY"
            continue
        if skip_name and not line.blank:
            skip_name = False
            if text.lower() == name:
                ctx.claim([line], BOILERPLATE, "page header")
                continue
        kept.append(line)
    return kept


def split_sections(lines: list[Line]) -> list[Section]:
    """Sections by their headings; what precedes the first is the ``header`` section. A heading
    a page break split ("I. Initial Approval" | page header | "Criteria") is read whole."""
    sections = [Section("header", None)]
    seen: set[str] = set()
    continuations: set[int] = set()
    for index, line in enumerate(lines):
        if line.number in continuations:
            continue
        name, heading, continued = _heading(lines, index)
        if name and name not in seen:
            seen.add(name)
            sections.append(Section(name, heading, continued=continued))
            continuations |= {continued.number} if continued else set()
            if rest := _run_on(name, heading.text):  # "VII. References 1. ...": the section's first text
                sections[-1].lines.append(Line(heading.number, heading.raw, rest))
        else:
            sections[-1].lines.append(line)
    return sections


def _run_on(name: str, heading: str) -> str:
    """The text after a section's whole heading on its line, for the sections of ``_RUN_ON``."""
    if name not in _RUN_ON:
        return ""
    whole = _RUN_ON[name].replace(" ", r"\s+")
    words = re.match(rf"^\**{whole}\**", heading.strip(), re.I)
    return heading.strip()[words.end() :].strip(" :*") if words else ""


def _heading_name(text: str) -> tuple[str | None, str]:
    """The section a line's text heads (None: none), and the text after its heading words."""
    stripped = text.strip().strip("*")
    for name, pattern in SECTION_HEADINGS:
        if match := pattern.match(stripped):
            return name, stripped[match.end() :]
    return None, stripped


def _heading(lines: list[Line], index: int) -> tuple[str | None, Line, Line | None]:
    """(section name, heading, the line a split heading continues on) for the line at ``index``:
    the line alone, or with the next non-blank line where the heading's words run onto it."""
    line = lines[index]
    name, _ = _heading_name(line.text)
    if name or line.blank or len(line.text.strip()) > _SPLIT_HEADING_LENGTH:
        return name, line, None
    after = index + 1
    while after < len(lines) and lines[after].blank:
        after += 1
    if after == len(lines):
        return None, line, None
    following = lines[after]
    whole = f"{line.text.strip()} {following.text.strip()}"
    name, rest = _heading_name(whole)
    if name is None or len(rest) >= len(following.text.strip()):  # the heading's words end on the first line
        return None, line, None
    return name, Line(line.number, line.raw, whole), following


def paragraphs(lines: list[Line]) -> list[list[Line]]:
    """Paragraphs: runs of non-blank lines, a bullet starting a new one; a paragraph that
    starts in lower case after a break continues the one before (a page break split it)."""
    found: list[list[Line]] = []
    after_blank = True
    for line in lines:
        if line.blank:
            after_blank = True
            continue
        starts_lower = line.text.strip()[:1].islower()
        if found and ((not after_blank and not _BULLET.match(line.text)) or (after_blank and starts_lower)):
            found[-1].append(line)
        else:
            found.append([line])
        after_blank = False
    return found


def joined(paragraph: list[Line]) -> str:
    return " ".join(line.text.strip() for line in paragraph)


def raw(lines: list[Line]) -> str:
    """The lines as the source wrote them, before normalisation."""
    return "\n".join(line.raw for line in lines)


def unbulleted(paragraph: list[Line]) -> str:
    """A paragraph's text without its leading bullet ("- " or "• ")."""
    return re.sub(r"^[-•]\s*", "", joined(paragraph))

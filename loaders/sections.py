"""Cutting a Centene policy into its sections, and the page furniture that is not content."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from loaders.context import BOILERPLATE, ParseContext
from loaders.source import Line

SECTION_HEADINGS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("description", re.compile(r"^Description:?$", re.I)),
    ("fda", re.compile(r"^FDA Approved Indication\(?s?\)?:?$", re.I)),
    ("policy", re.compile(r"^Policy/Criteria$", re.I)),
    ("I", re.compile(r"^I\.\s+Initial Approval Criteria", re.I)),
    ("II", re.compile(r"^II\.\s+Continued (?:Therapy|Approval)", re.I)),
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
_BULLET = re.compile(r"^\s*(?:[-•*]\s+|\d+\.\s)")


@dataclass
class Section:
    name: str
    heading: Line | None
    lines: list[Line] = field(default_factory=list)


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
    """Sections by their headings; what precedes the first is the ``header`` section."""
    sections = [Section("header", None)]
    seen: set[str] = set()
    for line in lines:
        stripped = line.text.strip().strip("*")
        name = next((n for n, pattern in SECTION_HEADINGS if pattern.match(stripped)), None)
        if name and name not in seen:
            seen.add(name)
            sections.append(Section(name, line))
        else:
            sections[-1].lines.append(line)
    return sections


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

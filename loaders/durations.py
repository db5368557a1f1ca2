"""Approval durations: "HIM/Medicaid – 6 months (up to 6 cycles total)" gives two rows."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from kb.model import Duration, Record
from loaders.context import ParseContext
from loaders.markup import plain
from loaders.source import Line

_PREFIX = re.compile(r"^(?P<lobs>[A-Za-z][A-Za-z/,& ]*?)\s*[–—:-]\s*(?P<rest>.+)$")
_RENEWAL = re.compile(r"or (?:(?:to|until) )?(?:the )?member[’']s renewal (?:date|period),? whichever is longer", re.I)
_CYCLES = re.compile(r"up to (\d+) cycles", re.I)
NO_REAUTHORIZATION = re.compile(r"re-?authori[sz]ation is not permitted", re.I)
_LOB_ALIASES = {
    "commercial": "Commercial",
    "him": "HIM",
    "marketplace": "HIM",
    "health insurance marketplace": "HIM",
    "medicaid": "Medicaid",
}
UNSTATED = "unknown"
"""The line of business of a duration in a policy whose header states none: unknown, never defaulted."""


def _tokens(text: str) -> list[str]:
    return [re.sub(r"[*†‡]", "", t).strip().lower() for t in re.split(r"[/,&]|\band\b", text) if t.strip()]


def lines_of_business_in(text: str) -> tuple[str, ...] | None:
    """The lines of business a prefix such as "HIM/Medicaid" names, or None if it names none."""
    tokens = _tokens(text)
    if tokens and all(t in _LOB_ALIASES for t in tokens):
        return tuple(dict.fromkeys(_LOB_ALIASES[t] for t in tokens))
    return None


def header_lines_of_business(text: str) -> tuple[tuple[str, ...], list[str]]:
    """The lines of business a header's "Line of Business:" names, and the words it does not
    recognise ("HIM*" is HIM: the star points to a note)."""
    tokens = _tokens(text)
    known = tuple(dict.fromkeys(_LOB_ALIASES[t] for t in tokens if t in _LOB_ALIASES))
    return known, [t for t in tokens if t not in _LOB_ALIASES]


@dataclass(frozen=True)
class Length:
    """One length a duration text gives, with the condition it is given under (if any)."""

    amount: int | None
    unit: str | None
    condition: str | None = None

    def fields(self) -> dict[str, int | None]:
        value = self.amount
        return {
            "months": value * 12 if self.unit == "year" else value if self.unit == "month" else None,
            "weeks": value if self.unit == "week" else None,
            "days": value if self.unit == "day" else None,
        }


_LENGTH = re.compile(r"(?<!\bevery )(?<!\bwithin )(?<!\blast )\b(\d+)\s*(month|week|day|year)s?\b", re.I)
_DASHED_CONDITION = re.compile(r"(?:^|[,;]\s*|\bor\s+)([^–—,;()]+?)\s+[–—-]\s+$")
_FOR_CONDITION = re.compile(r"^\s*(?:for|if|when)\s+(.+?)\s*(?=$|\bor\b|[,;()])", re.I)
_PAREN_CONDITION = re.compile(r"^\s*\(((?:if|for|when|during)\b[^)]*)\)", re.I)
_NO_LENGTH = re.compile(r"^(?:not applicable|n/?a)\.?$", re.I)


def lengths_of(text: str) -> tuple[list[Length], str | None]:
    """The lengths a duration text gives, each with its condition, and a doubt where the text
    gives several lengths whose conditions cannot be told apart."""
    found = list(_LENGTH.finditer(text))
    if len(found) <= 1 or len({(m.group(1), m.group(2).lower()) for m in found}) == 1:
        first = found[0] if found else None
        return [Length(int(first.group(1)), first.group(2).lower()) if first else Length(None, None)], None
    lengths = []
    for index, match in enumerate(found):
        before = text[found[index - 1].end() if index else 0 : match.start()]
        after = text[match.end() : found[index + 1].start() if index + 1 < len(found) else len(text)]
        condition = next(
            (
                m.group(1).strip()
                for m in (_DASHED_CONDITION.search(before), _PAREN_CONDITION.match(after), _FOR_CONDITION.match(after))
                if m
            ),
            None,
        )
        lengths.append(Length(int(match.group(1)), match.group(2).lower(), condition))
    if all(length.condition is None for length in lengths):
        return [Length(None, None)], f"{len(found)} lengths and no condition that tells them apart"
    return [replace(length, condition=length.condition or "otherwise") for length in lengths], None


def parse_duration_line(
    ctx: ParseContext, line: Line, text: str, section: str, indication: str, default_lobs: tuple[str, ...]
) -> list[Record]:
    """One Duration per line of business the text names (all the policy's when it names none),
    and per length where the text gives lengths under conditions ("A – 6 months, B – 12 months");
    a length whose condition names a line of business ("for HIM Texas") holds for that one only."""
    text = plain(text)
    lobs: tuple[str, ...] | None = None
    prefix = _PREFIX.match(text)
    if prefix:
        lobs = lines_of_business_in(prefix.group("lobs"))
    value = prefix.group("rest").strip() if prefix and lobs else text
    lengths, doubt = lengths_of(value)
    if doubt:
        ctx.doubt([line], "duration", f"a duration with no single length: {doubt}")
    elif lengths[0].amount is None and not _NO_LENGTH.match(value) and not NO_REAUTHORIZATION.search(value):
        ctx.doubt([line], "duration", "a duration with no length read")
    rule = _RENEWAL.search(value)
    cycles = _CYCLES.search(value)
    records: list[Record] = []
    for lob in lobs or default_lobs or (UNSTATED,):
        for length in lengths:
            named = _lines_named(length.condition)
            if named and lob not in named:
                continue
            records.append(
                Duration(
                    section,
                    indication,
                    lob,
                    value,
                    rule=rule.group(0) if rule else None,
                    cycle_cap=int(cycles.group(1)) if cycles else None,
                    reauthorization_permitted=not NO_REAUTHORIZATION.search(value),
                    condition=length.condition,
                    provenance=ctx.provenance(line.number),
                    **length.fields(),
                )
            )
    return records


def _lines_named(condition: str | None) -> set[str]:
    """The lines of business a condition names ("prophylaxis for HIM Texas" -> HIM)."""
    words = re.findall(r"[A-Za-z]+(?: insurance marketplace)?", condition or "")
    return {_LOB_ALIASES[w.lower()] for w in words if w.lower() in _LOB_ALIASES and (w.isupper() or w[0].isupper())}

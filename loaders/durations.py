"""Approval durations: "HIM/Medicaid – 6 months (up to 6 cycles total)" gives two rows."""

from __future__ import annotations

import re

from kb.model import LINES_OF_BUSINESS, Duration, Record
from loaders.context import ParseContext
from loaders.markup import plain
from loaders.source import Line

_PREFIX = re.compile(r"^(?P<lobs>[A-Za-z][A-Za-z/,& ]*?)\s*[–—:-]\s*(?P<rest>.+)$")
_AMOUNT = re.compile(r"(\d+)\s*(month|week|day|year)s?", re.I)
_RENEWAL = re.compile(r"or (?:(?:to|until) )?(?:the )?member[’']s renewal (?:date|period),? whichever is longer", re.I)
_CYCLES = re.compile(r"up to (\d+) cycles", re.I)
NO_REAUTHORIZATION = re.compile(r"re-?authori[sz]ation is not permitted", re.I)
_LOB_ALIASES = {"commercial": "Commercial", "him": "HIM", "marketplace": "HIM", "medicaid": "Medicaid"}


def lines_of_business_in(text: str) -> tuple[str, ...] | None:
    """The lines of business a prefix such as "HIM/Medicaid" names, or None if it names none."""
    tokens = [t.strip().lower() for t in re.split(r"[/,&]|\band\b", text) if t.strip()]
    if tokens and all(t in _LOB_ALIASES for t in tokens):
        return tuple(_LOB_ALIASES[t] for t in tokens)
    return None


def parse_duration_line(
    ctx: ParseContext, line: Line, text: str, section: str, indication: str, default_lobs: tuple[str, ...]
) -> list[Record]:
    """One Duration per line of business the text names (all the policy's when it names none)."""
    text = plain(text)
    lobs: tuple[str, ...] | None = None
    prefix = _PREFIX.match(text)
    if prefix:
        lobs = lines_of_business_in(prefix.group("lobs"))
    value = prefix.group("rest").strip() if prefix and lobs else text
    amounts = {(a.group(1), a.group(2).lower()) for a in _AMOUNT.finditer(value)}
    amount = _AMOUNT.search(value) if len(amounts) == 1 else None  # "3 months for X or 6 months for Y": no one length
    unit = amount.group(2).lower() if amount else None
    months = int(amount.group(1)) * (12 if unit == "year" else 1) if amount and unit in ("month", "year") else None
    weeks = int(amount.group(1)) if amount and unit == "week" else None
    rule = _RENEWAL.search(value)
    cycles = _CYCLES.search(value)
    return [
        Duration(
            section,
            indication,
            lob,
            value,
            months=months,
            weeks=weeks,
            rule=rule.group(0) if rule else None,
            cycle_cap=int(cycles.group(1)) if cycles else None,
            reauthorization_permitted=not NO_REAUTHORIZATION.search(value),
            provenance=ctx.provenance(line.number),
        )
        for lob in (lobs or default_lobs or LINES_OF_BUSINESS)
    ]

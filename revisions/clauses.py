"""What a clause of the revision log names: the values a change must carry, and on which side.

"updated age to ≥ 15 years to reflect “adolescent and young adult” population per NCCN" names
one value, ``15 year``, that the version *after* the revision must read; the words after "to
reflect" (and "per", "since", "because") give a reason, not content, so they name nothing.
Values are quantities (numbers with a unit), quoted words and policy reference numbers; each
is wanted on the side the clause's wording puts it: "X to Y" has X before and Y after, "to Y"
and "added" after, "removed" before, otherwise either side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.model import LINES_OF_BUSINESS

CATEGORY_TABLES: dict[str, frozenset[str]] = {
    "criteria": frozenset({"criterion", "statement"}),
    "template": frozenset({"criterion", "cross_reference", "statement"}),
    "duration": frozenset({"duration", "criterion"}),
    "cross_reference": frozenset({"cross_reference", "criterion"}),
    "references": frozenset({"reference"}),
    "coding": frozenset({"code"}),
    "dosing": frozenset({"dosing", "criterion"}),
}
"""Which record tables a clause of each category can speak of ("other": any); a duration's
cycle cap ("up to 6 cycles total") speaks of the criteria that limit cycles too."""

PRIMARY: dict[str, frozenset[str]] = {
    "criteria": frozenset({"criterion"}),
    "dosing": frozenset({"dosing", "criterion"}),
    "duration": frozenset({"duration"}),
}
"""A clause of these categories must touch one of these tables ("updated criteria" is not met by the FDA statement alone)."""

_REASON = re.compile(r"\s+(?:(?i:per)\s+(?=[A-Z])|(?i:since|to reflect|because|due to)\s+)")
_QUANTITY = re.compile(
    r"(?:[≥≤<>]=?\s*)?(\d+(?:\.\d+)?)\s*(years?|months?|weeks?|days?|cycles?|doses?|mg/m²|mg/kg|mcg|mg|units?)\b",
    re.IGNORECASE,
)
_QUOTE = re.compile(r"[“\"]([^”\"]+)[”\"]")
_POLICY = re.compile(r"\b[A-Z]{2,4}(?:\.[A-Z]{2,5})+\.\d+\b")
_SECTIONS = (("I", re.compile(r"\binitial\b", re.I)), ("II", re.compile(r"\bcontinu(?:ed|ation)\b", re.I)))
_AFTER_VERBS = re.compile(r"\b(?:added|adds?|include[sd]?|new)\b", re.IGNORECASE)
_BEFORE_VERBS = re.compile(r"\b(?:removed|removal|removes?|deleted|retired)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Value:
    """A value a clause names: ``kind`` quantity, quote or policy; ``text`` as compared
    (quantities as "15 year"); ``side`` before, after or either."""

    kind: str
    text: str
    side: str


@dataclass(frozen=True)
class Reading:
    """A clause as the audit checks it: its action (the reason cut off), the values it names,
    the lines of business it is limited to, the side its verb speaks of ("removed": before),
    and the sections it names ("initial criteria": I; "continued therapy": II; none: any)."""

    action: str
    values: tuple[Value, ...]
    lines_of_business: tuple[str, ...]
    side: str = "either"
    sections: tuple[str, ...] = ()


def quantity(number: str, unit: str) -> str:
    """A quantity as compared: "15 year" for "≥ 15 years", "1.8 mg/m²" for "1.8 mg/m²"."""
    unit = unit.casefold()
    unit = unit[:-1] if unit.endswith("s") and unit not in ("mg/m²",) else unit
    return f"{float(number):g} {unit}"


def quantities(text: str | None) -> set[str]:
    """Every quantity a text carries (see ``quantity``)."""
    return {quantity(n, u) for n, u in _QUANTITY.findall((text or "").replace("\\geq", "≥").replace("\\leq", "≤"))}


def _side(action: str, start: int, end: int, default: str) -> str:
    """Where the value at ``action[start:end]`` belongs, from the words around it."""
    before_text, after_text = action[:start].rstrip(), action[end:].lstrip()
    if re.match(r"(?:revised\s+)?to\s+[“\"A-Z0-9≥≤<>]", after_text):
        return "before"
    if re.search(r"\bto(?:\s+[≥≤<>]=?)?$", before_text, re.IGNORECASE):
        return "after"
    return default


def read_clause(text: str) -> Reading:
    """The values a clause names, each with the side it belongs to."""
    action = _REASON.split(text, maxsplit=1)[0]
    default = "after" if _AFTER_VERBS.search(action) else "before" if _BEFORE_VERBS.search(action) else "either"
    values: list[Value] = []
    quoted: list[tuple[int, int, str]] = []
    for match in _QUOTE.finditer(action):
        side = _side(action, match.start(), match.end(), default)
        quoted.append((match.start(), match.end(), side))
        values.append(Value("quote", match.group(1).strip().rstrip(";,"), side))
    for match in _QUANTITY.finditer(action):
        if not any(a <= match.start() < b for a, b, _ in quoted):  # a quote is compared whole
            side = _side(action, match.start(), match.end(), default)
            values.append(Value("quantity", quantity(*match.groups()), side))
    for match in _POLICY.finditer(action):
        values.append(Value("policy", match.group(0), _side(action, match.start(), match.end(), default)))
    named = tuple(lob for lob in LINES_OF_BUSINESS if re.search(rf"\b{lob}\b(?!\.)", action))
    sections = tuple(section for section, words in _SECTIONS if words.search(action))
    return Reading(action, tuple(dict.fromkeys(values)), named, default, sections)

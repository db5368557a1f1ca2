"""Phrases of a criterion's text mapped onto the vocabulary: lists of concepts, quantities, labs.

Every helper returns None when any part of the phrase is not understood: a reading either
covers the whole phrase or gives way (to another rule, an override, or clinical review).
"""

from __future__ import annotations

import re

from kb.concepts.match import ancestors, read_phrase
from kb.concepts.quantity import QuantityError, period_of, unit_of
from kb.predicates.language import Predicate


def normalise(text: str) -> str:
    """Lower case, one space, ``\\geq`` as ≥, '30, 000' as '30,000', no marks (® ™ *), no
    '(see Appendix X)' or '(off-label)', no list punctuation at the end."""
    text = text.replace("\\geq", "≥").replace("\\leq", "≤").replace("’", "'").replace("≥", "≥")
    text = re.sub(r"[®™†‡]|\*+", "", text)
    text = re.sub(r"(\d), (\d{3})\b", r"\1,\2", text)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r" ?\((?:see appendi(?:x|ces) [a-z](?: and [a-z])?|off- ?label)\)", "", text, flags=re.I)
    return without_list_ending(text.strip().casefold()).strip()


def without_list_ending(text: str) -> str:
    """The text without the list punctuation and the 'or'/'and' that end it ("a, b, or" -> "a, b"),
    cut from the end in one pass (a regular expression anchored at the end would try every start)."""
    end = len(text)
    while True:
        start = end
        while end and text[end - 1] in ";.:,":
            end -= 1
        for word in (" or", " and"):
            if text.endswith(word, 0, end):
                end -= len(word)
        if end == start:
            return text[:end]


SPLIT = re.compile(r",\s*(?:or |and |and/or )?|\s+or\s+|\s+and\s+|\s+and/or\s+")
EXAMPLES = re.compile(r"\s*\((?:e\.g\.|i\.e\.|including|such as|examples?)[^()]*(?:\([^()]*\)[^()]*)*\)")
ACRONYM = re.compile(r"(?:^|(?<=[()]))([^()]+?) \(([a-z][a-z-]{1,7})\)")
"""Words and the parenthesis after them; a match starts only where a parenthesis ends a run
(trying every start inside a run would take time quadratic in its length)."""
LEADING = re.compile(r"^(?:an?|the|another|other|any|either|both|all|generic|brand name)\s+")


def concept(kind: str, phrase: str) -> str | None:
    """The concept one phrase names (leading articles and 'another'/'other' dropped); a phrase
    followed by a parenthetical that names the same concept or narrower ones ("T-cell acute
    lymphoblastic leukemia (T-ALL)", "glatiramer (Copaxone, Glatopa)") is that concept."""
    phrase = LEADING.sub("", LEADING.sub("", phrase.strip(" ,;:.")))
    if not phrase:
        return None
    found = read_phrase(kind, phrase).concept
    if not found and (bare := without_acronyms(phrase)) != phrase:
        return concept(kind, bare)
    inner = re.match(r"^([^()]+?) \(([^()]+)\)$", phrase)
    if found or not inner:
        return found
    outer = concept(kind, inner[1])
    members = [concept(kind, p) for p in SPLIT.split(inner[2]) if p.strip()]
    if outer and members and all(m and outer in ancestors(kind, m) for m in members):
        return outer
    return None


def without_acronyms(phrase: str) -> str:
    """The phrase without a parenthesised abbreviation of the words just before it
    ("immune tolerance induction (ITI) regimen" -> "immune tolerance induction regimen"): the
    abbreviation says nothing more. Any other parenthesis stays."""

    def drop(match: re.Match[str]) -> str:
        letters = match[2].replace("-", "")
        words = re.split(r"[\s-]+", match[1].strip())
        initials = "".join(word[0] for word in words[-len(letters) :] if word)
        return match[1] if len(words) >= len(letters) and initials == letters else match[0]

    return ACRONYM.sub(drop, phrase)


def concepts(kind: str, text: str) -> list[str] | None:
    """The concepts a list names ('a, b, or c'; 'persistent or chronic ITP' as two), or None."""
    text = EXAMPLES.sub("", text).strip(" ,;:.")
    whole = concept(kind, text)
    if whole:
        return [whole]
    parts = [
        p
        for p in SPLIT.split(
            re.sub(r" \(([^()]+)\)", lambda m: " (" + m[1].replace(",", ";").replace(" or ", "; ") + ")", text)
        )
        if p.strip()
    ]
    parts = [p.replace(";", ",") for p in parts]
    found = [concept(kind, p) for p in parts]
    if None in found and len(parts) > 1 and len(parts[-1].split()) > 1:
        tail = " ".join(parts[-1].split()[1:])
        found = [f or concept(kind, f"{p} {tail}") for p, f in zip(parts, found)]
    if not parts or None in found:
        return None
    return list(dict.fromkeys(found))  # type: ignore[arg-type]


def conjunction(text: str) -> str:
    """'all' when a list joins with 'and', else 'any'."""
    return "all" if re.search(r"\band\b", text) and not re.search(r"\bor\b", text) else "any"


NUMBER = r"(?P<v>\d+(?:,\d{3})*(?:\.\d+)?)"
UNIT = r"(?P<u>mg/kg|mcg/kg|iu/kg|mg/m²|mg/m2|mcg|mg|g|ml|iu|units?|tablets?|capsules?|vials?|pens? or syringes?|pens?|syringes?|injections?|kits?)"
PER = (
    r"(?:\s*(?:,\s*)?(?:given )?(?P<per>per day|per week|per month|per cycle|daily|weekly|monthly|once monthly|every month"
    r"|(?:once )?every \d+ (?:days|weeks|months)|every \d+-month|per \d+ days))?"
)
DOSE = re.compile(
    rf"^(?:a |an )?(?:single dose of |single )?{NUMBER} ?{UNIT}(?: \([^()]*\))?"
    r"(?: (?:po|iv|sc|im|intravenously|orally|intramuscular|subcutaneous))?(?: (?P<u2>injection|infusion))?"
    rf"(?: \([^()]*\))?{PER}$"
)


def number(text: str) -> float | int:
    value = float(text.replace(",", ""))
    return int(value) if value.is_integer() else value


def dose(text: str, op: str = "<=") -> Predicate | None:
    """'75 mg per day', '3 mg/kg once every 4 weeks', 'a single dose of 150 ml' as a dose predicate."""
    match = DOSE.match(text.strip(" ,;:."))
    if not match:
        return None
    per = match["per"] or ("dose" if text.strip().startswith(("a single dose", "single dose")) else None)
    if per is None:
        return None
    per = re.sub(r"^once ", "", per).replace("-month", " months")
    try:
        unit, interval = unit_of(match["u"])[2], period_of(per)
    except QuantityError:
        return None
    return {"fact": "dose", "op": op, "value": number(match["v"]), "unit": unit, "per": interval}


LABS = {
    "platelet count": ("platelet_count", "/uL"),
    "hemoglobin": ("hemoglobin", "g/dL"),
    "absolute blood eosinophil count": ("eosinophil_count", "cells/uL"),
    "blood eosinophil count": ("eosinophil_count", "cells/uL"),
    "eosinophil count": ("eosinophil_count", "cells/uL"),
    "hiv-1 rna viral load": ("hiv_rna", "copies/mL"),
}
LAB_UNITS = {
    "/ul": "/uL",
    "/mcl": "/uL",
    "g/dl": "g/dL",
    "cells/mcl": "cells/uL",
    "cells/ul": "cells/uL",
    "copies/ml": "copies/mL",
}
COMPARATOR = {"≥": ">=", "≤": "<=", ">": ">", "<": "<", "greater than": ">", "less than": "<"}
LAB = re.compile(
    r"^(?:(?:member has an? |documentation of (?:an? )?)?(?:current \(within (?:the last |the past )?(?P<w1>\d+) (?P<u1>days|months)\) )?)"
    rf"(?P<lab>{'|'.join(map(re.escape, LABS))})(?: is)? (?P<cmp>≥|≤|>|<) ?{NUMBER} ?(?P<unit>\S+)"
    r"(?: within the (?:past|last) (?P<w2>\d+) (?P<u2>days|months))?$"
)


def lab(text: str) -> Predicate | None:
    """'Current (within 30 days) platelet count is < 30,000/µL' as a measurement predicate."""
    match = LAB.match(text.replace("μ", "u").replace("µ", "u"))
    if not match:
        return None
    fact, unit = LABS[match["lab"]]
    if LAB_UNITS.get(match["unit"].casefold(), match["unit"]) != unit:
        return None
    found: Predicate = {"fact": fact, "op": COMPARATOR[match["cmp"]], "value": number(match["v"]), "unit": unit}
    if match["w1"] or match["w2"]:
        found["within"] = {match["u1"] or match["u2"]: int(match["w1"] or match["w2"])}
    return found

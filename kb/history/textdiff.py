"""Two texts compared word by word: formatting set aside, the words that moved, the values named.

``normalise`` is what two renderings of the same words share; ``word_diff`` the words kept,
deleted and inserted; ``value_changes`` the values (ages, durations, doses, cycles) that moved,
as a reader would say them ("Age ≥ 15 years -> age ≥ 18 years").
"""

from __future__ import annotations

import difflib
import re
import unicodedata

VALUE_PATTERNS: dict[str, re.Pattern[str]] = {
    "age": re.compile(r"\bage\s*[≥≤<>=]+\s*\d+\s*(?:years?|months?)(?:\s+(?:or|and)\s+[^;,.()]+)?", re.IGNORECASE),
    "duration": re.compile(
        r"\b\d+\s*(?:months?|weeks?|days?)(?:\s+or\s+to\s+[^()]*?whichever\s+is\s+(?:longer|shorter))?", re.IGNORECASE
    ),
    "dose": re.compile(r"\b\d+(?:\.\d+)?\s*mg/m²(?:\s+per\s+(?:cycle|dose))?"),
    "cycles": re.compile(r"\b\d+\s+cycles?\b"),
}

_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"'})
_PUNCTUATION = re.compile(r"[;,:!?\"'()\[\]*]|(?<!\d)\.|\.(?!\d)")
_TOKENS = re.compile(r"\s+|[^\s]+")


def normalise(text: str | None) -> str | None:
    """Text with formatting removed: what two renderings of the same words share."""
    if text is None:
        return None
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    text = text.replace("\\geq", "≥").replace("\\leq", "≤")
    text = _PUNCTUATION.sub(" ", text)
    text = re.sub(r"\s+(?:or|and)\s*$", "", text.strip())
    return re.sub(r"\s+", " ", text).strip().casefold()


def word_diff(before: str, after: str) -> list[tuple[str, str]]:
    """``[(op, text)]`` with op ``=``, ``-`` or ``+``, over words and the spaces between them."""
    old, new = _TOKENS.findall(before), _TOKENS.findall(after)
    ops: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            ops.append(("=", "".join(old[i1:i2])))
            continue
        if i2 > i1:
            ops.append(("-", "".join(old[i1:i2])))
        if j2 > j1:
            ops.append(("+", "".join(new[j1:j2])))
    return ops


def value_phrases(text: str | None) -> list[tuple[str, str]]:
    """The values a text carries, as ``(kind, phrase)``: age thresholds, durations, doses, cycles."""
    if not text:
        return []
    text = text.replace("\\geq", "≥").replace("\\leq", "≤")
    found = [
        (match.start(), kind, match.group(0).strip())
        for kind, pattern in VALUE_PATTERNS.items()
        for match in pattern.finditer(text)
    ]
    return [(kind, phrase) for _, kind, phrase in sorted(found)]


def value_changes(before: str | None, after: str | None) -> list[str]:
    """Name the values that moved: ``age ≥ 15 years -> age ≥ 18 years``, ``+ Age ≥ 1 year``."""
    old, new = value_phrases(before), value_phrases(after)
    gone = [v for v in old if v not in new]
    came = [v for v in new if v not in old]
    named: list[str] = []
    for kind in dict.fromkeys(k for k, _ in gone + came):
        was = [p for k, p in gone if k == kind]
        now = [p for k, p in came if k == kind]
        for a, b in zip(was, now):
            named.append(f"{a} -> {b}")
        named += [f"- {p}" for p in was[len(now) :]]
        named += [f"+ {p}" for p in now[len(was) :]]
    return named


def changed_words(words: list[tuple[str, str]]) -> str:
    """The changed passages of a word diff: ``'both' -> 'one'; + 'Age'``."""
    passages: list[str] = []
    pending: dict[str, str] = {}
    for op, text in [*words, ("=", "")]:
        if op != "=":
            pending[op] = pending.get(op, "") + text
            continue
        if text and not text.strip() and pending:
            pending = {side: passage + text for side, passage in pending.items()}
            continue
        removed, added = pending.get("-", "").strip(), pending.get("+", "").strip()
        if removed and added:
            passages.append(f"{removed!r} -> {added!r}")
        elif removed or added:
            passages.append(f"- {removed!r}" if removed else f"+ {added!r}")
        pending = {}
    return "; ".join(passages)

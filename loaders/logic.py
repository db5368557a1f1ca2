"""Reading the logic words of an item as written: "must meet all", "one of the following (a or b)"."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.model import Logic

_N = r"(?:\d|one|two|three|four|five)"
_COUNTS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_LABEL = r"[a-z0-9ivx]{1,4}"
_PHRASES: tuple[tuple[str, Logic], ...] = (
    (r"\b(?:none|neither) of the following\b", Logic.NONE),
    (r"\b(?:not|no)\b[^.;:,]*?\b(?:either|any) of the following\b", Logic.NONE),
    (r"\bmust meet all\b(?: of the following)?", Logic.ALL),
    (rf"\bmust meet (?:{_LABEL}|one|at least one|any)(?: or {_LABEL})+\b", Logic.ANY),
    (rf"\b(?:(?:must meet )?at least )?(?P<n>{_N})(?: or more)? of the following\b", Logic.AT_LEAST),
    (r"\b(?:any|either) of the following\b", Logic.ANY),
    (r"\b(?:both|all) of the following\b", Logic.ALL),
    (rf"\bboth(?= \({_LABEL} and {_LABEL}\))", Logic.ALL),
    (rf"\beither(?= \({_LABEL} or {_LABEL}\))", Logic.ANY),
)
"""Logic phrases, in order of preference where two start at the same word."""
_WORDS = re.compile("|".join(f"(?P<p{i}>{pattern})" for i, (pattern, _) in enumerate(_PHRASES)), re.I)
_CUE = re.compile(r"following|must meet|both|either", re.I)
"""Every logic phrase holds one of these words (a label hint, a parenthesis)."""
_HINT = re.compile(rf"\(({_LABEL}(?:\s*,\s*{_LABEL})*,?\s+(or|and)\s+{_LABEL})\)")
_RANGE = re.compile(rf"\({_LABEL}\s*[–-]\s*{_LABEL}\)")


@dataclass(frozen=True)
class LogicReading:
    """How an item says its sub-items combine: the logic, the words that say it, the count for
    "two of the following", and ``doubt`` where its words and its label hint disagree."""

    logic: Logic | None = None
    text: str | None = None
    count: int | None = None
    doubt: str | None = None

    @property
    def hinted(self) -> bool:
        """The words name sub-items ("(a or b)", "(i - iv)", "of the following")."""
        return self.text is not None


def logic_of(text: str) -> LogicReading:
    """The logic an item's words give its children (the last phrase that says it, so that the
    one introducing the sub-items wins), checked against a label hint such as "(a or b)"."""
    cued = _CUE.search(text) is not None
    if not cued and "(" not in text:
        return LogicReading()
    words = [(m, _PHRASES[int(m.lastgroup[1:])][1]) for m in _WORDS.finditer(text)] if cued else []  # type: ignore[index]
    hint = list(_HINT.finditer(text))
    hint_logic = {"or": Logic.ANY, "and": Logic.ALL}[hint[-1].group(2).lower()] if hint else None
    if not words:
        if hint:
            return LogicReading(hint_logic, hint[-1].group(0))
        ranged = _RANGE.search(text)
        return (
            LogicReading(None, ranged.group(0), doubt="a range of labels with no logic word")
            if ranged
            else LogicReading()
        )
    match, logic = words[-1]
    count = None
    if logic is Logic.AT_LEAST:
        count = int(_COUNTS.get(match.group("n").lower(), match.group("n")))
        logic = Logic.ANY if count == 1 else logic
        count = None if count == 1 else count
    phrase = text[match.start() : hint[-1].end()] if hint and hint[-1].start() >= match.end() else match.group(0)
    doubt = None
    if hint_logic and logic in (Logic.ALL, Logic.ANY) and hint_logic is not logic:
        doubt = f"the words say {logic.value} but the label hint {hint[-1].group(0)} says {hint_logic.value}"
    return LogicReading(logic, phrase.strip(), count, doubt)


_MARKER = re.compile(r"(?:(?<=[\w®™)\]:;.,])|(?<=[\w®™)\]:;.,] )|(?<=^))(\*{1,3}|†|‡)(?=[\s,;:.)]|$)")
"""A footnote marker: after a word, a symbol or a closing bracket ("Aimovig®*", "(a or b):*") or
standing alone ("initiation dose, * followed by"); never inside a token such as "CYP2C9*3/*3"."""
_TRAILING = re.compile(r"(?<=[^\s*†‡])\s*(?:\*{1,3}|†|‡)$")


def footnote_markers(text: str) -> tuple[str | None, str]:
    """The footnote markers an item carries ("*", or "* **" for two kinds, in order of first
    appearance), and its text without a trailing marker (markers inside the text stay)."""
    if "*" not in text and "†" not in text and "‡" not in text:
        return None, text
    found = list(dict.fromkeys(match.group(1) for match in _MARKER.finditer(text)))
    if not found:
        return None, text
    return " ".join(found), _TRAILING.sub("", text).rstrip()


def split_note(text: str) -> tuple[str, str]:
    """A footnote line's marker ("*", "**", "†") and its text. Markdown emphasis around the note
    ("**Prescribed ... NCCN.*" is the marker "*" and an italic note) is not part of the marker."""
    text = text.strip()
    match = re.match(r"^(\*{1,3}|†|‡)\s*", text)
    if not match:
        return "*", text
    marker = match.group(1)
    if marker.startswith("*") and len(marker) > 1 and text.endswith("*") and not text.endswith("**"):
        marker = marker[:-1]
    return marker, text[match.end() :].strip("* ").strip()

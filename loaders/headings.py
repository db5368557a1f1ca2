"""The criteria sections' headings as documents of the template print them: the usual words,
the variant wordings read all the same (and flagged), and the footnote marks a heading carries.

A document is never refused for its layout: "I. Initial Approval Criteria*" followed by a state
note, "II. Continuation of Therapy", a heading a page break split, all read as sections I and
II. Both text forms use these words (``loaders.sections`` for lines, ``loaders.flattened``
for the one-line form), with whitespace written ``\\s+`` so either can join words its way.
"""

from __future__ import annotations

import re

CRITERIA_HEADINGS = {
    "I": r"I\.\s+Initial\s+(?:Approval|Authorization)\s+Criteria",
    "II": (
        r"II\.\s+(?:Continued\s+(?:Therapy|Approval|Authorization)|Continuation\s+of\s+(?:Therapy|Approval)"
        r"|Renewal\s+Criteria|Re-?authorization(?:\s+Criteria)?)"
    ),
}
"""Section I and II headings, usual and variant wordings."""
_USUAL = {
    "I": re.compile(r"I\.\s+Initial Approval Criteria", re.I),
    "II": re.compile(r"II\.\s+Continued (?:Therapy|Approval)", re.I),
}
MARKS = r"[*†‡]+"
"""Footnote marks a heading may carry ("I. Initial Approval Criteria*")."""
_MARK_AFTER = re.compile(rf"^({MARKS})(?=\s|$)\s*")


def unusual_wording(name: str, heading: str) -> bool:
    """Does a section I or II heading use words other than the template's usual ones?"""
    return name in _USUAL and not _USUAL[name].match(heading.strip(" *"))


def heading_mark(name: str, heading: str) -> tuple[str | None, str]:
    """A criteria heading's footnote mark (None without one) and the rest of its line: a state
    note, or the first indication run onto the heading ("Criteria**A. ..."; "**" followed by
    text is emphasis, not a mark)."""
    words = re.match(rf"^(\**){CRITERIA_HEADINGS[name]}", heading.strip(), re.I)
    rest = heading.strip()[words.end() :] if words else ""
    if words and words.group(1) and rest.startswith(words.group(1)):  # "**I. Initial Approval Criteria**"
        rest = rest[len(words.group(1)) :]
    mark = _MARK_AFTER.match(rest)
    if mark:
        return mark.group(1), rest[mark.end() :]
    return None, rest.removeprefix("**")

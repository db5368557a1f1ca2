"""Outline labels: which nesting level a label such as "b.", "ii." or "a)" opens or continues.

A list's levels are told apart by label style (letters, roman numerals, letters with a
parenthesis ...), not by indentation, which no text form of the template keeps. ``Outline``
reads labels one after another and answers with each one's depth, or None where the label
cannot stand there (neither the next label of an open level nor the first of a new one):
the flattened text form uses that to tell a label from a letter followed by a period.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ROMAN = ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii", "xiii", "xiv", "xv")


def _successor(style: str, label: str) -> str:
    kind = style[:-1]
    if kind == "number":
        return str(int(label) + 1)
    if kind == "roman":
        return ROMAN[ROMAN.index(label) + 1] if label in ROMAN[:-1] else ""
    return chr(ord(label) + 1) if label != "z" else ""


def _styles(label: str, delimiter: str) -> list[str]:
    """The styles a label may have: "i." is roman or a letter, "ii." only roman."""
    if label.isdigit():
        return ["number" + delimiter]
    styles = []
    if label in ROMAN:
        styles.append("roman" + delimiter)
    if len(label) == 1:
        styles.append("letter" + delimiter)
    return styles


FIRST = {"number": "1", "roman": "i", "letter": "a"}


@dataclass
class Outline:
    """The open levels of a list below its numbered items: [(style, last label)], outermost first."""

    levels: list[tuple[str, str]] = field(default_factory=list)

    def reset(self) -> None:
        """A numbered item ("3.") closes every level below it."""
        self.levels.clear()

    def depth(self, label: str, delimiter: str = ".") -> int | None:
        """1-based depth of a sub-item label, updating the open levels; None if it cannot stand here."""
        styles = _styles(label, delimiter)
        for index in range(len(self.levels) - 1, -1, -1):
            style, last = self.levels[index]
            if style in styles and _successor(style, last) == label:
                del self.levels[index + 1 :]
                self.levels[index] = (style, label)
                return index + 1
        for style in styles:
            if FIRST[style[:-1]] == label and style not in (s for s, _ in self.levels):
                self.levels.append((style, label))
                return len(self.levels)
        return None

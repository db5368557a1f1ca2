"""The Important Reminder: template boilerplate, recognised by its letters.

Only the template's own text (``data/important_reminder.txt``) counts as boilerplate: a
passage is known when its letters run as a stretch of the template's, and otherwise each of
its sentences must be a template sentence not used up already. Any other text after the
heading is where the template expects none, and is reported.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache, lru_cache
from pathlib import Path

TEMPLATE = Path(__file__).parent / "data" / "important_reminder.txt"
_SENTENCE_END = re.compile(r"(?<=[.;:])\s+(?=[A-Z©“\"])")
_NOT_LETTERS = re.compile(r"[^a-z]+")


def _letters(text: str) -> str:
    """Text by its letters alone: years, punctuation, quotes and line breaks may differ."""
    return _NOT_LETTERS.sub("", text.casefold())


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(" ".join(text.split())) if s.strip()]


@cache
def _template() -> tuple[str, Counter[str]]:
    lines = [line for line in TEMPLATE.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    return _letters("".join(lines)), Counter(_letters(s) for line in lines for s in sentences(line))


@cache
def _closing() -> str:
    """The letters of the template's last sentence (its copyright notice ends every policy)."""
    lines = [line for line in TEMPLATE.read_text(encoding="utf-8").splitlines() if line.strip()]
    return _letters(sentences(lines[-1])[-1])


def ends_with_closing(text: str) -> bool:
    """Whether a document's reminder (``text``, from its heading on) ends as the template does:
    "... registered trademarks exclusively owned by Centene Corporation.", or has the closing
    followed by text that is not the template's (reported as text after the reminder). A
    document that does neither may be cut off."""
    letters, closing = _letters(text), _closing()
    at = letters.rfind(closing)
    if at < 0:
        return False
    rest = letters[at + len(closing) :]
    return not rest or rest[:40] not in _template()[0]


@lru_cache(maxsize=4096)
def _stretch_of_template(text: str) -> str | None:
    """The letters of a passage that runs as a stretch of the template's reminder, else None
    (remembered: every policy prints the same reminder)."""
    letters = _letters(text)
    return letters if letters in _template()[0] else None


class ReminderReader:
    """Reads a document's reminder passages in order, remembering what the template has given."""

    def __init__(self) -> None:
        self.seen = ""
        self.unused = Counter(_template()[1])

    def foreign(self, text: str) -> list[str]:
        """The sentences of ``text`` that are not the template's reminder (or repeat it)."""
        letters = _stretch_of_template(text)
        if letters is not None and letters not in self.seen:
            self.seen += "|" + letters
            return []
        found = []
        for sentence in sentences(text):
            key = _letters(sentence)
            if self.unused[key] > 0 and key not in self.seen:
                self.unused[key] -= 1
            else:
                found.append(sentence)
        return found

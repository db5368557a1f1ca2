"""The Important Reminder: template boilerplate, recognised sentence by sentence.

Only the template's own sentences (``data/important_reminder.txt``) count as boilerplate;
any other text after the heading is where the template expects none, and is reported.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

TEMPLATE = Path(__file__).parent / "data" / "important_reminder.txt"
_SENTENCE_END = re.compile(r"(?<=[.;:])\s+(?=[A-Z©“\"])")


def _letters(sentence: str) -> str:
    """A sentence by its letters alone: years, punctuation and quotes may differ."""
    return re.sub(r"[^a-z]", "", sentence.casefold())


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(re.sub(r"\s+", " ", text)) if s.strip()]


@cache
def template_sentences() -> frozenset[str]:
    lines = [line for line in TEMPLATE.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    return frozenset(_letters(s) for line in lines for s in sentences(line))


def foreign_sentences(text: str) -> list[str]:
    """The sentences of ``text`` that are not the template's reminder."""
    known = template_sentences()
    return [s for s in sentences(text) if _letters(s) not in known]

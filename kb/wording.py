"""Which words of a revision-log clause name something in a change, and which name nothing.

The log and the criteria spell things differently ("monotherapy" / "single agent") and share
words that name nothing ("prescribed", "criteria"): a word counts only where it is specific,
in the passage that changed or rare among the step's records.
"""

from __future__ import annotations

import re
from collections import Counter

from kb.diff import Change, Diff

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "for",
        "the",
        "in",
        "on",
        "at",
        "by",
        "with",
        "as",
        "is",
        "be",
        "are",
        "was",
        "were",
        "that",
        "this",
        "these",
        "those",
        "its",
        "it",
        "if",
        "not",
        "no",
        "than",
        "more",
        "per",
        "from",
        "into",
        "when",
        "also",
        "since",
        "both",
        "one",
        "following",
        "all",
        "any",
        "each",
        "has",
        "have",
        "had",
        "must",
        "meet",
        "meets",
        "criteria",
        "criterion",
        "option",
        "options",
        "added",
        "removed",
        "revised",
        "updated",
        "update",
        "updates",
        "corrected",
        "clarified",
        "include",
        "includes",
        "requirement",
        "requirements",
        "use",
        "nccn",
        "compendium",
    ]
)
SYNONYMS: dict[str, tuple[str, ...]] = {
    "monotherapy": ("single", "agent"),
    "ph-negative": ("philadelphia", "chromosome-negative"),
    "ph-positive": ("philadelphia", "chromosome-positive"),
}
"""Words of the revision log that the criteria spell another way."""

RARE = 2
"""A word is specific if at most this many of the step's records use it."""

_WORD = re.compile(r"[a-z0-9≥≤]+(?:[-/.][a-z0-9]+)*")


def words(text: str | None) -> set[str]:
    found = set(_WORD.findall((text or "").casefold().replace("’", "'")))
    for word in list(found):
        found.update(SYNONYMS.get(word, ()))
    return found - STOPWORDS


def rarity(step: Diff) -> Counter[str]:
    """In how many of the step's records (criteria and statements, either version) each word occurs."""
    texts: dict[str, list[str]] = {}
    for answer in (step.before, step.after):
        for table in ("criterion", "statement"):
            for row in answer.records.get(table, []):
                texts.setdefault(f"{table}:{row['record_key']}", []).append(row.get("text") or "")
    counts: Counter[str] = Counter()
    for group in texts.values():
        counts.update(set().union(*(words(t) for t in group)))
    return counts


def mentions(action: str, change: Change, counts: Counter[str]) -> bool:
    """Does a clause's ``action`` speak of ``change`` by a specific word (any change of a table
    other than criteria and statements: the category decides)?"""
    said = words(action)
    if change.table not in ("criterion", "statement"):
        return True
    if change.words and change.kind not in ("replaced", "added", "removed"):
        changed = words(" ".join(text for op, text in change.words if op != "="))
        if said & changed:
            return True
    texts = [
        (change.before or {}).get("text"),
        (change.after or {}).get("text"),
        *change.subtree_before,
        *change.subtree_after,
    ]
    return bool(said & {w for w in set().union(*(words(t) for t in texts)) if counts[w] <= RARE})

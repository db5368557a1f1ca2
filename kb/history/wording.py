"""Which words of a revision-log clause name something in a change, and which name nothing.

The log and the criteria spell things differently ("monotherapy" / "single agent") and share
words that name nothing ("prescribed", "criteria"): a word counts only where it is specific,
in the passage that changed or rare among the step's records.
"""

from __future__ import annotations

import re
from collections import Counter

from kb.history.diff import Change, Diff
from kb.history.textdiff import normalise
from revisions.clauses import Value, quantities

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


def side_words(change: Change, side: str) -> set[str]:
    """The words a change has on one side: "before" what it removed, "after" what it brought,
    "either" both (the changed passage, the record's texts and its subtree)."""
    removing = change.kind in ("removed", "replaced", "merged", "became unknown")
    adding = change.kind in ("added", "replaced", "became known")
    texts: list[str | None] = []
    if side in ("before", "either"):
        texts += [text for op, text in change.words if op == "-"]
        if removing or side == "either":
            texts += [(change.before or {}).get("text"), *change.subtree_before]
    if side in ("after", "either"):
        texts += [text for op, text in change.words if op == "+"]
        if adding or side == "either":
            texts += [(change.after or {}).get("text"), *change.subtree_after]
    return set().union(*(words(t) for t in texts)) if texts else set()


def mentions(action: str, change: Change, counts: Counter[str], side: str = "either") -> bool:
    """Does a clause's ``action`` speak of ``change`` by a specific word on ``side`` (any change
    of a table other than criteria and statements: the category decides)?"""
    if change.table not in ("criterion", "statement"):
        return True
    said = words(action)
    changed = words(
        " ".join(
            text
            for op, text in change.words
            if op == ("-" if side == "before" else "+" if side == "after" else op) and op != "="
        )
    )
    if changed & said and change.kind not in ("replaced", "added", "removed"):
        return True
    return bool(said & {w for w in side_words(change, side) if counts[w] <= RARE})


def names_scope(action: str, texts: list[str]) -> bool:
    """Does a clause's ``action`` name a part of the policy (a section, an item with its
    sub-items) whose texts are ``texts``? Any word they share but the stopwords counts: a
    section is named by its heading ("other diagnoses/indications")."""
    return bool(words(action) & {w for t in texts for w in words(t)})


def change_name(change: Change) -> str:
    """A change named as the version shows it: the printed label of a criterion, else its table and key."""
    if change.table == "criterion":
        where = change.where_after or change.where_before or change.key
        return f"{where} (replaced)" if change.kind == "replaced" else where
    return f"{change.table} {change.key}"


def side_text(change: Change, side: str, deep: bool = True) -> str | None:
    """What one side of a change reads (None: that side is unknown), with its subtree if ``deep``."""
    record = change.before if side == "before" else change.after
    unknown = (change.kind == "became known" and side == "before") or (
        change.kind == "became unknown" and side == "after"
    )
    if unknown:
        return None
    if record is None:
        return ""
    parts = [str(record.get(name) or "") for name in ("text", "logic_text", "citation", "policy_ref", "regimen")]
    if deep:
        parts += change.subtree_before if side == "before" else change.subtree_after
    return " ".join(p for p in parts if p)


def _reads(change: Change, side: str, value: Value) -> bool | None:
    """Does one side of ``change`` read ``value`` (None: that side is unknown)?"""
    text = side_text(change, side, deep=value.kind != "quote")
    if text is None:
        return None
    if value.kind == "quantity":
        return value.text in quantities(text)
    if value.kind == "policy":
        return value.text in text
    wanted, said = normalise(value.text) or "", normalise(text) or ""
    return re.search(rf"(?<!\w){re.escape(wanted)}(?!\w)", said) is not None


def carries(change: Change, value: Value) -> bool | None:
    """Does ``change`` bring ``value`` in or take it out, on the side the clause names it (it
    reads there and not on the other side; an unknown other side does not count against it)?
    None: the side is unknown, and might."""
    before, after = _reads(change, "before", value), _reads(change, "after", value)
    if value.side == "before":
        return None if before is None else before and not after
    if value.side == "after":
        return None if after is None else after and not before
    if before is None or after is None:
        return None if not (before or after) else True
    return before != after


def conflicts(change: Change, value: Value) -> bool:
    """Does ``change`` read another quantity of the same unit, and not ``value``, where the clause wants ``value``?"""
    if value.kind != "quantity":
        return False
    unit = value.text.split(" ", 1)[1]
    sides = ("before", "after") if value.side == "either" else (value.side,)
    for side in sides:
        found = quantities(side_text(change, side) or "")
        if value.text not in found and any(q.split(" ", 1)[1] == unit for q in found):
            return True
    return False

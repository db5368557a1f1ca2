"""Scoring a loaded document against its answer key (tests/answer_keys/README.md), field by field.

Each scored field is one comparison that is right or wrong; a field the key names under
``excluded`` is not scored. ``score`` returns the wrong fields with what was expected and found,
so a failing test says exactly what the loader misread.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kb.model import Code, Criterion, CrossReference, Duration, PolicyDocument, Reference

CONTINUITY = "continuity of care"
_HINT = re.compile(
    r"\s*\((?:must meet [^)]*|[a-z0-9ivx]{1,4}(?:\s*(?:,|or|and|–|-)\s*(?:or |and )?[a-z0-9ivx]{1,4})+)\)\s*$", re.I
)


@dataclass
class Score:
    policy: str
    fields: int = 0
    wrong: list[str] = field(default_factory=list)

    @property
    def right(self) -> int:
        return self.fields - len(self.wrong)

    def check(self, name: str, expected: Any, found: Any) -> None:
        self.fields += 1
        if expected != found:
            self.wrong.append(f"{name}: expected {expected!r}, found {found!r}")

    def __str__(self) -> str:
        return f"{self.policy}: {self.right}/{self.fields} fields right ({self.right / max(self.fields, 1):.1%})"


def loose(text: str | None) -> str:
    """Text as the keys compare it: no footnote markers, quotes straightened, one space, lower
    case, without the trailing logic hint, list punctuation or conjunction."""
    text = (text or "").replace("’", "'").replace("“", '"').replace("”", '"')
    text = re.sub(r"[*†‡]", "", text)
    text = re.sub(r"\s+", " ", text).strip()
    previous = None
    while previous != text:
        previous = text
        text = re.sub(r"(?:\s*[,;.:]|\s+(?:or|and))$", "", text).strip()
        text = _HINT.sub("", text).strip()
    return text.casefold()


def length_of(duration: Duration) -> tuple[int | None, str | None]:
    """(length, unit) of a stored duration, years as months."""
    for unit in ("days", "weeks", "months"):
        value = getattr(duration, unit)
        if value is not None:
            return value, unit
    return None, None


def _key_length(entry: dict[str, Any]) -> tuple[int | None, str | None]:
    if entry["unit"] == "years":
        return entry["length"] * 12, "months"
    return entry["length"], entry["unit"]


def score(document: PolicyDocument, key: dict[str, Any]) -> Score:
    result = Score(key["policy"])
    excluded = " | ".join(entry["field"] for entry in key.get("excluded", []))
    header = document.header
    result.check("policy", key["policy"], document.policy_id)
    result.check("last_review", key["last_review"], header.last_review.isoformat())
    result.check("lines_of_business", key["lines_of_business"], list(header.lines_of_business))
    _criteria(result, document, key["criteria"], excluded)
    _durations(result, document, key["durations"])
    result.check("code_rows", key["code_rows"], len(document.of_kind(Code)))
    references = document.of_kind(Reference)
    result.check("references.count", key["references"]["count"], len(references))
    for n, url in enumerate(key["references"]["urls"], start=1):
        found = references[n - 1].url if n <= len(references) else "(missing)"
        result.check(f"references[{n}].url", url, found)
    rows = [
        {"date": r.date.isoformat(), "pt": r.pt_month.isoformat() if r.pt_month else None}
        for r in document.revision_log
    ]
    result.check("revision_log.count", len(key["revision_log"]), len(rows))
    for n, row in enumerate(key["revision_log"], start=1):
        result.check(f"revision_log[{n}]", row, rows[n - 1] if n <= len(rows) else "(missing)")
    crossrefs = [r for r in document.of_kind(CrossReference) if r.item_id.split(".")[0] in ("I", "II", "III")]
    _set(result, "cross_references", key["cross_references"], {r.policy_ref for r in crossrefs if r.role != CONTINUITY})
    _set(
        result,
        "continuity_of_care",
        key.get("continuity_of_care", []),
        {r.policy_ref for r in crossrefs if r.role == CONTINUITY},
    )
    return result


def _set(result: Score, name: str, expected: list[str], found: set[str | None]) -> None:
    for ref in sorted(set(expected) | {f for f in found if f}):
        result.check(f"{name} {ref}", ref in expected, ref in found)


def _criteria(result: Score, document: PolicyDocument, expected: list[dict[str, Any]], excluded: str) -> None:
    found = {c.item_id: c for c in document.of_kind(Criterion)}
    for entry in expected:
        item = found.get(entry["id"])
        name = f"criteria {entry['id']}"
        result.check(f"{name} present", True, item is not None)
        if item is None:
            continue
        result.check(f"{name} label", entry["label"], item.label)
        if name not in excluded.split(" | "):
            logic = item.logic.value if item.logic else None
            result.check(f"{name} logic", (entry["logic"], entry.get("logic_count")), (logic, item.logic_count))
        result.check(f"{name} footnote", entry.get("footnote"), item.footnote_marker)
        result.check(f"{name} text", loose(entry["text"]), loose(item.text))
    for item_id in sorted(set(found) - {entry["id"] for entry in expected}):
        result.check(f"criteria {item_id}", "(not an item)", found[item_id].text)


def _durations(result: Score, document: PolicyDocument, expected: list[dict[str, Any]]) -> None:
    wanted: dict[tuple[str, str, str], Counter] = {}
    for entry in expected:
        place = (entry["section"], entry["indication"], entry["line_of_business"])
        wanted.setdefault(place, Counter())[_key_length(entry)] += 1
    have: dict[tuple[str, str, str], Counter] = {}
    for duration in document.of_kind(Duration):
        place = (duration.section, duration.indication, duration.line_of_business)
        have.setdefault(place, Counter())[length_of(duration)] += 1
    for place in sorted(set(wanted) | set(have)):
        expected_lengths, found_lengths = wanted.get(place, Counter()), have.get(place, Counter())
        for length in sorted(set(expected_lengths) | set(found_lengths), key=str):
            for n in range(max(expected_lengths[length], found_lengths[length])):
                result.check(
                    f"duration {'.'.join(place)} {length}", n < expected_lengths[length], n < found_lengths[length]
                )

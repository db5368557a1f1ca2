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
KEY_SCORES: list[Score] = []
"""Answer-key scores of this run (tests/test_answer_keys.py), printed in pytest's summary by
conftest.py. Kept here, not in conftest: pytest imports conftest as ``conftest`` and the tests
as ``tests.conftest``, two modules with two lists."""
_HINT = re.compile(
    r"\s*\((?:must meet [^)]*|[a-z0-9ivx]{1,4}(?:\s*(?:,|or|and|–|-)\s*(?:or |and )?[a-z0-9ivx]{1,4})+)\)\s*$", re.I
)


@dataclass
class Score:
    policy: str
    fields: int = 0
    wrong: list[str] = field(default_factory=list)
    wrong_fields: list[str] = field(default_factory=list)
    """The names of the wrong fields ("criteria I.A.4.b footnote"), in the order of ``wrong``."""
    group: str = "corpus"

    @property
    def right(self) -> int:
        return self.fields - len(self.wrong)

    def check(self, name: str, expected: Any, found: Any) -> None:
        self.fields += 1
        if expected != found:
            self.wrong.append(f"{name}: expected {expected!r}, found {found!r}")
            self.wrong_fields.append(name)

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


def score(document: PolicyDocument, key: dict[str, Any], group: str = "corpus") -> Score:
    result = Score(key["policy"], group=group)
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


_HEADER_FIELDS = {
    "policy": "Reference Number",
    "last_review": "Last Review Date",
    "lines_of_business": "Line of Business",
}


def field_lines(document: PolicyDocument, name: str) -> set[int]:
    """The lines of the loader's reading a scored field was read from (or, for a field the
    loader did not read, the lines where it should have found it): what a suspect passage must
    touch for the field's misreading to count as flagged."""
    lines = (document.reading or document.text).splitlines()
    words = name.split()
    if name in _HEADER_FIELDS:
        return {n for n, line in enumerate(lines, start=1) if _HEADER_FIELDS[name] in line}
    if words[0] == "criteria":
        return _criterion_lines(document, words[1])
    if words[0] == "duration":
        section, indication = words[1].split(".")[:2]
        found = [d for d in document.of_kind(Duration) if (d.section, d.indication) == (section, indication)]
        return _spans(found) or _criterion_lines(document, f"{section}.{indication}", whole_set=True)
    if words[0] == "code_rows":
        return _spans(document.of_kind(Code))
    if name.startswith("references"):
        references = document.of_kind(Reference)
        ordinal = re.match(r"references\[(\d+)\]", name)
        if ordinal and int(ordinal.group(1)) <= len(references):
            return _spans(references[int(ordinal.group(1)) - 1 : int(ordinal.group(1))])
        return _spans(references)
    if name.startswith("revision_log"):
        ordinal = re.match(r"revision_log\[(\d+)\]", name)
        rows = list(document.revision_log)
        if ordinal and int(ordinal.group(1)) <= len(rows):
            return _spans(rows[int(ordinal.group(1)) - 1 : int(ordinal.group(1))])
        return _spans(rows)
    if words[0] in ("cross_references", "continuity_of_care"):
        policy_ref = words[1]
        named = [r for r in document.of_kind(CrossReference) if r.policy_ref == policy_ref]
        spelled = re.compile(r"\.\s*".join(map(re.escape, policy_ref.split("."))))
        return _spans(named) or {n for n, line in enumerate(lines, start=1) if spelled.search(line)}
    return set(range(1, len(lines) + 1))


def _criterion_lines(document: PolicyDocument, item_id: str, whole_set: bool = False) -> set[int]:
    """An item's lines; for an item the loader does not have, its nearest ancestor's lines and
    those of the ancestor's other items (where the missing one should stand)."""
    criteria = document.of_kind(Criterion)
    parts = item_id.split(".")
    for depth in range(len(parts), 1, -1):
        ancestor = ".".join(parts[:depth])
        family = [c for c in criteria if c.item_id == ancestor or c.item_id.startswith(ancestor + ".")]
        if family:
            exact = [c for c in family if c.item_id == item_id]
            return _spans(family if whole_set or not exact else exact)
    return _spans([c for c in criteria if c.section == parts[0]])  # a set not read: its section


def _spans(records: list[Any]) -> set[int]:
    return {
        n
        for record in records
        if record.provenance.span is not None
        for n in range(record.provenance.span.first, record.provenance.span.last + 1)
    }


def unflagged(document: PolicyDocument, result: Score) -> list[str]:
    """The wrong fields of a score that no suspect passage of the document touches: silent misreadings."""
    doubted = {n for block in document.suspects for n in range(block.span.first, block.span.last + 1)}
    return [
        message for name, message in zip(result.wrong_fields, result.wrong) if not field_lines(document, name) & doubted
    ]

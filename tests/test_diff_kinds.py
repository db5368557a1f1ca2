"""What a diff line says for each kind of change a reader can meet (issue 30: the survivors of
kb/history/diff.py that change an answer).

The later version is the 12.25 reading of the bundled policy with one edit, made the way a new
document would make it; the expected line is what a reader comparing the two texts would say."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from kb.history.diff import diff_answers
from kb.store.asof import Answer

POLICY = "CP.PHAR.359"
UNKNOWN_WORDING = {
    "record_key": "criterion:I.A.4",
    "kind": "criterion",
    "scope": "I.A.4",
    "reason": "The CD22 requirement is known from the log; its wording is unknown.",
    "source": "unknown",
}


@pytest.fixture(scope="module")
def current(loaded_kb) -> Answer:
    return loaded_kb.as_of(POLICY, "2025-12-01")


def _with(answer: Answer, table: str, rows: list[dict[str, Any]]) -> Answer:
    return replace(answer, records={**answer.records, table: rows})


def _edit_criterion(answer: Answer, item_id: str, **values: Any) -> Answer:
    rows = [{**row, **values} if row["item_id"] == item_id else row for row in answer.criteria()]
    return _with(answer, "criterion", rows)


def _only(diff, table: str):
    (change,) = [c for c in diff.changes if c.table == table]
    return change


def test_a_marker_the_later_version_adds_reads_became_unknown(current):
    later = _with(current, "unknown", [UNKNOWN_WORDING])
    change = _only(diff_answers(current, later), "unknown")
    assert (change.kind, change.substantive) == ("became unknown", None)
    assert change.summary == f"criterion I.A.4 became unknown: {UNKNOWN_WORDING['reason']}"


def test_a_marker_the_later_version_drops_reads_became_known(current):
    earlier = _with(current, "unknown", [UNKNOWN_WORDING])
    change = _only(diff_answers(earlier, current), "unknown")
    assert (change.kind, change.substantive) == ("became known", None)
    assert change.summary.endswith("became known: " + UNKNOWN_WORDING["reason"])


def test_a_change_the_later_versions_marker_covers_is_not_called_substantive(current):
    # the later version says the wording of I.A.4 is unknown: its text differing is no change of rule
    later = _with(_edit_criterion(current, "I.A.4", text="B-cell ALL is CD19 positive;"), "unknown", [UNKNOWN_WORDING])
    change = _only(diff_answers(current, later), "criterion")
    assert change.key == "I.A.4" and change.substantive is None
    assert change.note == f"cannot be compared: {UNKNOWN_WORDING['reason']}"
    assert change not in diff_answers(current, later).substantive()


def test_a_criterion_moved_under_another_item_reads_moved(current):
    # "B-cell ALL is CD22 positive" taken from the list of A and set under 5 as its option c
    later = _edit_criterion(current, "I.A.4", parent_id="I.A.5", label="c.")
    change = _only(diff_answers(current, later), "criterion")
    assert (change.key, change.kind, change.substantive) == ("I.A.4", "moved", True)
    assert change.summary == "moved from I.A.4 to I.A.5.c"


def test_a_changed_footnote_reads_footnote_changed(current):
    old = "Prescribed regimen must be FDA-approved or recommended by NCCN."
    new = "Prescribed regimen must be FDA-approved."
    later = _edit_criterion(current, "I.A.7", footnote_text=new)
    change = _only(diff_answers(current, later), "criterion")
    assert (change.key, change.kind, change.substantive) == ("I.A.7", "footnote changed", True)
    assert change.summary == f"footnote: {old} -> {new}"


def test_an_item_merged_into_its_parent_reads_merged_not_removed(current):
    # 5.a's words now stand in 5 itself: "One of the following ... Disease is relapsed or refractory;"
    rows = [
        {**row, "text": f"{row['text']} Disease is relapsed or refractory;"} if row["item_id"] == "I.A.5" else row
        for row in current.criteria()
        if row["item_id"] != "I.A.5.a"
    ]
    changes = {c.key: c for c in diff_answers(current, _with(current, "criterion", rows)).changes}
    merged = changes["I.A.5.a"]
    assert (merged.kind, merged.substantive) == ("merged", False)
    assert merged.summary == "merged into I.A.5: Disease is relapsed or refractory;"
    assert not any(c.kind == "removed" for c in changes.values())

"""Revision history of CP.PHAR.359 through the public API (the reference file's expectations)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from revisions.changes import apply_backwards, apply_forwards, load_changesets
from revisions.log import classify, revisions_from_log, split_clauses
from revisions.timeline import intervals
from tests.conftest import CHANGES


def _texts(answer):
    return [row["text"] for row in answer.criteria() if row["section"] == "I" and row["indication"] == "A"]


def test_versions_and_windows(loaded_kb):
    rows = loaded_kb.versions("CP.PHAR.359")
    assert [(r["label"], r["valid_from"], r["valid_to"]) for r in rows] == [
        ("V2021", "2021-11-01", "2022-11-01"),
        ("V2022", "2022-11-01", "2023-11-01"),
        ("V2023", "2023-11-01", "2024-05-13"),
        ("V2024-05", "2024-05-13", "2024-11-01"),
        ("V2024-11", "2024-11-01", "2025-11-01"),
        ("V2025-11", "2025-11-01", None),
    ]
    assert [r["basis"] for r in rows] == ["reconstructed"] * 5 + ["document"]


def test_2024_08_01_induction_and_age_15(loaded_kb):
    answer = loaded_kb.as_of("CP.PHAR.359", "2024-08-01")
    assert answer.version["label"] == "V2024-05"
    texts = _texts(answer)
    assert "If Philadelphia chromosome-negative, both of the following (i and ii):" in texts
    assert "Prescribed as induction therapy;" in texts and "Age ≥ 15 years;" in texts
    assert [d["text"] for d in answer.records["duration"] if d["record_key"] == "I.A.Commercial"] == [
        "6 months (up to 6 cycles total)"
    ]
    assert answer.rule_dependent and answer.rule_dependent[0]["readings"]["revision-date"] == "V2024-11"


def test_2025_01_15_ph_negative_and_age_only(loaded_kb):
    answer = loaded_kb.as_of("CP.PHAR.359", "2025-01-15")
    texts = _texts(answer)
    assert "If Philadelphia chromosome-negative, age ≥ 15 years;" in texts
    assert "Prescribed as induction therapy;" not in texts
    commercial = [d for d in answer.records["duration"] if d["record_key"] == "I.A.Commercial"][0]
    assert commercial["text"] == "6 months or to the member's renewal date, whichever is longer (up to 6 cycles total)"
    assert answer.rule_dependent == []


def test_2025_12_01_frontline_18(loaded_kb):
    texts = _texts(loaded_kb.as_of("CP.PHAR.359", "2025-12-01"))
    assert "If prescribed as frontline therapy, age ≥ 18 years;" in texts
    assert not any(t and "≥ 15" in t for t in texts)


def test_2024_01_15_no_age_floor_and_65(loaded_kb):
    answer = loaded_kb.as_of("CP.PHAR.359", "2024-01-15")
    assert answer.version["label"] == "V2023"
    texts = _texts(answer)
    assert "Age ≥ 1 year;" not in texts
    assert "Age ≥ 65 years or substantial comorbidities;" in texts
    cd22 = [r for r in answer.criteria() if r["item_id"] == "I.A.4"][0]
    assert cd22["label"] == "3."  # same identity, numbered 3 before "Age ≥ 1 year" was inserted


def test_not_covered_and_rule_dependent(loaded_kb):
    early = loaded_kb.as_of("CP.PHAR.359", "2019-06-01")
    assert early.status == "not covered" and "2021-11-01" in early.reason
    pending = loaded_kb.as_of("CP.PHAR.359", "2025-09-01")
    assert pending.version["label"] == "V2024-11"
    assert pending.rule_dependent[0]["readings"]["revision-date"] == "V2025-11"


def test_unknown_is_stored_not_filled(loaded_kb):
    v2021 = loaded_kb.as_of("CP.PHAR.359", "2022-01-01")
    durations = v2021.records["duration"]
    assert durations and all(d["text"] is None and d["source"] == "unknown" for d in durations)
    assert v2021.records["reference"] == []
    assert {(u["kind"], u["scope"]) for u in v2021.records["unknown"]} >= {("reference", "*"), ("criterion", "I.B")}
    assert [r["policy_ref"] for r in v2021.records["cross_reference"] if r["item_id"] == "I.B"] == ["HIM.PA.154"]


def test_every_reconstructed_record_cites_its_clause(loaded_kb):
    answer = loaded_kb.as_of("CP.PHAR.359", "2024-08-01")
    for row in answer.criteria():
        if row["source"] != "document":
            assert row["revision"] and row["clause"] and row["confidence"]


def test_unchanged_item_keeps_its_value_and_says_what_carries_it(timeline):
    """I.A.1 reads the same from V2021 on: no clause names it, copy-11.23 shows it in V2023.
    Each version states the revisions it crosses to the document (issue 23), so each is a row."""
    rows = sorted(
        (i for i in intervals(timeline.versions) if i.record.KIND == "criterion" and i.record.key == "I.A.1"),
        key=lambda i: i.valid_from,
    )
    assert {i.record.text for i in rows} == {"Diagnosis of B-cell ALL;"}
    assert [(i.valid_from, i.record.provenance.source) for i in rows] == [
        (date(2021, 11, 1), "carried"),
        (date(2022, 11, 1), "carried"),
        (date(2023, 11, 1), "copy-11.23"),
        (date(2024, 5, 13), "carried"),
        (date(2024, 11, 1), "carried"),
        (date(2025, 11, 1), "document"),
    ]
    crossed = [i.record.provenance.clause for i in rows if i.record.provenance.source == "carried"][1:]
    assert crossed == [
        "unlogged = unchanged: no clause of 08.06.23, 05.13.24, 07.11.24, 07.15.25 names it",
        "unlogged = unchanged: no clause of 07.11.24, 07.15.25 names it",
        "unlogged = unchanged: no clause of 07.15.25 names it",
    ]
    assert all(a.valid_to == b.valid_from for a, b in zip(rows, rows[1:])) and rows[-1].valid_to is None
    carried = rows[0].record.provenance
    assert carried.span.first == 33 and carried.document_sha256 == timeline.versions[-1].document_sha256
    assert (
        carried.clause == "unlogged = unchanged: no clause of 08.02.22, 08.06.23, 05.13.24, 07.11.24, 07.15.25 names it"
    )
    cd22 = [i for i in intervals(timeline.versions) if i.record.key == "I.A.4" and i.record.KIND == "criterion"]
    labels = {i.valid_from: i.record.label for i in cd22}
    # numbered 3 before "Age ≥ 1 year" was inserted (and in copy-11.23), 4 from RT4 on
    assert {day: label for day, label in labels.items() if day < date(2024, 5, 13)} == {
        date(2021, 11, 1): "3.",
        date(2022, 11, 1): "3.",
        date(2023, 11, 1): "3.",
    }
    assert {label for day, label in labels.items() if day >= date(2024, 5, 13)} == {"4."}


def test_clauses_split():
    assert split_clauses(
        "4Q 2024 annual review: removed x per NCCN; revised Commercial approval durations to "
        "“6 months, whichever is longer;” references reviewed and updated."
    ) == [
        "removed x per NCCN",
        "revised Commercial approval durations to “6 months, whichever is longer;”",
        "references reviewed and updated",
    ]


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        # issue 23: a newer document's row written with commas is as many clauses as it says
        ("4Q 2026 annual review: updated criteria, references reviewed.", ["updated criteria", "references reviewed"]),
        (
            "4Q 2021 annual review: added additional pathway for use as induction therapy and revised requirement "
            "for use as single agent therapy to only apply to pediatric ALL per NCCN; references reviewed and updated.",
            [
                "added additional pathway for use as induction therapy",
                "revised requirement for use as single agent therapy to only apply to pediatric ALL per NCCN",
                "references reviewed and updated",
            ],
        ),
        ("RT1: removed x, added y and revised z", ["removed x", "added y", "revised z"]),
        # a lead-in before the verb, and "and" inside a value, stay whole
        (
            "RT4: for disease that is not relapsed or refractory and Philadelphia chromosome-negative, updated age "
            "to ≥ 15 years",
            [
                "for disease that is not relapsed or refractory and Philadelphia chromosome-negative, updated age to ≥ 15 years"
            ],
        ),
        (
            "Q: added criteria option when prescribed as frontline therapy and age ≥ 18 years",
            ["added criteria option when prescribed as frontline therapy and age ≥ 18 years"],
        ),
    ],
)
def test_clauses_split_however_punctuated(description, expected):
    assert split_clauses(description) == expected


def test_a_comma_row_files_each_clause_under_its_own_category():
    clauses = split_clauses("4Q 2026 annual review: updated criteria, references reviewed")
    assert [classify(c) for c in clauses] == ["criteria", "references"]


def test_rule_is_replaceable(document):
    revisions = revisions_from_log(document.revision_log, "revision-date")
    assert [r.effective_date for r in revisions][-1] == date(2025, 7, 15)


def _content(state):
    return {(r.KIND, r.key): r.content() for r in state.all()}


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=1, max_value=5))
def test_backwards_then_forwards_gives_back_the_document(document, timeline, steps):
    """Undo the newest ``steps`` revisions with change data, redo them: the document's records come back."""
    changesets = {c.revision: c for c in load_changesets(CHANGES)}
    versions = list(timeline.versions)
    state = versions[-1].state
    for version in reversed(versions[-steps:]):
        state = apply_backwards(state, changesets[version.revision.date], version.revision.clause_texts)
    assert _content(state) == _content(versions[-steps - 1].state)
    for version in versions[-steps:]:
        state = apply_forwards(state, changesets[version.revision.date], version.state)
        assert _content(state) == _content(version.state)
    assert {k: v for k, v in _content(state).items() if k[0] != "unknown"} == {
        (r.KIND, r.key): r.content() for r in document.records
    }


def test_rule_dependent_windows_match_the_reference(timeline):
    windows = [r.pending_window() for r in timeline.revisions if r.pending_window()]
    assert [(a.isoformat(), b.isoformat()) for a, b in windows] == [
        ("2021-06-28", "2021-10-31"),
        ("2022-08-02", "2022-10-31"),
        ("2023-08-06", "2023-10-31"),
        ("2024-07-11", "2024-10-31"),
        ("2025-07-15", "2025-10-31"),
    ]

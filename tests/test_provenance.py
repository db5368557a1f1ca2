"""Point 1 of issue 14: every reconstructed element says what carries it, and says it right.

Expected values are read from the bundled document, its revision log and the history
reference (../shared/reference/CP.PHAR.359-history.md), not from the program's output.
"""

from __future__ import annotations

import hashlib

import pytest

from kb.errors import ChangeDataError
from kb.store.sources import provenance_text
from revisions.changes import load_changesets, parse_changeset
from revisions.timeline import build_timeline
from tests.conftest import BUNDLED, CHANGES

POLICY = "CP.PHAR.359"
SHA = hashlib.sha256(BUNDLED.read_bytes()).hexdigest()
LINES = BUNDLED.read_text(encoding="utf-8").splitlines()


def _line(text: str) -> int:
    return next(n for n, line in enumerate(LINES, 1) if line.startswith(text))


def _row(answer, table, key):
    return next(r for r in answer.records[table] if r["record_key"] == key)


def test_fda_indication_before_rt4_reads_as_copy_11_23(loaded_kb):
    """The reference: copy-11.23 reads 'adults with relapsed or refractory B-cell precursor ALL'."""
    row = _row(loaded_kb.as_of(POLICY, "2024-01-15"), "statement", "fda_indication:1")
    assert "adults with relapsed or refractory B-cell precursor" in row["text"]
    assert "CD22-positive" not in row["text"]
    assert row["source"] == "copy-11.23"


def test_the_word_cd22_positive_arrives_with_rt4(loaded_kb):
    change = next(c for c in loaded_kb.diff(POLICY, "V2023", "V2024-05").changes if c.key == "fda_indication:1")
    assert any(op == "+" and "CD22-positive" in text for op, text in change.words)
    assert change.substantive


def test_age_15_cites_rt4_clause_2(loaded_kb):
    row = _row(loaded_kb.as_of(POLICY, "2024-08-01"), "criterion", "I.A.5.ph-negative.age")
    assert (row["text"], row["revision"]) == ("Age ≥ 15 years;", "2024-05-13")
    assert "updated age to ≥ 15 years" in row["clause"]


@pytest.mark.parametrize("day", ["2022-12-01", "2024-01-15", "2024-08-01"])
def test_six_months_rests_on_the_08_02_22_clause(loaded_kb, day):
    for key in ("I.A.Commercial", "I.A.HIM", "II.A.Commercial"):
        row = _row(loaded_kb.as_of(POLICY, day), "duration", key)
        assert row["text"] == "6 months (up to 6 cycles total)"
        assert (row["revision"], row["clause"]) == (
            "2022-08-02",
            "approval duration revised to 6 months (up to 6 cycles total)",
        )


def test_v2021_has_no_cycle_limit_and_v2022_cites_the_08_02_22_clause(loaded_kb):
    """Issue 23: the history reference reads "No cycle limit (added 08.02.22)" for V2021."""
    v2021 = loaded_kb.as_of(POLICY, "2022-01-15")
    assert not [r for r in v2021.criteria() if "cycles" in (r["text"] or "")]
    assert [r["label"] for r in v2021.criteria() if r["parent_id"] == "II.A"] == ["1.", "2.", "3."]
    row = _row(loaded_kb.as_of(POLICY, "2022-12-01"), "criterion", "II.A.3")
    assert row["text"] == "Member has not received ≥ 6 cycles of Besponsa;"
    assert (row["source"], row["revision"]) == ("log", "2022-08-02")
    # the log adds the limit to the initial criteria (#2); the continued-therapy one comes with the
    # approval duration's "(up to 6 cycles total)" (#3)
    assert row["clause"] == "approval duration revised to 6 months (up to 6 cycles total)"


def test_ii_a_2_in_v2021_rests_on_unlogged_equals_unchanged(loaded_kb):
    answer = loaded_kb.as_of(POLICY, "2022-01-15")
    row = _row(answer, "criterion", "II.A.2")
    assert row["source"] == "carried" and row["clause"].startswith("unlogged = unchanged")
    assert (row["document_sha256"], row["first_line"]) == (SHA, _line("2. Member is responding"))
    # the 08.02.22 revision applied template changes: its unlogged confidence is the change data's medium-low
    assert row["confidence"] == "medium-low"
    cited = provenance_text(row, answer.documents)
    assert cited.startswith(f"carried from document 11.25 ({SHA[:12]}) line {_line('2. Member is responding')}")


def test_the_cut_off_copy_item_is_not_high_confidence(loaded_kb):
    row = _row(loaded_kb.as_of(POLICY, "2024-01-15"), "criterion", "I.A.5.ph-negative.age")
    assert row["text"] == "Age ≥ 65 years or substantial comorbidities;"
    assert row["source"] == "copy-11.23" and row["confidence"] not in ("high", "medium")


def test_copy_11_23_carries_what_it_shows_in_its_own_version(loaded_kb):
    """The reference lists I.A.1-5 as visible in the copy (V2023 numbering): CD22 is item 3 there."""
    answer = loaded_kb.as_of(POLICY, "2024-01-15")
    cd22 = _row(answer, "criterion", "I.A.4")
    assert (cd22["label"], cd22["source"]) == ("3.", "copy-11.23")
    assert _row(answer, "criterion", "II.A.2")["source"] == "carried"  # section II was not visible in the copy


def test_document_citations_name_last_review_hash_and_line(loaded_kb):
    answer = loaded_kb.as_of(POLICY, "2025-12-01")
    row = _row(answer, "criterion", "I.A.3")
    assert provenance_text(row, answer.documents) == f"document 11.25 ({SHA[:12]}) line {_line('3. Age')}"


def test_every_reconstructed_element_says_what_carries_it(timeline):
    for version in timeline.versions[:-1]:
        for record in version.state.all():
            p = record.provenance
            assert p.source != "document", (version.label, record.key)
            assert p.confidence, (version.label, record.key)
            if p.source == "carried":
                assert p.clause.startswith("unlogged = unchanged") and (p.document_sha256 or "copy-11.23" in p.clause)
            elif p.source != "unknown":
                assert p.revision and p.clause, (version.label, record.key)


def _with_copy(words: str) -> list:
    sets = load_changesets(CHANGES)
    text = (CHANGES / "2023-08-06.toml").read_text(encoding="utf-8")
    text += f'\n[[copy]]\nsource = "copy-11.23"\nkind = "criterion"\nkey = "I.A.1"\nwords = "{words}"\n'
    return [parse_changeset("2023-08-06.toml", text) if s.revision.isoformat() == "2023-08-06" else s for s in sets]


def test_a_copy_the_reconstruction_contradicts_is_refused(document):
    build_timeline([document], _with_copy("Diagnosis of B-cell ALL"))  # what the copy shows: fine
    with pytest.raises(ChangeDataError) as caught:
        build_timeline([document], _with_copy("Diagnosis of T-cell ALL"))
    assert caught.value.source == "2023-08-06.toml" and caught.value.line and "copy-11.23" in caught.value.expected


@pytest.mark.parametrize(
    ("extra", "expected"),
    [('unlogged = "sometimes"\n', "unlogged one of"), ('[[copy]]\nsource = "x"\nkind = "criterion"\n', "a copy with")],
)
def test_change_files_read_their_new_keys_strictly(extra, expected):
    text = 'policy = "P"\nrevision = 2025-07-15\nversion = "V"\n' + extra
    with pytest.raises(ChangeDataError, match=expected):
        parse_changeset("bad.toml", text)

"""Loading time stays linear in the text: long lines and long items (issue #28, item 1).

A line longer than ``MAX_LINE_CHARS`` (20,000; the corpus's longest line has 9,221 characters)
is flagged suspect and not read; a criterion longer than ``MAX_READ_CHARS`` (5,000; the
corpus's longest record has 1,652) is read by no rule and left to clinical review. Below those
limits, the regular expressions that used to backtrack on a long line (a run of stars, of
letters before a parenthesis, of punctuation at an item's end) take time linear in it.
"""

from __future__ import annotations

from kb.predicates import read
from kb.predicates.phrases import normalise, without_acronyms
from kb.predicates.reader import MAX_READ_CHARS
from kb.reliability.long_lines import KINDS, SLOW, long_loads, with_long_item
from loaders.centene import load_text
from loaders.source import MAX_LINE_CHARS
from tests.conftest import BUNDLED


def test_lines_of_200000_characters_load_in_time_linear_in_the_text():
    slow = [load for load in long_loads(200_000) if load.ratio > SLOW]
    assert not slow, slow


def test_items_just_under_the_line_limit_load_in_time_linear_in_the_text():
    loads = long_loads(MAX_LINE_CHARS - 1_000)
    assert [load.outcome for load in loads] == ["loaded"] * len(KINDS)
    slow = [load for load in loads if load.ratio > SLOW]
    assert not slow, slow


def test_a_line_beyond_the_limit_is_flagged_suspect_and_not_read():
    text = BUNDLED.read_text(encoding="utf-8")
    document = load_text("long.txt", with_long_item(text, "Diagnosis of " + "x" * MAX_LINE_CHARS))
    long_lines = [block for block in document.coverage if block.kind == "long line"]
    assert len(long_lines) == 1 and long_lines[0].status == "suspect"
    assert long_lines[0].text.startswith("8. Diagnosis of xxx")
    assert "not read" in long_lines[0].reason
    item_texts = [getattr(record, "text", "") or "" for record in document.records]
    assert not any("xxxx" in text for text in item_texts)


def test_a_line_at_the_limit_is_read():
    text = BUNDLED.read_text(encoding="utf-8")
    item = "Diagnosis of " + "x" * (MAX_LINE_CHARS - len("8. Diagnosis of ;"))
    document = load_text("long.txt", with_long_item(text, item))
    assert not [block for block in document.coverage if block.kind == "long line"]
    assert any(getattr(record, "item_id", "") == "I.A.8" for record in document.records)


def test_a_criterion_beyond_the_read_limit_is_left_to_clinical_review():
    predicate, rule = read("Age ≥ 18 years or " * (MAX_READ_CHARS // 10))
    assert predicate["op"] == "review" and rule == "needs clinical review"
    assert f"{MAX_READ_CHARS:,}" in predicate["reason"]
    child, _ = read("Age ≥ 18 years", context="Diagnosis of " + "x" * MAX_READ_CHARS)
    assert child["op"] == "review" and "parent" in child["reason"]
    assert read("Age ≥ 18 years")[0]["op"] != "review"


def test_the_rewritten_phrase_rules_read_as_before():
    # from the policies' own wording: the trailing list word and punctuation go, the appendix note goes
    assert normalise("Diagnosis of ITP (see Appendix B), or") == "diagnosis of itp"
    assert normalise("a, b, and;") == "a, b"
    assert normalise("prescribed by a hematologist;  and") == "prescribed by a hematologist"
    # an abbreviation of the words just before it says nothing more; another parenthesis stays
    assert without_acronyms("immune tolerance induction (iti) regimen") == "immune tolerance induction regimen"
    assert without_acronyms("glatiramer (copaxone) and (iti)") == "glatiramer (copaxone) and (iti)"
    assert without_acronyms("x (y) immune tolerance induction (iti)") == "x (y) immune tolerance induction"

"""The concept vocabulary: every entry sourced, every ICD-10-CM code real, matching three-valued."""

from __future__ import annotations

import pytest

from kb.concepts.codes import CodeError, icd_description
from kb.concepts.match import match, match_any, read_value
from kb.concepts.vocabulary import VocabularyError, load_kind, vocabulary


def test_every_concept_has_a_source_and_its_icd_codes_exist():
    for kind in vocabulary().values():
        for concept in kind.concepts.values():
            assert concept.source.strip(), concept.id
            icd = [code for system, code in concept.codes if system == "ICD-10-CM"] + list(concept.within)
            for code in icd:
                assert icd_description(code), f"{concept.id}: ICD-10-CM {code} is not in the code tables"


@pytest.mark.parametrize(
    ("kind", "value", "accepted", "truth"),
    [
        # synonyms and narrower concepts match
        ("diagnosis", "B-cell precursor acute lymphoblastic leukemia", ("b-cell-all",), True),
        ("specialty", "hematologist-oncologist", ("oncologist", "hematologist"), True),
        ("specialty", "pediatric oncologist", ("oncologist", "hematologist"), True),
        ("therapy_line", "first-line", ("frontline",), True),
        ("drug", "prednisone", ("systemic-corticosteroid",), True),
        # a narrower code matches; a broader one asks
        ("diagnosis", {"system": "ICD-10-CM", "code": "G43.701"}, ("chronic-migraine",), True),
        ("diagnosis", {"system": "ICD-10-CM", "code": "C91.02"}, ("b-cell-all",), None),
        ("diagnosis", "acute lymphoblastic leukemia", ("b-cell-all",), None),
        # something else the vocabulary knows does not match
        ("diagnosis", "T-ALL", ("b-cell-all",), False),
        ("diagnosis", {"system": "ICD-10-CM", "code": "J45.50"}, ("pnh",), False),
        ("specialty", "internist", ("oncologist", "hematologist"), False),
        ("specialty", {"system": "NUCC", "code": "207RX0202X"}, ("hematologist",), False),
        # unrecognised: asked, never denied
        ("diagnosis", "histiocytosis of an unnamed kind", ("b-cell-all",), None),
        ("specialty", {"system": "NUCC", "code": "363LF0000X"}, ("oncologist",), None),
        ("drug", {"system": "HCPCS", "code": "J9999"}, ("inotuzumab-ozogamicin",), None),
        ("drug", {"system": "HCPCS", "code": "J9229"}, ("inotuzumab-ozogamicin",), True),
    ],
)
def test_matching_is_three_valued(kind, value, accepted, truth):
    found, question = match(read_value(kind, value), accepted)
    assert found is truth
    assert (question is not None) == (truth is None)


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("diagnosis", {"system": "ICD-9-CM", "code": "204.0"}, "unknown code system"),
        ("diagnosis", {"system": "ICD-10-CM", "code": "C91.09"}, "does not exist"),
        ("diagnosis", {"system": "NUCC", "code": "207RH0003X"}, "does not code a diagnosis"),
        ("specialty", {"system": "NUCC", "code": "207RH0003"}, "not of the form"),
    ],
)
def test_bad_codes_are_refused(kind, value, message):
    with pytest.raises(CodeError, match=message):
        read_value(kind, value)


def test_a_vocabulary_file_is_read_strictly(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text('[kind]\nname = "x"\n[[concept]]\nid = "a"\nlabel = "A"\nsource = "s"\nbroader = ["b"]\n')
    with pytest.raises(VocabularyError, match="broader concept"):
        load_kind(path)
    path.write_text('[kind]\nname = "x"\n[[concept]]\nid = "a"\nlabel = "A"\nsource = "s"\nsynonym = ["b"]\n')
    with pytest.raises(VocabularyError, match="unknown key"):
        load_kind(path)


def _values(kind: str, *raw: object) -> tuple:
    return tuple(read_value(kind, value) for value in raw)


def test_a_list_with_an_unknown_value_asks_instead_of_failing():
    # "at least 2 of": one value matches and one is not in the vocabulary; the second could
    # be an accepted one, so the criterion is open (asked), not failed.
    values = _values("drug", "prednisone", "an unnamed steroid of the member's own")
    truth, questions = match_any(values, ("systemic-corticosteroid",), count=2)
    assert truth is None and len(questions) == 1 and "unnamed steroid" in questions[0]


def test_one_matching_value_counts_once_towards_at_least_n():
    values = _values("specialty", "hematologist-oncologist", "internist")
    assert match_any(values, ("oncologist", "hematologist"), count=2) == (False, [])
    assert match_any(values, ("oncologist", "hematologist"), count=1) == (True, [])


def test_a_code_that_names_no_concept_is_compared_by_its_place_in_icd_10_cm():
    # C91.02 (ALL, in relapse) is no concept of its own: it lies in C91.0, where B-cell
    # precursor ALL lies too, so the policy asks whether it is B-cell precursor ALL.
    truth, question = match(read_value("diagnosis", {"system": "ICD-10-CM", "code": "C91.02"}), ("b-cell-all",))
    assert truth is None and "B-cell precursor" in question and "unrecognised" not in question
    # I10 (essential hypertension) shares no code with ALL: it is something else.
    assert match(read_value("diagnosis", {"system": "ICD-10-CM", "code": "I10"}), ("b-cell-all",)) == (False, None)


def test_a_parent_code_is_related_to_its_children():
    # C91 (lymphoid leukemia) holds C91.0 (ALL): broader than B-cell precursor ALL, so asked.
    truth, question = match(read_value("diagnosis", {"system": "ICD-10-CM", "code": "C91"}), ("b-cell-all",))
    assert truth is None and "B-cell precursor" in question

"""Diagnoses by any name ICD-10-CM gives them: a phrase the vocabulary does not know is read as the
ICD-10-CM code whose description or inclusion term it is, and decided as that code is.

Expected codes are read from ICD-10-CM (C83.3 "Diffuse large B-cell lymphoma", inclusion term
"Anaplastic diffuse large B-cell lymphoma"); the decision from CP.PHAR.359 (section I.A asks for
B-cell ALL; I.B refers every other diagnosis to the off-label use policy).
"""

from __future__ import annotations

import pytest

from kb.concepts.facts import Request
from kb.concepts.match import read_phrase

ORDER = {
    "policy": "CP.PHAR.359",
    "date_of_service": "2025-12-01",
    "facts": {"age_years": 45, "line_of_business": "Commercial", "prescriber_specialty": "hematologist-oncologist"},
}


@pytest.mark.parametrize(
    ("phrase", "code"),
    [
        ("diffuse large B-cell lymphoma", "C83.3"),  # the description of C83.3
        ("Anaplastic diffuse large B-cell lymphoma", "C83.3"),  # an inclusion term of C83.3
    ],
)
def test_an_icd_name_is_read_as_its_code(phrase, code):
    assert read_phrase("diagnosis", phrase).code == ("ICD-10-CM", code)


@pytest.mark.parametrize("phrase", ["leukemia", "xyz disease", "lymphoma of some kind"])
def test_a_vague_or_unknown_name_stays_unrecognised(phrase):
    """'Leukemia, unspecified' (C95.9) is not a reading of 'leukemia': it stays unknown and pends."""
    value = read_phrase("diagnosis", phrase)
    assert value.code is None and value.concept is None


def test_diffuse_large_b_cell_lymphoma_in_words_is_decided_as_its_code(loaded_kb):
    def decided(diagnosis):
        request = {**ORDER, "facts": {**ORDER["facts"], "diagnosis": diagnosis}}
        return loaded_kb.evaluate(Request.from_json(request))

    in_words = decided("diffuse large B-cell lymphoma")
    by_code = decided({"system": "ICD-10-CM", "code": "C83.30"})
    assert by_code.decision == "refer" and in_words.decision == "refer"
    assert [r["policy"] for r in in_words.referral] == [r["policy"] for r in by_code.referral]

"""Searchable passages: one per span of versions in which a text read the same, with those versions."""

from __future__ import annotations

from kb.store.search import passages
from kb.store.write import timeline_rows


def test_a_text_unchanged_across_versions_is_one_passage(timeline):
    found = passages("CP.PHAR.359", timeline_rows(timeline))
    prescriber = [
        p for p in found if p["text"] == "Prescribed by or in consultation with an oncologist or hematologist;"
    ]
    # item 2 of every version since V2021 (CP.PHAR.359-history.md)
    assert [(p["place"], p["valid_from"], p["valid_to"], p["versions"]) for p in prescriber] == [
        ("I.A.2", "2021-11-01", None, "V2021, V2022, V2023, V2024-05, V2024-11, V2025-11")
    ]


def test_a_text_that_changed_is_one_passage_per_wording(timeline):
    found = passages("CP.PHAR.359", timeline_rows(timeline))
    ages = {p["text"]: (p["valid_from"], p["valid_to"]) for p in found if p["record_key"] == "I.A.5.ph-negative.age"}
    # "age >= 65 years or substantial comorbidities" until RT4 (2024-05-13), then "age >= 15 years" until 4Q 2024
    assert ages["Age ≥ 15 years;"] == ("2024-05-13", "2024-11-01")
    assert [span for text, span in ages.items() if "65" in text] == [("2021-11-01", "2024-05-13")]


def test_unknown_text_is_not_a_passage(timeline):
    found = passages("CP.PHAR.359", timeline_rows(timeline))
    assert not [p for p in found if p["place"].startswith("I.B") and p["valid_from"] == "2021-11-01"]
    assert {p["kind"] for p in found} == {
        "criterion",
        "statement",
        "reference",
        "duration",
        "code",
        "dosing",
        "revision log",
    }


def test_codes_are_searched_with_their_descriptions(timeline):
    found = passages("CP.PHAR.359", timeline_rows(timeline))
    # Coding Implications: "J9229	Injection, inotuzumab ozogamicin, 0.1 mg", in every version
    codes = [(p["place"], p["text"], p["valid_to"]) for p in found if p["kind"] == "code"]
    assert codes == [("HCPCS code", "J9229 Injection, inotuzumab ozogamicin, 0.1 mg", None)]


def test_a_revision_log_row_stands_from_the_version_it_opened(timeline):
    found = passages("CP.PHAR.359", timeline_rows(timeline))
    # RT4, dated 05.13.24 with no P&T month: in force from 2024-05-13 (CP.PHAR.359-history.md)
    (rt4,) = [p for p in found if p["kind"] == "revision log" and p["text"].startswith("RT4:")]
    assert (rt4["valid_from"], rt4["valid_to"], rt4["versions"]) == ("2024-05-13", None, "V2024-05, V2024-11, V2025-11")

"""The bundled CP.PHAR.359 parsed to exact values."""

from __future__ import annotations

from datetime import date

from kb.dates import Month
from kb.model import Code, Criterion, CrossReference, DosingRow, Duration, Logic, Reference, Statement


def _criteria(document, section):
    return {c.item_id: c for c in document.of_kind(Criterion) if c.section == section}


def test_header(document):
    header = document.header
    assert header.title == "Inotuzumab Ozogamicin (Besponsa)"
    assert header.reference_number == "CP.PHAR.359"
    assert [(d.generic_name, d.brand_names) for d in header.drugs] == [("Inotuzumab Ozogamicin", ("Besponsa",))]
    assert header.original_effective_date == date(2017, 9, 26)
    assert header.last_review == Month(2025, 11)
    assert header.lines_of_business == ("Commercial", "HIM", "Medicaid")


def test_initial_approval_items(document):
    criteria = _criteria(document, "I")
    top = [c for c in criteria.values() if c.parent_id == "I.A"]
    assert [c.label for c in top] == ["1.", "2.", "3.", "4.", "5.", "6.", "7."]
    assert criteria["I.A"].logic is Logic.ALL and criteria["I.A"].logic_text == "must meet all"
    assert criteria["I.A.3"].text == "Age ≥ 1 year;"
    assert criteria["I.A.3"].raw_text == r"3. Age \geq 1 year;"
    assert criteria["I.A.5"].logic is Logic.ANY
    assert criteria["I.A.5"].logic_text == "One of the following (a or b)"
    assert [c.text for c in criteria.values() if c.parent_id == "I.A.5"] == [
        "Disease is relapsed or refractory;",
        "If prescribed as frontline therapy, age ≥ 18 years;",
    ]
    assert [c.label for c in criteria.values() if c.parent_id == "I.A.7"] == ["a.", "b."]
    assert criteria["I.A.7.a"].text.startswith("Dose does not exceed 1.8 mg/m² per cycle")
    assert criteria["I.A.7"].footnote_marker == "*"
    assert criteria["I.A.7"].footnote_text == "Prescribed regimen must be FDA-approved or recommended by NCCN."


def test_continued_therapy_items(document):
    criteria = _criteria(document, "II")
    assert [c.text for c in criteria.values() if c.parent_id == "II.A"][
        2
    ] == "Member has not received ≥ 6 cycles of Besponsa;"
    assert len([c for c in criteria.values() if c.parent_id == "II.A"]) == 4
    assert criteria["II.A.4"].footnote_marker == "*"
    # the sentence a page break splits is one item
    assert criteria["II.B.1.b"].text.endswith(
        "CP.CPA.190 for commercial, HIM.PA.103 for health insurance marketplace, and CP.PMN.16 for Medicaid; or"
    )
    assert criteria["II.B.1.b"].provenance.span.first < criteria["II.B.1.b"].provenance.span.last


def test_other_diagnoses_cross_references(document):
    refs = {(r.item_id, r.line_of_business, r.role): r.policy_ref for r in document.of_kind(CrossReference)}
    for section in ("I", "II"):
        assert document_item(document, f"{section}.B").logic_text == "must meet 1 or 2"
        assert refs[(f"{section}.B.1.a", "Commercial", "no coverage criteria")] == "CP.CPA.190"
        assert refs[(f"{section}.B.1.a", "HIM", "no coverage criteria")] == "HIM.PA.33"
        assert refs[(f"{section}.B.1.a", "Medicaid", "no coverage criteria")] == "CP.PMN.255"
        assert refs[(f"{section}.B.1.b", "HIM", "non-formulary")] == "HIM.PA.103"
        assert refs[(f"{section}.B.1.b", "Medicaid", "non-formulary")] == "CP.PMN.16"
        assert refs[(f"{section}.B.2", "Commercial", "off-label use")] == "CP.CPA.09"
        assert refs[(f"{section}.B.2", "HIM", "off-label use")] == "HIM.PA.154"
        assert refs[(f"{section}.B.2", "Medicaid", "off-label use")] == "CP.PMN.53"


def document_item(document, item_id):
    return next(c for c in document.of_kind(Criterion) if c.item_id == item_id)


def test_durations(document):
    rows = {(d.section, d.line_of_business): d for d in document.of_kind(Duration)}
    assert len(rows) == 6
    for section in ("I", "II"):
        commercial = rows[(section, "Commercial")]
        assert (commercial.months, commercial.cycle_cap) == (6, 6)
        assert commercial.rule.replace("’", "'") == "or to the member's renewal date, whichever is longer"
        for lob in ("HIM", "Medicaid"):
            assert (rows[(section, lob)].months, rows[(section, lob)].rule, rows[(section, lob)].cycle_cap) == (
                6,
                None,
                6,
            )
            assert rows[(section, lob)].text == "6 months (up to 6 cycles total)"


def test_codes_references_dosing_log(document):
    assert [(c.system, c.code, c.description) for c in document.of_kind(Code)] == [
        ("HCPCS", "J9229", "Injection, inotuzumab ozogamicin, 0.1 mg")
    ]
    references = document.of_kind(Reference)
    assert [r.accessed for r in references] == [
        date(2025, 7, 15),
        date(2025, 8, 23),
        date(2025, 8, 23),
        date(2022, 8, 23),
    ]
    assert references[0].url == "https://besponsa.pfizerpro.com"
    dosing = document.of_kind(DosingRow)
    assert len(dosing) == 1  # the row continued across the page break is one row
    assert dosing[0].indication == "B-cell ALL"
    assert dosing[0].max_dose == "1.8 mg/m² per cycle (0.8 mg/m² per dose)"
    assert "Day 15 (0.5 mg/m²). Cycle 1 is 3 weeks" in dosing[0].regimen
    assert [(r.date, r.pt_month) for r in document.revision_log] == [
        (date(2021, 6, 28), Month(2021, 11)),
        (date(2022, 8, 2), Month(2022, 11)),
        (date(2023, 8, 6), Month(2023, 11)),
        (date(2024, 5, 13), None),
        (date(2024, 7, 11), Month(2024, 11)),
        (date(2025, 7, 15), Month(2025, 11)),
    ]


def test_statements(document):
    by_key = {s.key: s for s in document.of_kind(Statement)}
    assert by_key["fda_indication:1"].text.endswith("in adult and pediatric patients 1 year and older.")
    assert by_key["abbreviation:CRi"].text == "complete remission with incomplete hematologic recovery"
    assert by_key["appendix:B.1"].text == "Not Applicable"
    assert by_key["appendix:C.2"].text.startswith("Boxed warning(s): hepatotoxicity")
    assert by_key["definition:CR"].text.startswith("CR (complete remission) is defined as < 5% blasts")
    assert "≥ 100 × 10^9/L" in by_key["definition:CR"].text
    assert r"$\geq 100 \times 10^9/L$" in by_key["definition:CR"].raw_text  # raw text is the source's own
    assert by_key["product_availability:1"].text == "Single-dose vial, powder for reconstitution: 0.9 mg"
    assert by_key["non_covered:A"].text.startswith("Non-FDA approved indications")


def test_coverage_and_provenance(document):
    assert document.unparsed == []
    kinds = {block.kind for block in document.coverage}
    assert {"page header", "important reminder", "copyright", "repeated table header"} <= kinds
    assert all(r.provenance.document_sha256 == document.sha256 and r.provenance.span for r in document.records)

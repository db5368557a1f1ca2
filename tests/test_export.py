"""Point 6 of issue 14: exports an auditor can use. Expected values are read from the bundled
document (its preamble, appendices, dosing table) and the history reference."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace

import pytest
from openpyxl import load_workbook

from kb.surfaces.export import export_html, export_markdown

POLICY = "CP.PHAR.359"


def test_whole_policy_markdown_is_complete(run):
    page = run("export", POLICY, "--as-of", "2024-08-01", "--format", "markdown")
    order = [
        "## Description",
        "## FDA Approved Indication(s)",
        "## Policy/Criteria",
        "Provider must submit documentation (such as office chart notes",
        "### I.A",
        "## III. Diagnoses/Indications for which coverage is NOT authorized",
        "### Appendix A: Abbreviation/Acronym Key",
        "### Appendix C: Contraindications/Boxed Warnings",
        "Boxed warning(s): hepatotoxicity, including hepatic venoocclusive disease",
        "## V. Dosage and Administration",
        "## VI. Product Availability",
        "## VII. References",
        "## Coding Implications",
    ]
    assert [page.index(text) for text in order] == sorted(page.index(text) for text in order)
    rows = [line for line in page.splitlines() if line.startswith("| B-cell ALL |")]
    assert len(rows) == 1  # the multi-line regimen stays one row
    assert "If proceeding to hematopoietic stem cell transplant (HSCT):" in rows[0]
    assert "should discontinue treatment." in rows[0] and "| 1.8 mg/m² per cycle (0.8 mg/m² per dose) |" in rows[0]
    # references of V2024-05 are unknown (reviewed and updated at 07.11.24): said so, not "none"
    assert "\\[unknown\\]: References were reviewed and updated at 07.11.24" in page and "(none in force)" not in page
    assert "**reference ***" not in page and "reference (all):" in page


def test_durations_follow_their_criteria_set(run):
    page = run("export", POLICY, "--as-of", "2025-12-01", "--format", "markdown")
    first = page.index("### I.A")
    assert first < page.index("Approval duration:") < page.index("### I.B")
    assert "- Commercial – 6 months or to the member's renewal date, whichever is longer" in page


def test_html_keeps_the_dosing_table_whole_and_escapes_policy_text(loaded_kb):
    answer = loaded_kb.as_of(POLICY, "2025-12-01")
    page = export_html(answer)
    dosing = page[page.index("V. Dosage and Administration") :]
    dosing = dosing[: dosing.index("</table>")]
    assert dosing.count("<tr>") == 2 and "<td>B-cell ALL</td>" in dosing
    assert "**" not in page and "[unknown]" not in page[page.index("<h2>Description") :]  # V2025-11 is all known
    hostile = [{**r, "text": "<script>alert(1)</script>"} if r["item_id"] == "I.A.1" else r for r in answer.criteria()]
    page = export_html(replace(answer, records={**answer.records, "criterion": hostile}))
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\\<script\\>" in export_markdown(replace(answer, records={**answer.records, "criterion": hostile}))


def test_csv_criteria_in_policy_order_with_label_depth_and_provenance_columns(run):
    rows = list(csv.DictReader(io.StringIO(run("export", POLICY, "--as-of", "2024-08-01"))))
    assert list(rows[0])[:3] == ["label", "depth", "table"]
    criteria = [r for r in rows if r["table"] == "criterion"]
    assert [r["label"] for r in criteria[:9]] == [
        "I.A", "I.A.1", "I.A.2", "I.A.3", "I.A.4", "I.A.5", "I.A.5.a", "I.A.5.b", "I.A.5.b.i",
    ]  # fmt: skip
    age = next(r for r in criteria if r["label"] == "I.A.5.b.ii")
    assert (age["depth"], age["text"], age["source"], age["revision"], age["confidence"]) == (
        "3", "Age ≥ 15 years;", "log", "2024-05-13", "high",
    )  # fmt: skip
    assert "updated age to ≥ 15 years" in age["clause"]
    carried = next(r for r in criteria if r["label"] == "I.A.1")
    assert (carried["source"], carried["document"], carried["lines"]) == ("carried", "11.25 (ebedc22fcfb2)", "33")
    assert "item_id" not in rows[0] and "predicate" not in rows[0]


def test_xlsx_sheets_and_internal_columns_apart(run, tmp_path):
    run("export", POLICY, "--as-of", "2024-08-01", "--format", "xlsx", "-o", str(tmp_path / "rules.xlsx"))
    book = load_workbook(tmp_path / "rules.xlsx")
    assert book.sheetnames[:3] == ["about", "criteria", "durations"] and book.sheetnames[-1] == "internal"
    header = [c.value for c in book["criteria"][1]]
    assert header[:2] == ["label", "depth"] and "confidence" in header and "item_id" not in header
    assert "item_id" in [c.value for c in book["internal"][1]]
    about = {row[0]: row[1] for row in book["about"].iter_rows(values_only=True)}
    assert about["effective_date_rule"] == "pt-month-start" and "2024-07-11..2024-10-31" in about["rule_dependent"]
    assert about["generated_at"] and about["knowledge"].startswith("as known now")


@pytest.mark.parametrize("fmt", ["csv", "json", "markdown", "html"])
def test_every_export_states_rule_windows_generation_and_knowledge(run, fmt):
    out = run("export", POLICY, "--as-of", "2024-08-01", "--format", fmt)
    assert "pt-month-start" in out and "2024-07-11..2024-10-31" in out
    assert "latest load recorded" in out or '"latest_load"' in out
    assert "generated" in out.lower()
    if fmt == "json":
        data = json.loads(out)
        assert data["generated_at"] and data["knowledge"]["latest_load"] and data["rule_dependent"]

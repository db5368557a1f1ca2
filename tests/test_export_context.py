"""Issue 23, point 8: every export, an empty one included, says what it is: policy and drug,
version with interval and basis, the document's Last Review and hash, rule, windows, knowledge
and generation time; html and xlsx add the revision log and a key to the sources; no local path.

Expected values are read from the bundled document (CP.PHAR.359, Inotuzumab Ozogamicin
(Besponsa), Last Review 11.25) and its revision log (V2024-05: RT4, 2024-05-13 .. 2024-11-01,
reconstructed; 2024-08-01 lies in the 07.11.24 window).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json

import pytest
from openpyxl import load_workbook

from tests.conftest import BUNDLED

POLICY = "CP.PHAR.359"
SHA = hashlib.sha256(BUNDLED.read_bytes()).hexdigest()
DRUG = "Inotuzumab Ozogamicin (Besponsa)"


@pytest.mark.parametrize("day", ["2024-08-01", "2019-01-01"])
def test_csv_rows_say_what_the_export_is_even_when_nothing_is_covered(run, day):
    rows = list(csv.DictReader(io.StringIO(run("export", POLICY, "--as-of", day, "--format", "csv"))))
    assert rows, "a not-covered export is more than a header row"
    first = rows[0]
    assert (first["policy"], first["title"], first["as_of"]) == (POLICY, DRUG, day)
    assert SHA in first["documents"] and "Last Review 2025-11" in first["documents"]
    assert first["effective_date_rule"] == "pt-month-start" and first["knowledge"] and first["generated_at"]
    if day == "2019-01-01":
        assert (first["table"], first["basis"]) == ("not covered", "none: not covered")
        assert "2021-11-01" in first["text"]  # the earliest date any version is vouched for
    else:
        assert (first["version"], first["interval"]) == ("V2024-05", "2024-05-13 .. 2024-11-01")
        assert first["basis"] == "reconstructed from the revision log and change data"
        assert "2024-07-11..2024-10-31" in first["rule_dependent"]


def test_json_names_documents_by_last_review_and_hash_without_a_local_path(run):
    text = run("export", POLICY, "--as-of", "2024-01-15", "--format", "json")
    data = json.loads(text)
    assert str(BUNDLED.parent) not in text and "/" not in json.dumps(data["documents"])
    assert data["documents"] == {SHA: {"last_review": "2025-11"}}
    assert data["about"]["title"] == DRUG and data["about"]["interval"] == "2023-11-01 .. 2024-05-13"
    assert [r["revision_date"] for r in data["revision_log"]][:2] == ["2021-06-28", "2022-08-02"]
    assert "copy-11.23" in data["source_key"]  # V2023 rests on the copy in places


@pytest.mark.parametrize("day", ["2024-01-15", "2019-01-01"])
def test_html_states_the_context_the_revision_log_and_the_key(run, day):
    page = run("export", POLICY, "--as-of", day, "--format", "html")
    assert DRUG in page and SHA in page and "pt-month-start" in page and "Generated" in page
    assert "Revision log" in page and "4Q 2022 annual review" in page and "RT4" in page
    if day == "2024-01-15":
        assert "V2023, in force 2023-11-01 .. 2024-05-13 (reconstructed" in page
        assert "Key to the sources" in page and "copy-11.23</strong>: an older copy of the policy" in page
    else:
        assert "none: not covered" in page


def test_xlsx_has_the_revision_log_and_the_key(run, tmp_path):
    run("export", POLICY, "--as-of", "2024-01-15", "--format", "xlsx", "-o", str(tmp_path / "v.xlsx"))
    book = load_workbook(tmp_path / "v.xlsx")
    about = {row[0]: row[1] for row in book["about"].iter_rows(values_only=True)}
    assert (about["title"], about["version"], about["interval"]) == (DRUG, "V2023", "2023-11-01 .. 2024-05-13")
    assert SHA in about["documents"]
    log = list(book["revision log"].iter_rows(values_only=True))
    assert log[0][:2] == ("revision", "date") and len(log) == 7  # the six rows of the log
    key = {row[0] for row in book["source key"].iter_rows(values_only=True)}
    assert {"copy-11.23", "log", "carried"} <= key

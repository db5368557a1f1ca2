"""``kb diff`` exports (issue 26): a workbook as ``kb export`` has, the revision-log audit in the
CSV, and the generation time in every format. Clauses are those of the bundled policy's log:
"4Q 2024 annual review: removed criterion that Besponsa is prescribed as induction therapy ...;
revised Commercial approval durations ...; references reviewed and updated." (07.11.24) and
"4Q 2025 annual review: removed criteria option for age ≥ 15 years ...; added criteria option ...;
references reviewed and updated." (07.15.25)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from kb.surfaces.cli import cli

SPAN = ["CP.PHAR.359", "V2024-05", "V2025-11"]


def kb_diff(loaded_kb, *options: str) -> str:
    result = CliRunner().invoke(cli, ["diff", *SPAN, "--db", str(loaded_kb.path), *options])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_csv_diff_holds_the_revision_log_audit(loaded_kb):
    rows = list(csv.DictReader(io.StringIO(kb_diff(loaded_kb, "--format", "csv"))))
    audit = [(r["key"], r["kind"], r["summary"]) for r in rows if r["kind"].startswith("audit:")]
    clauses = [(key.split(" ")[0], summary.split(" ")[:2]) for key, _, summary in audit]
    assert ("2024-07-11", ["removed", "criterion"]) in clauses
    assert ("2025-07-15", ["removed", "criteria"]) in clauses
    # "references reviewed and updated" where the earlier references are unknown: not checkable
    assert ("2024-07-11 #3", "audit: not checkable", "references reviewed and updated") in audit


@pytest.mark.parametrize("fmt", ["text", "markdown", "json", "csv", "html"])
def test_every_diff_format_says_when_it_was_generated(loaded_kb, fmt):
    before = datetime.now(UTC).replace(microsecond=0)
    output = kb_diff(loaded_kb, "--format", fmt)
    if fmt == "json":
        stamp = json.loads(output)["generated_at"]
    elif fmt == "csv":
        stamp = next(csv.DictReader(io.StringIO(output)))["generated_at"]
    else:
        stamp = output[output.rindex("Generated ") + len("Generated ") :].split(".")[0].split("<")[0]
    assert before <= datetime.fromisoformat(stamp) <= before + timedelta(minutes=5)


def test_kb_diff_writes_a_workbook(loaded_kb, tmp_path):
    target = tmp_path / "diff.xlsx"
    kb_diff(loaded_kb, "--format", "xlsx", "-o", str(target))
    book = load_workbook(target)
    assert book.sheetnames == ["changes", "revision-log audit"]
    changes = list(book["changes"].iter_rows(values_only=True))
    header = changes[0]
    assert {"kind", "summary", "knowledge", "generated_at"} <= set(header)
    # 4Q 2025: I.A.5.b "Age ≥ 15 years" replaced by "If prescribed as frontline therapy, age ≥ 18 years"
    summaries = [row[header.index("summary")] for row in changes[1:]]
    assert any("age ≥ 18 years" in (summary or "") for summary in summaries)
    audit = list(book["revision-log audit"].iter_rows(values_only=True))[1:]
    assert len(audit) == 6  # three clauses in each of the two annual reviews


def test_a_workbook_needs_a_file(loaded_kb):
    result = CliRunner().invoke(cli, ["diff", *SPAN, "--db", str(loaded_kb.path), "--format", "xlsx"])
    assert result.exit_code == 2 and "give -o FILE" in result.output

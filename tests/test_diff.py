"""Structured diffs, the revision-log audit and the auditor's exports."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from kb.errors import UnknownVersion
from kb.history.diff import diff_answers, normalise, value_changes
from kb.surfaces.cli import cli
from tests.conftest import BUNDLED, FIXTURES

POLICY = "CP.PHAR.359"
SCHEMA = json.loads((Path(__file__).parents[1] / "kb" / "schemas" / "diff.schema.json").read_text())


def _by_key(diff):
    return {change.key: change for change in diff.changes}


def test_2024_to_2025_shows_exactly_the_option_and_the_commercial_duration(loaded_kb):
    diff = loaded_kb.diff(POLICY, "2024-08-01", "2025-12-01")
    substantive = {(c.table, c.key, c.kind) for c in diff.substantive()}
    assert substantive == {
        ("criterion", "I.A.5.ph-negative -> I.A.5.b", "replaced"),
        ("duration", "I.A.Commercial", "changed"),
        ("duration", "II.A.Commercial", "changed"),
    }
    changes = _by_key(diff)
    option = changes["I.A.5.ph-negative -> I.A.5.b"]
    assert option.values == ["Age ≥ 15 years -> age ≥ 18 years"]
    assert option.subtree_before == ["i. Prescribed as induction therapy;", "ii. Age ≥ 15 years;"]
    assert changes["I.A.Commercial"].summary == (
        "6 months -> 6 months or to the member's renewal date, whichever is longer"
    )
    # the references were unknown before: their appearance is shown but not called a change of rule
    assert {c.table for c in diff.changes if c.substantive is None} == {"reference", "unknown"}


def test_2024_pediatric_expansion_renumbers_instead_of_removing(loaded_kb):
    diff = loaded_kb.diff(POLICY, "2024-01-15", "2024-08-01")
    changes = _by_key(diff)
    assert changes["I.A.3"].kind == "added" and changes["I.A.3"].values == ["+ Age ≥ 1 year"]
    assert changes["I.A.3"].summary == "+ Age ≥ 1 year;"
    renumbered = {key: (c.where_before, c.where_after) for key, c in changes.items() if c.kind == "renumbered"}
    assert renumbered == {
        "I.A.4": ("I.A.3", "I.A.4"),
        "I.A.5": ("I.A.4", "I.A.5"),
        "I.A.6": ("I.A.5", "I.A.6"),
        "I.A.7": ("I.A.6", "I.A.7"),
    }
    assert not any(c.kind in ("added", "removed") for key, c in changes.items() if key != "I.A.3")
    age = changes["I.A.5.ph-negative.age"]
    assert age.kind == "text changed" and age.values == [
        "Age ≥ 65 years or substantial comorbidities -> Age ≥ 15 years"
    ]
    indication = changes["fda_indication:1"]
    assert indication.substantive and "pediatric patients 1 year and older" in indication.after["text"]


def test_logic_change_is_named(loaded_kb):
    change = _by_key(loaded_kb.diff(POLICY, "2023-01-01", "2024-01-01"))["I.A.5"]
    assert change.kind == "logic changed" and change.summary.startswith("logic all -> any")


def test_formatting_only_changes_are_flagged_and_hidden(loaded_kb):
    before = loaded_kb.as_of(POLICY, "2025-12-01")
    criteria = [
        {**row, "text": row["text"].replace("≥", "\\geq").replace(" ", "  ") + " "}
        if row["item_id"] == "I.A.3"
        else row
        for row in before.criteria()
    ]
    after = replace(before, records={**before.records, "criterion": criteria})
    diff = diff_answers(before, after)
    assert [(c.key, c.kind, c.substantive) for c in diff.changes] == [("I.A.3", "formatting", False)]
    assert diff.shown() == [] and diff.shown(everything=True) == diff.changes
    assert normalise("Age \\geq 1 year;") == normalise("age ≥ 1  year")


def test_value_changes_name_the_values():
    assert value_changes("Age ≥ 15 years;", "If frontline, age ≥ 18 years;") == ["Age ≥ 15 years -> age ≥ 18 years"]
    assert value_changes("6 months", "12 months") == ["6 months -> 12 months"]
    assert value_changes("Dose ≤ 1.8 mg/m² per cycle", "Dose ≤ 2 mg/m² per cycle") == [
        "1.8 mg/m² per cycle -> 2 mg/m² per cycle"
    ]


def test_audit_of_the_whole_history_matches_every_criteria_clause(loaded_kb):
    versions = loaded_kb.versions(POLICY)
    audit = loaded_kb.diff(POLICY, versions[0]["label"], versions[-1]["label"]).audit
    assert [s["to"] for s in audit.steps] == [v["label"] for v in versions[1:]]
    by_category: dict[str, set[str]] = {}
    for finding in audit.clauses:
        by_category.setdefault(finding.category, set()).add(finding.status)
    assert by_category["criteria"] == {"matched"}
    assert by_category["references"] == {"not checkable"}
    assert audit.logged_not_seen() == [] and audit.unlogged == []
    matched = {(f.revision_date, f.ordinal): f.changes for f in audit.clauses}
    assert matched[("2024-05-13", 1)][:1] == ["I.A.3"]
    assert matched[("2025-07-15", 2)] == ["I.A.5.b (replaced)"]  # named by the printed label


def test_an_unlogged_change_is_reported(fresh_kb):
    fresh_kb.load([BUNDLED, FIXTURES / "CP.PHAR.359_11.24-unlogged-change.txt"])
    audit = fresh_kb.diff(POLICY, "V2024-11", "V2025-11").audit
    assert [(u.revision_date, u.key) for u in audit.unlogged] == [("2025-07-15", "II.A.2")]
    assert audit.unlogged[0].summary == "+ 'positively'"


def test_unknown_version_label_is_an_error(loaded_kb):
    with pytest.raises(UnknownVersion, match="V1999"):
        loaded_kb.diff(POLICY, "V1999", "2025-12-01")


def test_json_output_follows_the_documented_schema(run):
    for dates in (("2024-08-01", "2025-12-01"), ("2019-01-01", "2025-12-01"), ("V2021", "V2023")):
        data = json.loads(run("diff", POLICY, *dates, "--format", "json"))
        jsonschema.validate(data, SCHEMA)
        assert bool(data["changes"]) is not dates[0].startswith("2019")  # a date not covered compares nothing
        assert data["effective_date_rule"] == "pt-month-start" and data["knowledge"]["latest_load"]


def test_csv_and_markdown_and_html(run):
    rows = list(csv.DictReader(io.StringIO(run("diff", POLICY, "2024-08-01", "2025-12-01", "--format", "csv"))))
    assert {(r["key"], r["substantive"]) for r in rows if r["substantive"] == "substantive"} == {
        ("I.A.5.ph-negative -> I.A.5.b", "substantive"),
        ("I.A.Commercial", "substantive"),
        ("II.A.Commercial", "substantive"),
    }
    markdown = run("diff", POLICY, "2024-08-01", "2025-12-01", "--format", "markdown")
    assert "| replaced | criterion I.A.5.b | substantive |" in markdown
    page = run("diff", POLICY, "2024-01-15", "2024-08-01", "--format", "html")
    assert page.startswith("<!DOCTYPE html>") and "<del>65</del>" in page and "<ins>15</ins>" in page
    assert "Revision-log audit" in page
    text = run("diff", "--all", "2024-08-01", "2025-12-01")
    assert text.startswith("CP.PHAR.359: V2024-05 (2024-08-01) -> V2025-11 (2025-12-01)")


def test_csv_files_open_in_a_spreadsheet_as_utf8(run, tmp_path):
    run("diff", POLICY, "2024-08-01", "2025-12-01", "--format", "csv", "-o", str(tmp_path / "diff.csv"))
    data = (tmp_path / "diff.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0]["policy"] == POLICY and any("≥" in r["summary"] for r in rows)


def test_unknown_stays_unknown(loaded_kb):
    """V2021's other-diagnoses section and durations are unknown: they become known, nothing 'changed'."""
    diff = loaded_kb.diff(POLICY, "V2021", "V2022")
    section = _by_key(diff)["I.B"]
    assert (section.kind, section.substantive) == ("became known", None)
    assert section.summary == "[unknown] -> Other diagnoses/indications (must meet 1 or 2):"
    assert not any("logic" in c.summary and "none" in c.summary for c in diff.changes)
    duration = _by_key(diff)["I.A.Commercial"]
    assert (duration.kind, duration.values) == ("became known", [])
    # what 08.02.22 added: the 6-cycle limits (the history reference: V2021 has "No cycle limit")
    assert {c.key for c in diff.changes if c.kind == "added"} == {"I.A.6", "II.A.3"}


def test_a_date_not_covered_compares_nothing(loaded_kb, run):
    diff = loaded_kb.diff(POLICY, "2021-08-01", "2025-12-01")
    assert diff.changes == [] and diff.audit is None
    assert diff.notices and "FROM 2021-08-01 is not covered" in diff.notices[0]
    out = run("diff", POLICY, "2021-08-01", "2025-12-01")
    assert "NOTICE: FROM 2021-08-01 is not covered" in out and "ADDED" not in out


def test_from_after_to_is_swapped_with_a_notice(fresh_kb):
    fresh_kb.load([BUNDLED, FIXTURES / "CP.PHAR.359_11.24-unlogged-change.txt"])
    forward = fresh_kb.diff(POLICY, "2025-01-15", "2025-12-01")
    backward = fresh_kb.diff(POLICY, "2025-12-01", "2025-01-15")
    assert "swapped" in backward.notices[0] and backward.before.as_of.isoformat() == "2025-01-15"
    assert [(u.revision_date, u.key) for u in backward.audit.unlogged] == [("2025-07-15", "II.A.2")]
    assert [c.key for c in backward.changes] == [c.key for c in forward.changes]


def test_diff_all_with_version_labels_skips_and_lists_policies_without_them(tmp_path):
    from kb.surfaces.api import KnowledgeBase
    from tests.conftest import CORPUS

    with KnowledgeBase(tmp_path / "kb.sqlite") as kb:
        kb.load([BUNDLED, CORPUS / "centene" / "CP.PHAR.427_siponimod.txt"])
    result = CliRunner().invoke(cli, ["diff", "--all", "V2021", "V2023", "--db", str(tmp_path / "kb.sqlite")])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("CP.PHAR.359: V2021 (2021-11-01) -> V2023 (2023-11-01)")
    assert (
        "Skipped 1 policy without the versions named:\n  CP.PHAR.427: policy CP.PHAR.427 has no version 'V2021'"
        in result.output
    )
    data = json.loads(
        CliRunner()
        .invoke(cli, ["diff", "--all", "V2021", "V2023", "--format", "json", "--db", str(tmp_path / "kb.sqlite")])
        .output
    )
    assert [d["policy"] for d in data["diffs"]] == [POLICY] and data["skipped"][0]["policy"] == "CP.PHAR.427"

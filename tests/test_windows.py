"""Point 3 of issue 14: rule-dependent windows under both effective-date rules, the first one
included, each saying what the other rule reads; every surface carries the window, the rule
and the knowledge time. Windows are those of the history reference."""

from __future__ import annotations

from datetime import date

import pytest

from kb.store.asof import version_under
from kb.surfaces.api import KnowledgeBase

POLICY = "CP.PHAR.359"
WINDOWS = [  # the reference's rule-dependent windows (a revision's Date .. the day before its P&T month)
    ("2021-06-28", "2021-10-31", None, "V2021"),
    ("2022-08-02", "2022-10-31", "V2021", "V2022"),
    ("2023-08-06", "2023-10-31", "V2022", "V2023"),
    ("2024-07-11", "2024-10-31", "V2024-05", "V2024-11"),
    ("2025-07-15", "2025-10-31", "V2024-11", "V2025-11"),
]


@pytest.fixture(scope="module")
def revision_date_kb(tmp_path_factory):
    kb = KnowledgeBase(tmp_path_factory.mktemp("kb") / "kb.sqlite", rule="revision-date")
    kb.load()
    return kb


@pytest.mark.parametrize(("first", "last", "by_pt_month", "by_date"), WINDOWS)
def test_every_window_under_both_rules(loaded_kb, revision_date_kb, first, last, by_pt_month, by_date):
    for kb, used in ((loaded_kb, "pt-month-start"), (revision_date_kb, "revision-date")):
        for day in (first, last):
            windows = kb.as_of(POLICY, day).rule_dependent
            assert [(w["window"]["from"], w["window"]["to"]) for w in windows] == [(first, last)], (used, day)
            assert windows[0]["readings"] == {"pt-month-start": by_pt_month, "revision-date": by_date}
            assert windows[0]["rule"] == used and windows[0]["differences"]


def test_days_outside_the_windows_are_not_rule_dependent(loaded_kb, revision_date_kb):
    for kb in (loaded_kb, revision_date_kb):
        assert kb.as_of(POLICY, "2021-06-27").rule_dependent == []
        assert kb.as_of(POLICY, "2025-01-15").rule_dependent == []


def test_the_first_window_is_not_covered_against_v2021(loaded_kb):
    answer = loaded_kb.as_of(POLICY, "2021-08-01")
    assert answer.status == "not covered"
    window = answer.rule_dependent[0]
    assert (window["version"], window["other_version"]) == (None, "V2021")
    assert "V2021" in window["differences"][0] and "not covered" in window["note"]


def test_a_window_names_what_the_other_rule_reads(loaded_kb, revision_date_kb):
    """2024-08-01: V2024-05 (induction condition, 6 months) or V2024-11 (no induction, new Commercial duration)."""
    ours = " ".join(loaded_kb.as_of(POLICY, "2024-08-01").rule_dependent[0]["differences"])
    assert "Prescribed as induction therapy" in ours and "duration I.A.Commercial" in ours
    theirs = revision_date_kb.as_of(POLICY, "2024-08-01")
    assert theirs.version["label"] == "V2024-11" and theirs.rule == "revision-date"
    assert "Prescribed as induction therapy" in " ".join(theirs.rule_dependent[0]["differences"])


def test_version_under_either_rule(loaded_kb):
    connection = loaded_kb.connection
    assert version_under(connection, POLICY, date(2024, 8, 1), "pt-month-start")["label"] == "V2024-05"
    other = version_under(connection, POLICY, date(2024, 8, 1), "revision-date")
    assert (other["label"], other["valid_from"], other["valid_to"]) == ("V2024-11", "2024-07-11", "2025-07-15")
    assert version_under(connection, POLICY, date(2021, 8, 1), "pt-month-start") is None
    answer = loaded_kb.as_of(POLICY, "2021-08-01", rule="revision-date")
    assert answer.covered and answer.version["label"] == "V2021" and answer.criteria()


def test_asof_prints_the_window_the_rule_and_the_knowledge_time(run):
    out = run("asof", POLICY, "2021-08-01")
    assert "NOT COVERED" in out and "RULE-DEPENDENT: 2021-08-01 lies in 2021-06-28..2021-10-31" in out
    assert "under revision-date V2021 applies" in out and "knowledge: as known now (latest load recorded" in out
    out = run("asof", POLICY, "2024-08-01")
    assert "under revision-date, differs: criterion I.A.5.b.i: - Prescribed as induction therapy;" in out


@pytest.mark.parametrize("fmt", ["text", "markdown", "csv", "html", "json"])
def test_every_diff_format_carries_window_rule_and_knowledge(run, fmt):
    out = run("diff", POLICY, "2024-08-01", "2025-12-01", "--format", fmt)
    assert "pt-month-start" in out and "2024-07-11..2024-10-31" in out and "latest" in out

"""Point 5 of issue 14: an audit that checks values, names items as the version prints them,
and catches planted defects; the mutation figure is kept here."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from kb.history.mutations import audit_problems, mutation_check
from kb.store.write import connect
from kb.surfaces.cli import cli
from kb.surfaces.reports import mutation_text
from revisions.changes import load_changesets
from revisions.clauses import read_clause
from revisions.mutants import OPERATORS, dropped, revalued
from tests.conftest import CHANGES

POLICY = "CP.PHAR.359"


def _values(text: str) -> list[tuple[str, str, str]]:
    return [(v.kind, v.text, v.side) for v in read_clause(text).values]


def test_a_clause_names_its_values_and_their_side():
    """Read from the revision log of the bundled document."""
    assert _values(
        "for disease that is not relapsed or refractory and Philadelphia chromosome-negative, updated age to "
        "≥ 15 years to reflect “adolescent and young adult” population per NCCN compendium"
    ) == [("quantity", "15 year", "after")]  # the reason ("to reflect ...") names nothing
    assert _values("corrected “and” to “or” for scenarios of either relapsed/refractory disease") == [
        ("quote", "and", "before"),
        ("quote", "or", "after"),
    ]
    assert _values("references to HIM.PHAR.21 revised to HIM.PA.154") == [
        ("policy", "HIM.PHAR.21", "before"),
        ("policy", "HIM.PA.154", "after"),
    ]
    commercial = read_clause(
        "revised Commercial approval durations to “6 months or to the member’s renewal date, whichever is longer;”"
    )
    assert commercial.lines_of_business == ("Commercial",)
    assert [(v.kind, v.side) for v in commercial.values] == [("quote", "after")]
    assert _values("removed criteria option for age ≥ 15 years for Philadelphia chromosome-negative") == [
        ("quantity", "15 year", "before")
    ]


def test_the_history_audit_matches_clauses_to_printed_labels(loaded_kb):
    result = loaded_kb.audit(POLICY)
    matched = {(f.revision_date, f.ordinal): (f.status, f.changes) for f in result.history.clauses}
    assert matched[("2023-08-06", 1)] == ("matched", ["I.A.5"])  # the single-agent item, item 5 of V2022
    assert matched[("2023-08-06", 2)] == ("matched", ["I.A.4"])  # "and" -> "or": item 4 of V2023
    assert matched[("2024-05-13", 2)] == ("matched", ["I.A.5.b.ii"])  # the age clause, not the FDA statement
    assert matched[("2024-05-13", 1)] == ("matched", ["I.A.3", "statement fda_indication:1"])
    assert {f.status for f in result.history.clauses if f.revision_date == "2021-06-28"} == {"not checkable"}
    assert result.problems() == []


@pytest.fixture(scope="module")
def built(tmp_path_factory, document):
    template = connect(tmp_path_factory.mktemp("schema") / "schema.sqlite")
    changesets = tuple(sorted(load_changesets(CHANGES), key=lambda c: c.revision))

    def problems(mutant_name: str, operator=dropped) -> list[str]:
        mutant = next(m for m in operator(changesets) if mutant_name in m.name)
        return audit_problems(template, [document], list(mutant.changesets), "pt-month-start")

    return problems


def test_a_dropped_6_cycles_insert_is_logged_not_seen(built):
    """The issue: it was 'not checkable' (an unknown in the same step hid it)."""
    assert any(p.startswith("2022-08-02 #2 logged, not seen") for p in built("insert criterion I.A.6"))


def test_a_dropped_age_1_insert_is_not_matched_through_the_fda_statement(built):
    found = built("insert criterion I.A.3")
    assert any(p.startswith("2024-05-13 #1 logged, not seen") and "statement fda_indication:1" in p for p in found)


def test_an_age_changed_from_15_to_16_is_a_value_that_differs(built):
    found = built("'Age ≥ 15 years;' -> 'Age ≥ 16 years;'", revalued)
    assert any(p.startswith("2024-05-13 #2 value differs") for p in found)


def test_an_unknown_elsewhere_does_not_hide_a_missing_change(built):
    """V2021's other-diagnoses section is unknown; the TKI clause speaks of the ALL criteria."""
    found = built("update criterion I.A.5.a")
    assert any(p.startswith("2022-08-02 #1 logged, not seen") for p in found)


@pytest.fixture(scope="module")
def report(tmp_path_factory, document):
    return mutation_check([document], load_changesets(CHANGES), "pt-month-start", tmp_path_factory.mktemp("mutants"))


def test_the_audit_catches_at_least_90_percent_of_at_least_30_mutants(report):
    assert report.baseline == []  # the unchanged change data audits clean
    assert len(report.outcomes) >= 30 and report.share >= 0.9
    assert set(report.by_operator()) == set(OPERATORS)  # issue 23's kinds included: logic, polarity, quote ...
    found = [o for o in report.outcomes if o.status == "found by the audit"]
    assert len(found) >= 0.9 * sum(o.status != "refused at load" for o in report.outcomes)  # not only load checks
    text = mutation_text(report)
    assert f"caught {report.caught} of {len(report.outcomes)} ({report.share:.1%})" in text


def test_kb_audit_prints_the_history_and_its_problems(loaded_kb):
    result = CliRunner().invoke(cli, ["audit", POLICY, "--db", str(loaded_kb.path)])
    assert result.exit_code == 0, result.output
    assert "2024-05-13 #2 [criteria] matched" in result.output and "problems: 0" in result.output

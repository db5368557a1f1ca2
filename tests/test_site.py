"""The Datasette site's canned queries, in process, on the bundled policy: answers as the policy and
its revision log give them (../shared/reference/CP.PHAR.359-history.md), every empty or refused
answer explained on the page, and the queries kept equal to their builders."""

from __future__ import annotations

import asyncio
import html
import json
import sqlite3
from pathlib import Path
from urllib.parse import urlencode

import pytest

from kb.store.asof import canned_in_force
from kb.surfaces.api import KnowledgeBase
from kb.surfaces.site.queries import metadata_queries

METADATA_FILE = Path(__file__).resolve().parents[1] / "datasette_metadata.json"
METADATA = json.loads(METADATA_FILE.read_text(encoding="utf-8"))
POLICY = "CP.PHAR.359"


def get(site, path: str):
    return asyncio.run(site.client.get(path))


def rows(site, query: str, **params: str) -> list[dict]:
    response = get(site, f"/kb/{query}.json?{urlencode({**params, '_shape': 'array'})}")
    assert response.status_code == 200, response.text
    return response.json()


def page(site, query: str, **params: str) -> str:
    """The HTML page of a canned query, unescaped for reading."""
    return html.unescape(get(site, f"/kb/{query}?{urlencode(params)}").text)


def test_criteria_in_force_shows_each_option_on_its_date(site):
    before = rows(site, "criteria_in_force", policy=POLICY, as_of="2024-08-01")
    after = rows(site, "criteria_in_force", policy=POLICY, as_of="2025-12-01")
    assert {r["version"] for r in before} == {"V2024-05"} and {r["version"] for r in after} == {"V2025-11"}
    assert [(r["depth"], r["criterion"], r["source"]) for r in before if r["item_id"].startswith("I.A.5.ph")] == [
        (
            2,
            "b. If Philadelphia chromosome-negative, both of the following (i and ii):",
            "log 2021-06-28 (medium-low confidence)",
        ),
        # the 07.11.24 removal (high) names it, and V2024-05 crosses no revision to reach it (issue 23)
        (3, "i. Prescribed as induction therapy;", "log 2024-07-11 (high confidence)"),
        (3, "ii. Age ≥ 15 years;", "log 2024-05-13 (high confidence)"),
    ]
    # I.A.1 of V2024-05 is no clause's: the 11.25 document's line 33, carried back (unlogged = unchanged)
    assert before[1]["source"].startswith("carried") and before[1]["lines"] == "line 33"
    texts = [r["criterion"] for r in after]
    assert "b. If prescribed as frontline therapy, age ≥ 18 years;" in texts and "ii. Age ≥ 15 years;" not in texts


def test_criteria_read_as_the_policy_does(site):
    """Section and indication on every row: the two "A." blocks are told apart; footnotes beside their marker."""
    found = rows(site, "criteria_in_force", policy=POLICY, as_of="2025-12-01")
    roots = [(r["section"], r["indication"]) for r in found if r["depth"] == 0]
    assert roots == [
        ("I. Initial Approval Criteria", "A. B-Cell Precursor Acute Lymphoblastic Leukemia"),
        ("I. Initial Approval Criteria", "B. Other diagnoses/indications"),
        ("II. Continued Therapy", "A. B-Cell Precursor Acute Lymphoblastic Leukemia"),
        ("II. Continued Therapy", "B. Other diagnoses/indications"),
    ]
    dose = next(r for r in found if r["item_id"] == "I.A.7")
    assert dose["criterion"] == (
        "7. Request meets one of the following (a or b):*\n* Prescribed regimen must be FDA-approved or recommended by NCCN."
    )
    shown = page(site, "criteria_in_force", policy=POLICY, as_of="2025-12-01")
    assert '<div class="kb-footnote">* Prescribed regimen must be FDA-approved or recommended by NCCN.</div>' in shown
    assert '7. Request meets <span class="kb-logic">one of the following (a or b)</span>:*' in shown


def test_a_version_label_stands_for_its_first_day(site):
    by_label = rows(site, "criteria_in_force", policy=POLICY, as_of="V2024-05")
    assert by_label == rows(site, "criteria_in_force", policy=POLICY, as_of="2024-05-13")
    assert "as_of V2024-05 is version V2024-05 of CP.PHAR.359, in force from 2024-05-13." in page(
        site, "criteria_in_force", policy=POLICY, as_of="V2024-05"
    )
    assert rows(site, "criteria_in_force", policy=POLICY, as_of="V2030-01") == []
    assert "CP.PHAR.359 has no version 'V2030-01'; its versions are V2021, V2022" in page(
        site, "criteria_in_force", policy=POLICY, as_of="V2030-01"
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"policy": POLICY}, "Enter a date in the as_of field, as YYYY-MM-DD"),
        (
            {"policy": POLICY, "as_of": "2024-13-01"},
            "as_of '2024-13-01' is not a calendar date (month must be in 1..12)",
        ),
        ({"policy": POLICY, "as_of": "08/01/2024"}, "as_of '08/01/2024' is not a date"),
        ({"policy": POLICY, "as_of": "2024-02-30"}, "as_of '2024-02-30' is not a calendar date (day is out of range"),
        (
            {"policy": POLICY, "as_of": "2010-01-01"},
            "CP.PHAR.359 is not covered on 2010-01-01: 2010-01-01 is before 2021-11-01",
        ),
        ({"policy": "cp.phar.359", "as_of": "2024-08-01"}, "No policy 'cp.phar.359' in the knowledge base"),
        (
            {"policy": POLICY, "as_of": "2024-08-01", "known_at": "yesterday"},
            "known_at 'yesterday' is not a knowledge time",
        ),
        (
            {"policy": POLICY, "as_of": "2024-08-01", "known_at": "2024/08/01"},
            "known_at '2024/08/01' is not a knowledge time",
        ),
        ({"policy": POLICY, "as_of": "2024-08-01", "known_at": "2020-01-01"}, "no version of CP.PHAR.359 was known"),
    ],
)
def test_every_empty_answer_says_why_and_shows_no_rows(site, params, message):
    assert message in page(site, "criteria_in_force", **params)
    assert rows(site, "criteria_in_force", **params) == []


def test_a_wrong_case_policy_gets_a_suggestion(site):
    assert "Did you mean CP.PHAR.359?" in page(site, "criteria_in_force", policy="cp.phar.359", as_of="2024-08-01")


def test_a_rule_dependent_date_is_noted(site):
    """2024-08-01 lies between the 4Q 2024 review's Date (07.11.24) and its P&T month (11.24)."""
    shown = page(site, "criteria_in_force", policy=POLICY, as_of="2024-08-01")
    assert (
        "Rule-dependent date: 2024-08-01 lies in 2024-07-11..2024-10-31, between 4Q 2024 annual review's Date (2024-07-11)"
        in shown
    )


def test_durations_codes_and_cross_references_in_force(site):
    durations = {
        (r["section"], r["line_of_business"]): r
        for r in rows(site, "durations_in_force", policy=POLICY, as_of="2024-08-01")
    }
    assert durations[("I. Initial Approval Criteria", "Commercial")]["duration"] == "6 months (up to 6 cycles total)"
    later = rows(site, "durations_in_force", policy=POLICY, as_of="2025-12-01")
    assert {
        r["duration"] for r in later if r["line_of_business"] == "Commercial" and r["section"].startswith("I.")
    } == {"6 months or to the member's renewal date, whichever is longer (up to 6 cycles total)"}
    assert [(r["system"], r["code"]) for r in rows(site, "codes_in_force", policy=POLICY, as_of="2025-12-01")] == [
        ("HCPCS", "J9229")
    ]
    early = rows(site, "cross_references_in_force", policy=POLICY, as_of="2022-01-15")
    assert [(r["item_id"], r["line_of_business"], r["policy"]) for r in early if r["item_id"] == "I.B"] == [
        ("I.B", "HIM", "HIM.PA.154")
    ]


def test_version_timeline_and_revision_log(site):
    timeline = rows(site, "version_timeline", policy=POLICY)
    assert [r["label"] for r in timeline] == ["V2021", "V2022", "V2023", "V2024-05", "V2024-11", "V2025-11"]
    assert timeline[-1]["diff_from_previous"] == f"/-/kb/diff?policy={POLICY}&from=2024-11-01&to=2025-11-01"
    log = {r["Date"]: r for r in rows(site, "revision_log", policy=POLICY)}
    assert (log["2025-07-15"]["P&T month"], log["2025-07-15"]["effective_date"]) == ("2025-11", "2025-11-01")


def events(site, start: str, end: str) -> dict[tuple[str, str], list[dict]]:
    found: dict[tuple[str, str], list[dict]] = {}
    for row in rows(site, "changes_between", policy=POLICY, **{"from": start, "to": end}):
        found.setdefault((row["item"], row["date"]), []).append(row)
    return found


def test_changes_keep_every_event_of_a_row(site):
    """The Ph-negative option read "age >= 15 years" from 2024-11-01 (4Q 2024) until 2025-11-01 (4Q 2025)."""
    found = events(site, "2024-08-01", "2025-12-01")
    [changed] = found[("I.A.5.ph-negative", "2024-11-01")]
    assert (changed["event"], changed["text"]) == ("changed", "If Philadelphia chromosome-negative, age ≥ 15 years;")
    assert changed["before"] == "b. If Philadelphia chromosome-negative, both of the following (i and ii):"
    [gone] = found[("I.A.5.ph-negative", "2025-11-01")]
    assert (gone["event"], gone["text"]) == (
        "went out of force",
        "If Philadelphia chromosome-negative, age ≥ 15 years;",
    )
    assert [r["event"] for r in found[("I.A.5.ph-negative.induction", "2024-11-01")]] == ["went out of force"]
    assert [(r["event"], r["text"]) for r in found[("I.A.5.b", "2025-11-01")]] == [
        ("came into force", "If prescribed as frontline therapy, age ≥ 18 years;")
    ]
    assert [r["event"] for r in found[("I.A.Commercial", "2024-11-01")]] == ["changed"]
    assert changed["diff"] == f"/-/kb/diff?policy={POLICY}&from=2024-10-31&to=2024-11-01"


def test_changes_include_unknowns(site):
    """The 2025 references: the list before 07.15.25 is unknown, so they became known; they are not additions."""
    found = events(site, "2024-08-01", "2025-12-01")
    references = [
        r for (_, day), group in found.items() for r in group if r["kind"] == "reference" and day == "2025-11-01"
    ]
    assert sorted(r["event"] for r in references) == ["became known"] * 4 + ["stopped being unknown"]
    assert all(
        r["note"].startswith("cannot be compared: References were reviewed and updated at 07.15.25")
        for r in references
        if r["event"] == "became known"
    )
    assert [r["event"] for r in found[("reference:*", "2024-11-01")]] == ["still unknown"]
    early = events(site, "2022-01-01", "2022-12-31")
    assert [r["event"] for r in early[("criterion:I.B", "2022-11-01")]] == ["stopped being unknown"]
    assert [r["event"] for r in early[("I.B.2", "2022-11-01")]] == ["became known"]


def test_a_reversed_span_is_explained(site):
    shown = page(site, "changes_between", policy=POLICY, **{"from": "2025-12-01", "to": "2024-08-01"})
    assert "from 2025-12-01 is after to 2024-08-01: no change lies in that span; swap the two dates." in shown
    assert rows(site, "changes_between", policy=POLICY, **{"from": "2025-12-01", "to": "2024-08-01"}) == []


def test_recent_changes_across_policies(site):
    found = rows(site, "recent_changes", **{"from": "2024-01-01", "to": "2025-12-31"})
    assert [(r["policy"], r["revision"], r["effective_date"]) for r in found] == [
        (POLICY, "4Q 2025 annual review", "2025-11-01"),
        (POLICY, "4Q 2024 annual review", "2024-11-01"),
        (POLICY, "RT4", "2024-05-13"),
    ]
    assert found[0]["clauses"].split("\n")[0] == (
        "removed criteria option for age ≥ 15 years for Philadelphia chromosome-negative per NCCN Compendium"
    )
    assert found[2]["diff"] == f"/-/kb/diff?policy={POLICY}&from=2024-05-12&to=2024-05-13"
    shown = page(site, "recent_changes", **{"from": "2024-01-01", "to": "2025-12-31"})
    assert 'href="/kb/recent_changes.atom?from=2024-01-01&to=2025-12-31">Atom feed of these rows' in shown


def test_unparsed_passages_of_the_bundled_policy_are_none(site):
    assert rows(site, "unparsed_passages") == []


def test_the_database_is_read_only(site, loaded_kb):
    assert site.databases["kb"].is_mutable is False
    with KnowledgeBase(loaded_kb.path, read_only=True) as kb, pytest.raises(sqlite3.OperationalError, match="readonly"):
        kb.connection.execute("DELETE FROM criterion")


def test_the_metadata_holds_the_built_queries():
    """datasette_metadata.json is written by kb.surfaces.site.queries.write_metadata: the two never drift apart."""
    stored = json.loads(METADATA_FILE.read_text(encoding="utf-8"))  # Datasette adds keys to the dict it is given
    assert stored["databases"]["kb"]["queries"] == metadata_queries()


def test_in_force_queries_use_the_one_in_force_condition():
    queries = METADATA["databases"]["kb"]["queries"]
    for name, table in [
        ("criteria_in_force", "criterion"),
        ("durations_in_force", "duration"),
        ("codes_in_force", "code"),
        ("cross_references_in_force", "cross_reference"),
    ]:
        assert canned_in_force(table).replace(":as_of", "(SELECT day FROM asked)") in queries[name]["sql"]

"""The Datasette site, in process: every canned query with real answers, the plugin's pages,
clear messages for missing or malformed dates, and a read-only database."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
from datasette.app import Datasette

from kb.api import KnowledgeBase
from kb.asof import canned_in_force

METADATA = json.loads((Path(__file__).resolve().parents[1] / "datasette_metadata.json").read_text(encoding="utf-8"))
POLICY = "CP.PHAR.359"


@pytest.fixture(scope="module")
def site(loaded_kb):
    assert loaded_kb.path.name == "kb.sqlite"
    datasette = Datasette(immutables=[str(loaded_kb.path)], metadata=METADATA)
    asyncio.run(datasette.invoke_startup())
    return datasette


def get(site, path: str):
    return asyncio.run(site.client.get(path))


def rows(site, query: str, **params: str) -> list[dict]:
    query_string = "&".join(f"{k}={v}" for k, v in {**params, "_shape": "array"}.items())
    response = get(site, f"/kb/{query}.json?{query_string}")
    assert response.status_code == 200, response.text
    return response.json()


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
        (3, "i. Prescribed as induction therapy;", "log 2024-07-11 (medium-low confidence)"),
        (3, "ii. Age ≥ 15 years;", "log 2024-05-13 (high confidence)"),
    ]
    # I.A.1 of V2024-05 is no clause's: the 11.25 document's line 33, carried back (unlogged = unchanged)
    assert before[1]["source"].startswith("carried") and before[1]["lines"] == "line 33"
    texts = [r["criterion"] for r in after]
    assert "b. If prescribed as frontline therapy, age ≥ 18 years;" in texts and "ii. Age ≥ 15 years;" not in texts
    assert texts[:2] == [
        "A. B-Cell Precursor Acute Lymphoblastic Leukemia (must meet all):",
        "1. Diagnosis of B-cell ALL;",
    ]


def test_durations_codes_and_cross_references_in_force(site):
    durations = {
        (r["section"], r["line_of_business"]): r
        for r in rows(site, "durations_in_force", policy=POLICY, as_of="2024-08-01")
    }
    assert durations[("I", "Commercial")]["duration"] == "6 months (up to 6 cycles total)"
    assert durations[("I", "Commercial")]["source"] == "log"
    later = rows(site, "durations_in_force", policy=POLICY, as_of="2025-12-01")
    assert {r["duration"] for r in later if r["line_of_business"] == "Commercial" and r["section"] == "I"} == {
        "6 months or to the member's renewal date, whichever is longer (up to 6 cycles total)"
    }
    assert [(r["system"], r["code"]) for r in rows(site, "codes_in_force", policy=POLICY, as_of="2025-12-01")] == [
        ("HCPCS", "J9229")
    ]
    early = rows(site, "cross_references_in_force", policy=POLICY, as_of="2022-01-15")
    assert [
        (r["item_id"], r["line_of_business"], r["policy"], r["source"]) for r in early if r["item_id"] == "I.B"
    ] == [("I.B", "HIM", "HIM.PA.154", "log")]


def test_version_timeline_and_revision_log(site):
    timeline = rows(site, "version_timeline", policy=POLICY)
    assert [r["label"] for r in timeline] == ["V2021", "V2022", "V2023", "V2024-05", "V2024-11", "V2025-11"]
    assert timeline[0]["diff_from_previous"] is None
    assert timeline[-1]["diff_from_previous"] == f"/-/kb/diff?policy={POLICY}&from=2024-11-01&to=2025-11-01"
    log = {r["Date"]: r for r in rows(site, "revision_log", policy=POLICY)}
    assert (log["2025-07-15"]["P&T month"], log["2025-07-15"]["effective_date"]) == ("2025-11", "2025-11-01")
    assert (log["2024-05-13"]["P&T month"], log["2024-05-13"]["effective_date"]) == (None, "2024-05-13")


def test_changes_between_two_dates(site):
    changes = rows(site, "changes_between", policy=POLICY, **{"from": "2024-08-01", "to": "2025-12-01"})
    found = {(r["kind"], r["record_key"], r["change"]) for r in changes}
    assert ("criterion", "I.A.5.b", "came into force 2025-11-01") in found
    assert ("criterion", "I.A.5.ph-negative.age", "went out of force 2024-11-01") in found
    assert ("duration", "I.A.Commercial", "came into force 2024-11-01") in found
    assert all(r["diff"] == f"/-/kb/diff?policy={POLICY}&from=2024-08-01&to=2025-12-01" for r in changes)


def test_unparsed_passages_of_the_bundled_policy_are_none(site):
    assert rows(site, "unparsed_passages") == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("", "Enter a date in the as_of field, as YYYY-MM-DD"),
        ("?policy=CP.PHAR.359&as_of=2024-13-01", "as_of &#39;2024-13-01&#39; is not a date: expected YYYY-MM-DD"),
        ("?policy=CP.PHAR.359&as_of=08/01/2024", "as_of &#39;08/01/2024&#39; is not a date"),
    ],
)
def test_a_missing_or_malformed_date_says_so(site, params, message):
    page = get(site, f"/kb/criteria_in_force{params}").text
    assert message in page
    assert rows(site, "criteria_in_force", policy=POLICY, as_of="2024-13-01") == []


def test_the_tree_is_indented_and_sources_are_marked(site):
    page = get(site, f"/kb/criteria_in_force?policy={POLICY}&as_of=2024-08-01").text
    assert '<div style="padding-left:4.8em">ii. Age ≥ 15 years;</div>' in page
    assert (
        '5. <span class="kb-logic" style="font-style:italic;color:#1d4ed8">One of the following (a or b)</span>:</div>'
        in page
    )
    assert 'title="not read from a document: reconstructed or unknown">log 2024-05-13 (high confidence)</span>' in page


def test_diff_and_policy_pages(site):
    diff = get(site, f"/-/kb/diff?policy={POLICY}&from=2024-08-01&to=2025-12-01")
    assert diff.status_code == 200 and "Revision-log audit" in diff.text and "<ins>" in diff.text
    assert "option I.A.5.b replaced (Age ≥ 15 years -&gt; age ≥ 18 years)" in diff.text
    policy = get(site, f"/-/kb/policy?policy={POLICY}&as_of=2022-01-15")
    assert policy.status_code == 200 and "B. [unknown]" in policy.text and "[log 2022-08-02" in policy.text
    bad = get(site, f"/-/kb/diff?policy={POLICY}&from=yesterday&to=2025-12-01")
    assert bad.status_code == 400 and "from &#39;yesterday&#39; is not a date" in bad.text
    missing = get(site, "/-/kb/policy?policy=CP.NOPE.1&as_of=2025-12-01")
    assert missing.status_code == 400 and "no policy &#39;CP.NOPE.1&#39;" in missing.text


def test_facets_sorting_and_hidden_tables(site):
    table = get(site, "/kb/duration.json").json()
    assert set(table["facet_results"]) == {"line_of_business", "section", "source"}
    assert [row[table["columns"].index("valid_from")] for row in table["rows"]] == sorted(
        row[table["columns"].index("valid_from")] for row in table["rows"]
    )
    visible = {t["name"] for t in get(site, "/kb.json").json()["tables"] if not t["hidden"]}
    assert "coverage_block" not in visible and "criterion" in visible


def test_the_database_is_read_only(site, loaded_kb):
    assert site.databases["kb"].is_mutable is False
    with KnowledgeBase(loaded_kb.path, read_only=True) as kb, pytest.raises(sqlite3.OperationalError, match="readonly"):
        kb.connection.execute("DELETE FROM criterion")


def test_in_force_queries_use_the_one_in_force_condition():
    queries = METADATA["databases"]["kb"]["queries"]
    for name, table in [
        ("criteria_in_force", "criterion"),
        ("durations_in_force", "duration"),
        ("codes_in_force", "code"),
        ("cross_references_in_force", "cross_reference"),
    ]:
        assert canned_in_force(table) in queries[name]["sql"]

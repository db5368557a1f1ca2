"""The plugin's pages in process, on the bundled policy: home, policy, diff and coverage pages with
their links, full-text search, the Atom feed, and no 500 or write for a bad request."""

from __future__ import annotations

import asyncio
import html
import re
from xml.etree import ElementTree

import pytest

POLICY = "CP.PHAR.359"
ATOM = "{http://www.w3.org/2005/Atom}"


def get(site, path: str, **kwargs):
    return asyncio.run(site.client.get(path, **kwargs))


def text(site, path: str) -> str:
    return html.unescape(get(site, path).text)


def test_home_lists_each_policy_with_its_review_dates(site):
    home = text(site, "/")
    row = home[home.index('data-policy="CP.PHAR.359"') :]
    row = row[: row.index("</tr>")]
    assert "Inotuzumab Ozogamicin (Besponsa)" in row
    assert "V2025-11" in row and "in force since 2025-11-01" in row  # 4Q 2025 review, P&T 11.25, open
    assert '<td class="kb-last-review">2025-11</td>' in row  # "Last Review Date: 11.25"
    assert "<strong>4Q 2026</strong>" in row  # after "4Q 2025 annual review"
    assert "annual reviews stand in 4Q of each year from 2021 to 2025" in row
    assert "4Q 2025 annual review, effective 2025-11-01" in row
    assert 'href="/-/kb/diff?policy=CP.PHAR.359&from=V2024-11&to=V2025-11">diff V2024-11 → V2025-11' in row
    assert 'class="kb-nav"' in home and 'href="/-/kb/recent"' in home and 'action="/-/kb/search"' in home


def test_policy_page_reads_as_the_policy_with_its_neighbours(site):
    page = text(site, f"/-/kb/policy?policy={POLICY}&as_of=V2024-05")
    assert "Version <strong>V2024-05</strong>" in page
    assert "Inotuzumab ozogamicin (Besponsa™) is a CD22-directed" in page and "[™]" not in page
    indent = {
        label: int(depth)
        for depth, label in re.findall(r'data-depth="(\d)">\s*<span class="kb-label">([^<]+)</span>', page)
    }
    assert indent["5."] == 1 and indent["a."] == 2 and indent["ii."] == 3  # sub-items deeper than their parent
    for link in (
        "Version timeline",
        "Document coverage",
        "← V2023 as it read",
        "Diff V2023 → V2024-05",
        "Diff V2024-05 → V2024-11",
        "V2024-11 as it read →",
    ):
        assert f">{link}</a>" in page, link
    assert '<h3 class="kb-section">I. Initial Approval Criteria</h3>' in page
    assert '<h3 class="kb-section">II. Continued Therapy</h3>' in page


def test_policy_page_before_coverage_says_why(site):
    response = get(site, f"/-/kb/policy?policy={POLICY}&as_of=2010-01-01")
    assert response.status_code == 400
    page = html.unescape(response.text)
    assert "CP.PHAR.359 is not covered on 2010-01-01: 2010-01-01 is before 2021-11-01" in page
    assert ">V2021, the first version, as it read</a>" in page


def test_an_unknown_policy_gets_a_suggestion_on_every_page(site):
    for path in ("/-/kb/policy?as_of=2024-08-01&", "/-/kb/diff?from=V2024-05&to=V2025-11&", "/-/kb/coverage?"):
        response = get(site, f"{path}policy=cp.phar.359")
        assert response.status_code == 400 and "Did you mean CP.PHAR.359?" in html.unescape(response.text), path


def test_diff_page_has_its_neighbours_and_takes_labels(site):
    page = text(site, f"/-/kb/diff?policy={POLICY}&from=V2024-05&to=V2025-11")
    assert "option I.A.5.b replaced (Age ≥ 15 years -> age ≥ 18 years)" in page
    for link in (
        "V2024-05 as it read (2024-05-13)",
        "V2025-11 as it read (2025-11-01)",
        "← previous step: V2023 → V2024-05",
        "Version timeline",
        "Changes, one row per event",
    ):
        assert f">{link}</a>" in page, link
    assert "next step" not in page  # V2025-11 is the newest version
    assert 'class="kb-nav"' in page


def test_a_reversed_diff_is_turned_round_with_a_notice(site):
    page = text(site, f"/-/kb/diff?policy={POLICY}&from=2025-12-01&to=2024-08-01")
    assert "from 2025-12-01 is after to 2024-08-01: shown from the earlier date to the later one." in page
    assert "V2024-05 (2024-08-01) -> V2025-11 (2025-12-01)" in page


def test_coverage_page_is_one_click_from_the_policy(site):
    policy = text(site, f"/-/kb/policy?policy={POLICY}&as_of=2025-12-01")
    assert f'<a href="/-/kb/coverage?policy={POLICY}">Document coverage</a>' in policy
    page = text(site, f"/-/kb/coverage?policy={POLICY}")
    assert "kb/data/policies/CP.PHAR.359_inotuzumab-ozogamicin.txt" in page
    assert "the document of version V2025-11" in page
    for status in ("Suspect passages", "Unparsed passages (0)", "Boilerplate passages"):
        assert status in page
    assert "Important Reminder" in page  # the template's closing boilerplate, kept and shown


def test_search_finds_text_with_the_versions_it_was_in_force(site):
    page = text(site, "/-/kb/search?q=hematologist")
    # I.A.2 of every version since V2021 (CP.PHAR.359-history.md)
    assert "Prescribed by or in consultation with an oncologist or hematologist;" in page
    assert "1 passage holds every word of “hematologist”" in page
    assert f'<a href="/-/kb/policy?policy={POLICY}&as_of=V2021">V2021</a>' in page
    assert "2021-11-01 .. open" in page
    induction = get(site, "/kb/passage.json?_search=induction&_shape=array").json()
    assert {(h["valid_from"], h["valid_to"]) for h in induction if h["kind"] == "criterion"} == {
        ("2021-11-01", "2024-11-01")
    }


def test_atom_feed_of_recent_changes(site):
    response = get(site, "/kb/recent_changes.atom?from=2024-01-01&to=2025-12-31")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/atom+xml")
    feed = ElementTree.fromstring(response.content)
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == [
        "CP.PHAR.359 4Q 2025 annual review, effective 2025-11-01",
        "CP.PHAR.359 4Q 2024 annual review, effective 2024-11-01",
        "CP.PHAR.359 RT4, effective 2024-05-13",
    ]
    assert (
        entries[0]
        .find(f"{ATOM}link")
        .get("href")
        .endswith("/-/kb/diff?policy=CP.PHAR.359&from=2025-10-31&to=2025-11-01")
    )
    empty = ElementTree.fromstring(get(site, "/kb/recent_changes.atom?from=2030-01-01&to=2030-12-31").content)
    assert empty.findall(f"{ATOM}entry") == [] and empty.findtext(f"{ATOM}subtitle").startswith("No entries")
    bad = ElementTree.fromstring(get(site, "/kb/recent_changes.atom?from=bad&to=2030-12-31").content)
    assert "from 'bad' is not a date: expected YYYY-MM-DD (e.g. 2024-08-01)." in bad.findtext(f"{ATOM}subtitle")


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/kb/criterion?_sort=bad", 400, "Cannot sort table by bad"),
        ("/kb/criterion.json?_sort_desc=bad", 400, "Cannot sort table by bad"),
        ("/kb/criterion?_timelimit=bad", 400, "a parameter could not be read"),
        ("/kb/criterion?_through=bad", 400, "a parameter could not be read"),
        ("/kb/nope", 404, "Table not found"),
    ],
)
def test_a_bad_request_is_no_500(site, path, status, message):
    response = get(site, path)
    assert response.status_code == status and message in response.text


@pytest.mark.parametrize(
    "path", ["/kb/criteria_in_force", "/kb/criterion", "/kb/criterion/-/insert", "/kb/criterion/1/-/delete", "/"]
)
def test_nothing_is_written_and_a_post_is_refused(site, path):
    response = asyncio.run(site.client.post(path, data={"policy": POLICY}))
    assert response.status_code == 405 and "This site is read-only" in response.text

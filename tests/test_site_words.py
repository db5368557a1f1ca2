"""The knowledge base's pages in the users' words, on the bundled policy (issue 26): canned queries
titled by the policy and date asked, labelled columns, the SQL behind a link; recent changes that
open on a span holding the newest change and a feed that follows new ones; the coverage page
without a policy; date and version pickers; a diff across a not-covered date."""

from __future__ import annotations

import asyncio
import html
import re
from datetime import date
from urllib.parse import parse_qs, urlparse
from xml.etree import ElementTree

from kb.surfaces.site.cells import readable

POLICY = "CP.PHAR.359"
ATOM = "{http://www.w3.org/2005/Atom}"


def get(site, path: str):
    return asyncio.run(site.client.get(path))


def text(site, path: str) -> str:
    return html.unescape(get(site, path).text)


def test_a_canned_query_is_titled_by_the_policy_and_date_asked(site):
    page = text(site, f"/kb/criteria_in_force?policy={POLICY}&as_of=2025-12-01")
    title = re.search(r"<title>(.*?)</title>", page, re.DOTALL).group(1)
    assert title == f"Criteria in force on a date: {POLICY} on 2025-12-01"
    assert f">Criteria in force on a date: {POLICY} on 2025-12-01</h1>" in page


def test_a_canned_query_speaks_the_users_words(site):
    page = text(site, f"/kb/version_timeline?policy={POLICY}")
    for datasette_words in ("Custom SQL query", "Edit SQL", "Run SQL", ">valid_from<", ">as_read<"):
        assert datasette_words not in page, datasette_words
    headings = re.findall(r'<th class="col-[^"]+" scope="col">([^<]+)</th>', page)
    assert headings[:3] == ["Version", "In force from", "In force until (exclusive)"]
    assert "As it read" in headings
    # CP.PHAR.359 holds V2021, V2022, V2023, V2024-05, V2024-11, V2025-11
    assert "6 rows." in page
    sql = page[page.index("<summary>How this was computed</summary>") :]
    assert "SELECT label, valid_from" in sql
    assert '<label for="qp1">Policy</label>' in page


def test_recent_changes_open_on_a_span_that_holds_the_newest_change(site):
    response = get(site, "/-/kb/recent")
    assert response.status_code == 302
    span = {key: values[0] for key, values in parse_qs(urlparse(response.headers["location"]).query).items()}
    # the newest revision of the bundled policy: 4Q 2025 annual review, effective 2025-11-01
    assert span["from"] <= "2025-11-01" <= span["to"] == date.today().isoformat()
    page = text(site, response.headers["location"])
    assert (
        "The newest change in the knowledge base took effect on 2025-11-01 (CP.PHAR.359 4Q 2025 annual review)" in page
    )
    assert "4Q 2025 annual review" in page


def test_an_empty_span_says_where_the_newest_change_stands(site):
    page = text(site, "/kb/recent_changes?from=2030-01-01&to=2030-12-31")
    assert "No rows for these parameters (see the notes above)." in page
    assert "took effect on 2025-11-01" in page


def test_the_feed_without_a_span_follows_the_latest_changes(site):
    feed = ElementTree.fromstring(get(site, "/kb/recent_changes.atom").content)
    titles = [entry.findtext(f"{ATOM}title") for entry in feed.findall(f"{ATOM}entry")]
    # the revision log's rows, newest effective date first
    assert titles[:3] == [
        "CP.PHAR.359 4Q 2025 annual review, effective 2025-11-01",
        "CP.PHAR.359 4Q 2024 annual review, effective 2024-11-01",
        "CP.PHAR.359 RT4, effective 2024-05-13",
    ]
    assert "No entries" not in feed.findtext(f"{ATOM}subtitle")
    page = text(site, "/kb/recent_changes?from=2025-01-01&to=2025-12-31")
    assert '<a href="/kb/recent_changes.atom">Atom feed of the latest changes (follows new ones)</a>' in page


def test_coverage_without_a_policy_offers_the_policies(site):
    response = get(site, "/-/kb/coverage")
    page = html.unescape(response.text)
    assert response.status_code == 200 and "Enter a policy" not in page
    assert f'<option value="{POLICY}">{POLICY}: Inotuzumab Ozogamicin (Besponsa)</option>' in page
    assert '<a href="/kb/suspect_passages">Suspect passages of every policy</a>' in page


def test_coverage_names_the_file_and_each_passage_by_line(site):
    page = text(site, f"/-/kb/coverage?policy={POLICY}")
    assert "<h2>CP.PHAR.359_inotuzumab-ozogamicin.txt</h2>" in page
    # the navigation links under the header: "[Coding Implications](#)[Revision Log](#)" on line 13, "See
    # [Important Reminder](#) ..." on line 15
    assert "<td>lines 13-15</td><td>navigation</td>" in page


def test_policy_and_diff_pages_have_a_date_and_version_picker(site):
    page = text(site, f"/-/kb/policy?policy={POLICY}&as_of=2024-08-01")
    picker = page[page.index('<form class="kb-picker" action="/-/kb/policy"') :]
    picker = picker[: picker.index("</form>")]
    assert 'name="as_of" value="2024-08-01"' in picker
    assert '<option value="V2021">V2021, in force from 2021-11-01</option>' in picker
    diff = text(site, f"/-/kb/diff?policy={POLICY}&from=V2024-05&to=V2025-11")
    picker = diff[diff.index('<form class="kb-picker" action="/-/kb/diff"') :]
    assert 'name="from" value="V2024-05"' in picker and 'name="to" value="V2025-11"' in picker


def test_a_diff_across_a_not_covered_date_does_not_say_no_changes(site):
    page = text(site, f"/-/kb/diff?policy={POLICY}&from=2010-01-01&to=2025-12-01")
    assert "2010-01-01 is not covered" in page
    assert "No changes." not in page and "Nothing compared: 2010-01-01 is not covered" in page


def test_a_symbol_font_bullet_is_shown_as_a_bullet():
    # CP.PHAR.180's appendix prints U+F0A7 (Wingdings' small square) before each response
    assert readable("\uf0a7 Platelet count ≥ 50,000/µL") == "▪ Platelet count ≥ 50,000/µL"
    assert readable("Besponsa[™]") == "Besponsa™"

"""The search page on the bundled policy: every text a user may look for is indexed, any typed text
is searched as words, and each hit says where it stands and links to the versions it stood in.
Expected texts are read from kb/data/policies/CP.PHAR.359_inotuzumab-ozogamicin.txt."""

from __future__ import annotations

import asyncio
import html

import pytest

from kb.surfaces.site.search import fts_query

POLICY = "CP.PHAR.359"


def page(site, query: str) -> str:
    response = asyncio.run(site.client.get("/-/kb/search", params={"q": query}))
    assert response.status_code == 200, response.text
    return html.unescape(response.text)


def hit_rows(text: str) -> list[str]:
    body = text[text.index('<table class="kb-table kb-hits">') :]
    return body.split("<tr>")[2:]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("hello", '"hello"'),
        ('"', None),
        ('renewal "date', '"renewal" "date"'),
        ("J9229 NEAR(x", '"J9229" "NEAR" "x"'),
        ("age ≥ 15 AND NOT", '"age" "15" "AND" "NOT"'),
        ("*", None),
    ],
)
def test_typed_text_is_searched_as_words(typed, expected):
    assert fts_query(typed) == expected


@pytest.mark.parametrize("typed", ['"', "'", '"Besponsa', "NEAR(", "AND", "a*b)", "-", "^x"])
def test_any_typed_text_answers_a_page_not_an_sql_error(site, typed):
    text = page(site, typed)
    assert "Invalid SQL" not in text and "fts5" not in text
    assert f"Search: {typed}" in text


def test_a_hcpcs_code_finds_its_coding_row(site):
    # Coding Implications: "J9229	Injection, inotuzumab ozogamicin, 0.1 mg" (line 145)
    rows = hit_rows(page(site, "J9229"))
    assert len(rows) == 1
    assert "HCPCS code" in rows[0] and "J9229 Injection, inotuzumab ozogamicin, 0.1 mg" in rows[0]
    assert "line 145 of CP.PHAR.359_inotuzumab-ozogamicin.txt" in rows[0]
    assert f'href="/-/kb/policy?policy={POLICY}&as_of=V2025-11"' in rows[0]


def test_approval_durations_are_searched(site):
    # I. and II. Commercial: "6 months or to the member's renewal date, whichever is longer (up to 6 cycles total)"
    rows = hit_rows(page(site, "renewal"))
    commercial = [r for r in rows if "approval duration, Commercial" in r]
    assert {place for r in commercial for place in ("I.A", "II.A") if f"{place} approval duration" in r} == {
        "I.A",
        "II.A",
    }
    assert all("renewal date, whichever is longer" in r for r in commercial)


def test_revision_log_rows_are_searched(site):
    # RT4 (05.13.24): 'updated age to ≥ 15 years to reflect "adolescent and young adult" population per NCCN'
    rows = hit_rows(page(site, "adolescent and young adult"))
    assert len(rows) == 1
    assert "revision log, RT4 (2024-05-13)" in rows[0] and "“adolescent and young adult” population" in rows[0]
    assert ">V2024-05</a>" in rows[0] and ">V2025-11</a>" in rows[0] and ">V2023</a>" not in rows[0]


def test_a_text_that_no_passage_holds_says_so(site):
    text = page(site, "zzzyzzx")
    assert "No passage holds every word of “zzzyzzx”" in text and "kb-hits" not in text

"""End to end in a real browser, as a compliance officer uses the site: the README's corpus command
(`kb load` of the bundled policy and the 12 corpus files, then `kb serve`), Debian's chromium
driven by playwright, one server and one page for the module. Each test opens a page, asserts
what it shows (the defects of issue 15 included) and saves a screenshot in ``screenshots/``.
Expected values are read from the documents (headers, revision logs) and
../shared/reference/CP.PHAR.359-history.md.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from xml.etree import ElementTree

import pytest
from playwright.sync_api import Page, sync_playwright

from kb.surfaces.api import bundled_policy_paths
from tests.conftest import CORPUS

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "screenshots"
CENTENE = sorted((CORPUS / "centene").glob("*.txt")) if CORPUS.is_dir() else []
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
pytestmark = pytest.mark.skipif(len(CENTENE) != 12, reason=f"the 12 corpus files are not at {CORPUS / 'centene'}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`kb load` of the bundled policy and the corpus, then `kb serve`, on a fresh path."""
    database = tmp_path_factory.mktemp("site") / "kb.sqlite"
    kb = [sys.executable, "-m", "kb"]
    subprocess.run([*kb, "load", *map(str, bundled_policy_paths() + CENTENE), "--db", str(database)], check=True)
    port = _free_port()
    server = subprocess.Popen(
        [*kb, "serve", "--db", str(database), "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/-/versions.json", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    else:
        server.kill()
        pytest.fail("kb serve did not answer: " + server.stdout.read().decode())
    yield base
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="module")
def page():
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is needed (apt-get install chromium; .ci/run installs it)"
    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser.new_page(viewport={"width": 1280, "height": 1100})
        browser.close()


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def row_of(page: Page, policy: str) -> str:
    return page.inner_text(f'tr[data-policy="{policy}"]')


def test_home_page_lists_every_policy_with_its_reviews(served, page):
    page.goto(served + "/")
    assert page.locator("tr[data-policy]").count() == 13
    besponsa = row_of(page, "CP.PHAR.359")
    # Last Review Date 11.25; "4Q 2025 annual review" (P&T 11.25) -> next in 4Q 2026
    assert "V2025-11" in besponsa and "2025-11" in besponsa and "4Q 2026" in besponsa
    assert "4Q 2025 annual review, effective 2025-11-01" in besponsa and "diff V2024-11 → V2025-11" in besponsa
    eltrombopag = row_of(page, "CP.PHAR.180")
    # header "Last Review Date: 02. 25"; log "1Q 2021 ... 1Q 2025 annual review", the last with P&T 02. 25
    assert "2025-02" in eltrombopag and "1Q 2026" in eltrombopag
    assert "1Q 2025 annual review, effective 2025-02-01" in eltrombopag
    assert "the first version the knowledge base holds: nothing earlier to compare" in eltrombopag
    assert "annual reviews stand in 1Q of each year from 2021 to 2025" in eltrombopag
    shot(page, "home")


def test_search_from_the_header_shows_when_each_text_was_in_force(served, page):
    page.goto(served + "/")
    page.fill(".kb-nav input[name=q]", "hematologist")
    page.press(".kb-nav input[name=q]", "Enter")
    page.wait_for_selector("table.kb-hits")
    hits = page.inner_text("table.kb-hits")
    assert "Prescribed by or in consultation with an oncologist or hematologist;" in hits
    assert "V2021, V2022, V2023, V2024-05, V2024-11, V2025-11" in hits  # item 2 of every version
    assert {"CP.PHAR.359", "CP.PHAR.180", "CP.PHAR.310", "CP.PHAR.554"} <= set(hits.split())
    shot(page, "search-hematologist")
    page.click("table.kb-hits >> text=V2021")
    page.wait_for_selector("h1")
    assert "CP.PHAR.359 as it read on V2021" in page.inner_text("h1")


def test_recent_changes_across_policies_with_a_feed(served, page):
    page.goto(served + "/kb/recent_changes?from=2025-01-01&to=2025-12-31")
    table = page.inner_text("table.rows-and-columns")
    # P&T months in 2025 in the logs: 11.25, 08.25 (x2), 05.25 (x2), 02.25 (x3)
    policies = {
        "CP.PHAR.359",
        "CP.PHAR.524",
        "CP.PMN.219",
        "CP.PHAR.271",
        "CP.PHAR.427",
        "CP.PHAR.180",
        "CP.PHAR.223",
        "CP.PHAR.573",
    }
    assert policies <= set(table.split()) and "HIM.PA.SP66" not in table
    assert "removed criteria option for age ≥ 15 years for Philadelphia chromosome-negative" in table
    assert "atom_id" not in table  # the feed's columns are for the feed
    shot(page, "recent-changes-2025")
    feed_url = page.get_attribute("text=Atom feed of these rows", "href")
    feed = ElementTree.fromstring(page.request.get(served + feed_url).body())
    assert len(feed.findall("{http://www.w3.org/2005/Atom}entry")) == 8
    page.click('table.rows-and-columns a:text-is("diff")')
    page.wait_for_selector(".kb-diff")
    assert "V2024-11 (2025-10-31) -> V2025-11 (2025-11-01)" in page.inner_text(".kb-diff h1")


def test_changes_keep_both_events_and_the_unknowns(served, page):
    page.goto(served + "/kb/changes_between?policy=CP.PHAR.359&from=2024-08-01&to=2025-12-01")
    rows = page.locator("table.rows-and-columns tbody tr").all_inner_texts()
    ph_negative = [
        r for r in rows if "If Philadelphia chromosome-negative, age ≥ 15 years;" in r and "I.A.5.ph-negative\t" in r
    ]
    assert [r.split("\t")[:2] for r in ph_negative] == [["2024-11-01", "changed"], ["2025-11-01", "went out of force"]]
    references = [r for r in rows if "\treference\t" in r and r.startswith("2025-11-01")]
    assert sum("became known" in r and "cannot be compared" in r for r in references) == 4
    assert any("stopped being unknown" in r for r in references)
    shot(page, "changes-CP.PHAR.359")
    page.click("text=The whole span as one diff")
    page.wait_for_selector(".kb-diff")
    assert "option I.A.5.b replaced (Age ≥ 15 years -> age ≥ 18 years)" in page.inner_text(".kb-diff")


def test_diff_page_leads_everywhere(served, page):
    page.goto(served + "/-/kb/diff?policy=CP.PHAR.359&from=V2024-05&to=V2025-11")
    links = page.inner_text("nav.kb-links")
    for link in ("Version timeline", "V2024-05 as it read", "V2025-11 as it read", "← previous step: V2023 → V2024-05"):
        assert link in links
    assert page.locator(".kb-nav").is_visible()
    shot(page, "diff-V2024-05-V2025-11")
    page.click("text=← previous step: V2023 → V2024-05")
    page.wait_for_selector(".kb-diff")
    assert "V2023 (2023-11-01) -> V2024-05 (2024-05-13)" in page.inner_text(".kb-diff h1")
    assert "next step: V2024-05 → V2024-11 →" in page.inner_text("nav.kb-links")
    page.goto(served + "/-/kb/diff?policy=CP.PHAR.359&from=2025-12-01&to=2024-08-01")
    assert "shown from the earlier date to the later one" in page.inner_text(".kb-notes")
    page.click("text=Version timeline")
    page.wait_for_selector("table.rows-and-columns")
    assert "V2024-11" in page.inner_text("table.rows-and-columns")


def test_policy_page_reads_as_the_policy(served, page):
    page.goto(served + "/-/kb/policy?policy=CP.PHAR.359&as_of=2024-08-01")
    assert "Inotuzumab ozogamicin (Besponsa™)" in page.inner_text("body") and "[™]" not in page.inner_text("body")
    parent = page.locator('.kb-criterion[data-depth="1"]', has_text="One of the following (a or b)").first
    child = page.locator('.kb-criterion[data-depth="2"]', has_text="Disease is relapsed or refractory").first
    grandchild = page.locator('.kb-criterion[data-depth="3"]', has_text="Age ≥ 15 years").first
    x = [item.locator(".kb-label").bounding_box()["x"] for item in (parent, child, grandchild)]
    assert x[0] < x[1] < x[2]  # a. under 5., ii. under b.: each deeper than its parent
    sections = page.locator("h3.kb-section").all_inner_texts()
    assert sections == ["I. Initial Approval Criteria", "II. Continued Therapy"]
    assert "Prescribed regimen must be FDA-approved or recommended by NCCN." in page.inner_text(".kb-footnote >> nth=0")
    shot(page, "policy-CP.PHAR.359-2024-08-01")
    page.click("nav.kb-links >> text=Document coverage")
    page.wait_for_selector(".kb-figures")
    assert "parsed" in page.inner_text(".kb-figures") and "Boilerplate passages" in page.inner_text("body")
    page.goto(served + "/-/kb/policy?policy=CP.PHAR.310&as_of=V2024-08")
    page.click("nav.kb-links >> text=Document coverage")
    page.wait_for_selector(".kb-figures")
    assert "CP.PHAR.310_daratumumab.txt" in page.inner_text("h2") and "flattened text" in page.inner_text("body")
    shot(page, "coverage-CP.PHAR.310")


def test_coverage_shows_suspect_passages_with_their_reason(served, page):
    """CP.PHAR.180's continued-therapy item 7 lists a. and b. under "does not exceed the following:" with no
    logic word: read, but doubted."""
    page.goto(served + "/-/kb/policy?policy=CP.PHAR.180&as_of=2025-06-01")
    page.click("nav.kb-links >> text=Document coverage")
    page.wait_for_selector("table.kb-suspect")
    suspect = page.inner_text("table.kb-suspect")
    assert "If request is for a dose increase, new dose does not exceed the following:" in suspect
    assert "suspect" in page.inner_text(".kb-figures")
    shot(page, "coverage-CP.PHAR.180-suspect")
    page.goto(served + "/kb/suspect_passages")
    listed = page.inner_text("table.rows-and-columns")
    assert (
        "CP.PHAR.180" in listed
        and "If request is for a dose increase, new dose does not exceed the following:" in listed
    )


def test_criteria_in_force_read_as_the_policy(served, page):
    page.goto(served + "/kb/criteria_in_force?policy=CP.PHAR.359")
    assert "Enter a date in the as_of field" in page.inner_text(".kb-problems")
    seen = {}
    for day in ("2024-08-01", "2025-12-01"):
        page.fill("input[name=as_of]", day)
        page.click("form.sql input[type=submit]")
        page.wait_for_selector("td.col-criterion")
        seen[day] = page.inner_text("table.rows-and-columns")
        shot(page, f"criteria-in-force-{day}")
    assert "ii. Age ≥ 15 years;" in seen["2024-08-01"] and "frontline" not in seen["2024-08-01"]
    assert "b. If prescribed as frontline therapy, age ≥ 18 years;" in seen["2025-12-01"]
    assert "I. Initial Approval Criteria" in seen["2025-12-01"] and "II. Continued Therapy" in seen["2025-12-01"]
    assert "* Prescribed regimen must be FDA-approved or recommended by NCCN." in seen["2025-12-01"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("policy=CP.PHAR.359&as_of=2010-01-01", "2010-01-01 is before 2021-11-01"),
        ("policy=CP.PHAR.359&as_of=2024-08-01&known_at=yesterday", "known_at 'yesterday' is not a knowledge time"),
        ("policy=CP.PHAR.359&as_of=2024-08-01&known_at=2024/08/01", "known_at '2024/08/01' is not a knowledge time"),
        ("policy=cp.phar.359&as_of=2024-08-01", "Did you mean CP.PHAR.359?"),
        ("policy=CP.PHAR.359&as_of=2024-02-30", "as_of '2024-02-30' is not a calendar date"),
    ],
)
def test_every_empty_result_says_why(served, page, query, message):
    page.goto(f"{served}/kb/criteria_in_force?{query}")
    assert message in page.inner_text(".kb-problems")
    assert page.locator("td.col-criterion").count() == 0
    if "2024-02-30" in query:
        shot(page, "criteria-in-force-impossible-date")


def test_bad_requests_are_answered_without_500(served, page):
    assert page.request.post(served + "/kb/criteria_in_force", form={"policy": "x"}).status == 405
    assert page.request.post(served + "/kb/criterion/-/insert", data="{}").status == 405
    response = page.goto(served + "/kb/criterion?_sort=bad")
    assert response.status == 400 and "Cannot sort table by bad" in page.inner_text("body")
    assert page.locator(".kb-nav").is_visible()


A11Y = ROOT / "tests" / "a11y"
AXE = A11Y / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = {"serious", "critical"}


@pytest.fixture(scope="module")
def axe() -> Path:
    """axe-core from npm, as tests/a11y/package-lock.json pins it (``.ci/run`` installs it; a checkout
    without it installs it here)."""
    if not AXE.is_file():
        npm = shutil.which("npm")
        assert npm, "npm is needed to install axe-core (tests/a11y/package.json); .ci/run runs npm ci there"
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--prefix", str(A11Y)], check=True)
    return AXE


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("home", "/"),
        ("policy", "/-/kb/policy?policy=CP.PHAR.359&as_of=2025-12-01"),
        ("diff", "/-/kb/diff?policy=CP.PHAR.359&from=V2024-05&to=V2025-11"),
        ("recent", "/kb/recent_changes?from=2025-01-01&to=2025-12-31"),
        ("search", "/-/kb/search?q=hematologist"),
        ("coverage", "/-/kb/coverage?policy=CP.PHAR.180"),
        ("questionnaire", "/-/kb/questionnaire?policy=CP.PHAR.359&as_of=2025-12-01"),
    ],
)
def test_pages_have_no_serious_accessibility_violations(served, page, axe, name, path):
    page.goto(served + path)
    page.add_script_tag(path=str(axe))
    violations = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))"
    )
    assert [v for v in violations if v["impact"] in SERIOUS] == [], name


def tab_to(page: Page, selector: str, limit: int = 60) -> None:
    """Press Tab until the element ``selector`` names has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement === document.querySelector(s)", selector):
            return
    pytest.fail(f"{selector} is not reachable with Tab")


def test_the_keyboard_alone_searches_and_moves_between_versions(served, page):
    page.goto(served + "/")
    tab_to(page, ".kb-nav input[name=q]")
    page.keyboard.type("J9229")
    page.keyboard.press("Enter")
    page.wait_for_selector("table.kb-hits")
    # Coding Implications of CP.PHAR.359: "J9229 Injection, inotuzumab ozogamicin, 0.1 mg"
    assert "J9229 Injection, inotuzumab ozogamicin, 0.1 mg" in page.inner_text("table.kb-hits")
    tab_to(page, 'table.kb-hits a[href$="as_of=V2024-05"]')
    page.keyboard.press("Enter")
    page.wait_for_selector("form.kb-picker")
    assert "CP.PHAR.359 as it read on V2024-05" in page.inner_text("h1")
    tab_to(page, "#kb-as_of")
    page.keyboard.press("Control+A")
    page.keyboard.type("V2021")
    page.keyboard.press("Enter")
    page.wait_for_url("**as_of=V2021")
    assert "Version V2021" in page.inner_text("body")


def test_what_the_new_user_met_on_search(served, page):
    """A lone quote, a HCPCS code, a duration's words and a revision-log phrase (issue 26)."""
    page.goto(served + '/-/kb/search?q="')
    assert "Invalid SQL" not in page.title() and "No passage holds every word" in page.inner_text("body")
    found = {}
    for words in ("J9229", "renewal", "adolescent and young adult"):
        page.goto(served + "/-/kb/search?q=" + words.replace(" ", "+"))
        found[words] = page.inner_text("table.kb-hits")
        shot(page, "search-" + words.split()[0])
    assert "HCPCS code" in found["J9229"]
    # CP.PHAR.359 I.A and II.A Commercial: "6 months or to the member's renewal date, whichever is longer"
    assert "I.A approval duration, Commercial" in found["renewal"]
    assert "revision log, RT4 (2024-05-13)" in found["adolescent and young adult"]
    assert "CREATE TABLE" not in page.inner_text("body")


def test_what_the_new_user_met_on_recent_changes(served, page):
    page.goto(served + "/-/kb/recent")
    assert page.locator("table.rows-and-columns tbody tr").count() > 0
    # the newest change of the 13 policies: CP.PHAR.359's 4Q 2025 annual review, effective 2025-11-01
    assert "took effect on 2025-11-01 (CP.PHAR.359 4Q 2025 annual review)" in page.inner_text(".kb-notes")
    assert "WITH" not in page.title() and page.title().startswith("Recent changes across all policies: from ")
    assert "Custom SQL query" not in page.inner_text("body") and "Edit SQL" not in page.inner_text("body")
    shot(page, "recent-changes-opening")
    feed = ElementTree.fromstring(page.request.get(served + "/kb/recent_changes.atom").body())
    titles = [e.findtext("{http://www.w3.org/2005/Atom}title") for e in feed.iter("{http://www.w3.org/2005/Atom}entry")]
    assert titles[0] == "CP.PHAR.359 4Q 2025 annual review, effective 2025-11-01"


def test_what_the_new_user_met_on_coverage(served, page):
    page.goto(served + "/-/kb/coverage")
    page.select_option("#kb-policy", "CP.PHAR.180")
    page.click("form.kb-picker input[type=submit]")
    page.wait_for_selector("table.kb-suspect")
    assert page.inner_text("h2") == "CP.PHAR.180_eltrombopag.txt"
    # the suspect item is II.A.7 (continued therapy, "7. If request is for a dose increase"), after
    # "Page 5 of 12" in the flattened file
    assert re.search(r"item II\.A\.7, page 5, line \d+", page.inner_text("table.kb-suspect"))  # the PDF's item and page
    assert "every line number here is one of those" in page.inner_text("body")
    shot(page, "coverage-CP.PHAR.180-pages")
    page.click("nav.kb-links >> text=Suspect passages of every policy")
    page.wait_for_selector("table.rows-and-columns")
    assert "CP.PHAR.180" in page.inner_text("table.rows-and-columns")


def test_what_the_new_user_met_on_policy_and_diff_pages(served, page):
    page.goto(served + "/kb/predicate_coverage")
    assert page.title() == "Predicate coverage" and "Leaf criteria" in page.inner_text("thead")
    page.goto(served + "/-/kb/policy?policy=CP.PHAR.180&as_of=2025-06-01")
    body = page.inner_text("body")
    assert "\uf0a7" not in body and "▪ Platelet count ≥ 50,000/µL" in body  # the appendix's Wingdings bullets (U+F0A7)
    page.goto(served + "/-/kb/diff?policy=CP.PHAR.180&from=2020-01-01&to=2025-06-01")
    assert "No changes." not in page.inner_text(".kb-diff")
    assert "Nothing compared: 2020-01-01 is not covered" in page.inner_text(".kb-diff")
    shot(page, "diff-not-covered")

"""End to end in a real browser: `kb serve`, Debian's chromium driven by playwright.

A user opens the criteria-in-force page, enters 2024-08-01 then 2025-12-01 and sees the two
different Ph-negative / frontline options; a screenshot of each is saved in ``screenshots/``.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`kb serve` on a fresh path: it builds the knowledge base, then serves it."""
    database = tmp_path_factory.mktemp("site") / "kb.sqlite"
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "kb", "serve", "--db", str(database), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
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
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser.new_page(viewport={"width": 1280, "height": 1100})
        browser.close()


def test_criteria_in_force_page_shows_the_option_of_each_date(served, page):
    SCREENSHOTS.mkdir(exist_ok=True)
    page.goto(f"{served}/kb/criteria_in_force?policy=CP.PHAR.359")
    assert "Enter a date in the as_of field" in page.inner_text(".kb-problems")
    seen = {}
    for day in ("2024-08-01", "2025-12-01"):
        page.fill("input[name=as_of]", day)
        page.click("form.sql input[type=submit]")
        page.wait_for_selector("td.col-criterion")
        seen[day] = page.inner_text("table.rows-and-columns")
        page.screenshot(path=str(SCREENSHOTS / f"criteria-in-force-{day}.png"), full_page=True)
    assert "ii. Age ≥ 15 years;" in seen["2024-08-01"] and "frontline" not in seen["2024-08-01"]
    assert "b. If prescribed as frontline therapy, age ≥ 18 years;" in seen["2025-12-01"]
    assert "Age ≥ 15 years" not in seen["2025-12-01"]


def test_timeline_links_to_a_diff_page(served, page):
    page.goto(f"{served}/kb/version_timeline?policy=CP.PHAR.359")
    page.click("text=diff from previous >> nth=-1")
    page.wait_for_selector("h1")
    assert "CP.PHAR.359: V2024-11 (2024-11-01) -> V2025-11 (2025-11-01)" in page.inner_text("h1")
    page.screenshot(path=str(SCREENSHOTS / "diff-V2024-11-V2025-11.png"), full_page=True)

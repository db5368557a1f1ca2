"""Policy text is third-party input: on every HTML output and page, a hostile copy of the bundled
policy shows its script tags, event handlers and javascript: URLs as text, never as markup."""

from __future__ import annotations

import asyncio

import pytest
from click.testing import CliRunner

from kb.reliability.hostile import MARK, load_hostile, report_pages, scan, site_metadata, site_pages
from kb.surfaces.cli import cli
from kb.surfaces.site.queries import METADATA

CRITERION = f"<script>alert('{MARK}-criterion')</script>"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    kb = load_hostile(tmp_path_factory.mktemp("hostile"))
    yield kb
    kb.close()


@pytest.fixture(scope="module")
def pages(hostile):
    return {**report_pages(hostile), **site_pages(hostile.path, site_metadata(METADATA))}


def test_the_payloads_are_stored_as_the_document_wrote_them(hostile):
    texts = [row["text"] for row in hostile.connection.execute("SELECT text FROM criterion WHERE text LIKE '%kbxss%'")]
    assert f"Diagnosis of B-cell ALL {CRITERION};" in texts


def test_no_page_makes_document_text_live(pages):
    live = {name: found for name, (found, _) in ((n, scan(html)) for n, html in pages.items()) if found}
    assert live == {}
    assert len(pages) >= 25  # reports, index, database, every table, canned query and plugin page


@pytest.mark.parametrize(
    "name",
    [
        "export html 2025-12-01",
        "diff html 2019-06-01 -> 2025-12-01",
        "/-/kb/policy?policy=CP.PHAR.359&as_of=2025-12-01",
        "/-/kb/questionnaire?policy=CP.PHAR.359&as_of=2025-12-01",
        "/kb/criteria_in_force?policy=CP.PHAR.359&as_of=2025-12-01&known_at=",
        "/kb/criterion",
    ],
)
def test_the_hostile_criterion_is_shown_as_text(pages, name):
    assert CRITERION in scan(pages[name])[1]


def test_references_and_descriptions_are_shown_as_text(pages):
    text = scan(pages["export html 2025-12-01"])[1]
    assert f"javascript:alert('{MARK}-url')" in text and f"[click](javascript:alert('{MARK}-link'))" in text
    assert f"<img src=x onerror=alert('{MARK}-description')>" in text


def test_a_hostile_parameter_is_echoed_as_text(hostile):
    from datasette.app import Datasette

    site = Datasette(immutables=[str(hostile.path)], metadata=site_metadata(METADATA))
    page = asyncio.run(site.client.get("/kb/criteria_in_force?policy=<script>alert(3)</script>&as_of=2025-12-01"))
    assert "<script>alert(3)" not in page.text and "&lt;script&gt;alert(3)" in page.text


def test_the_cli_html_outputs(hostile, tmp_path):
    runner = CliRunner()
    for name, arguments in {
        "export.html": ["export", "CP.PHAR.359", "--as-of", "2025-12-01", "--format", "html"],
        "diff.html": ["diff", "CP.PHAR.359", "2019-06-01", "2025-12-01", "--format", "html"],
    }.items():
        output = tmp_path / name
        result = runner.invoke(cli, [*arguments, "-o", str(output), "--db", str(hostile.path)])
        assert result.exit_code == 0, result.output
        live, text = scan(output.read_text(encoding="utf-8"))
        assert live == [] and CRITERION in text


def test_the_scan_finds_live_markup():
    """The check itself: each kind of live markup is caught, escaped text is not."""
    assert scan("<p>&lt;script&gt;alert('kbxss')&lt;/script&gt;</p>")[0] == []
    for html in (
        "<script>alert('kbxss')</script>",
        "<img src=x onerror=alert('kbxss')>",
        '<a href=" javascript:alert(1)">x</a>',
        "<style>/*kbxss*/</style>",
        '<iframe src="x" kbxss="1">',
    ):
        assert scan(html)[0], html

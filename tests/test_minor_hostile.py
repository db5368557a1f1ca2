"""The minor findings of the second hostile-input round (issue #28, item 6): the Atom feed is
well-formed XML whatever a document holds and never takes its links from the Host header;
bidirectional controls are flagged suspect; ``kb serve`` of a file not named kb.sqlite leaves
no temporary folder behind.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from xml.etree import ElementTree

from datasette.app import Datasette

from kb.surfaces.site import site_metadata
from kb.surfaces.site.feed import atom
from loaders.centene import load_text
from tests.conftest import BUNDLED, ROOT

ATOM = "{http://www.w3.org/2005/Atom}"
FEED = "/kb/recent_changes.atom?from=2024-01-01&to=2025-12-31"


def test_a_control_character_in_the_feed_is_shown_as_its_control_picture():
    rows = [
        {"atom_id": "x\x00", "atom_title": "red \x1b[31m text", "atom_updated": "2025-11-01", "atom_link": "/a\x1b"}
    ]
    feed = ElementTree.fromstring(atom("t\x07", "http://h/feed", "http://h", rows, "s\x0b"))
    entry = feed.find(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == "red \u241b[31m text"  # U+241B SYMBOL FOR ESCAPE
    assert entry.findtext(f"{ATOM}id") == "x\u2400"
    assert entry.find(f"{ATOM}link").get("href") == "http://h/a\u241b"
    assert feed.findtext(f"{ATOM}title") == "t\u2407" and feed.findtext(f"{ATOM}subtitle") == "s\u240b"


def test_the_feed_never_takes_its_links_from_the_host_header(site):
    response = asyncio.run(site.client.get(FEED, headers={"host": "evil.example"}))
    assert response.status_code == 200
    assert "evil.example" not in response.text
    feed = ElementTree.fromstring(response.content)
    assert feed.find(f"{ATOM}link").get("href").endswith(FEED)


def test_the_feed_links_start_with_the_public_url_setting(loaded_kb):
    metadata = json.loads((ROOT / "datasette_metadata.json").read_text(encoding="utf-8"))
    metadata["plugins"] = {"policy_as_data": {"public_url": "https://policies.example.org/"}}
    site = Datasette(immutables=[str(loaded_kb.path)], metadata=metadata)
    feed = ElementTree.fromstring(asyncio.run(site.client.get(FEED, headers={"host": "evil.example"})).content)
    links = [link.get("href") for link in feed.iter(f"{ATOM}link")]
    assert links and all(link.startswith("https://policies.example.org/") for link in links)


def test_a_right_to_left_override_is_flagged_suspect():
    text = BUNDLED.read_text(encoding="utf-8").replace(
        "1. Diagnosis of B-cell ALL;", "1. Diagnosis of \u202eLLA llec-B;"
    )
    document = load_text("bidi.txt", text)
    flagged = [block for block in document.coverage if block.status == "suspect" and "U+202E" in block.reason]
    assert len(flagged) == 1 and flagged[0].text.startswith("1. Diagnosis of \u202e")
    assert not [
        b
        for b in load_text("plain.txt", BUNDLED.read_text(encoding="utf-8")).coverage
        if "bidirectional" in (b.reason or "")
    ]


def test_serving_a_file_not_named_kb_sqlite_leaves_no_folder_behind():
    before = set(Path(tempfile.gettempdir()).glob("kb-site-*"))
    copy = site_metadata(ROOT / "datasette_metadata.json", "other")
    data = json.loads(copy.read_text(encoding="utf-8"))
    assert list(data["databases"]) == ["other"] and "queries" in data["databases"]["other"]
    assert set(Path(tempfile.gettempdir()).glob("kb-site-*")) == before

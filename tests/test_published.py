"""The site serves one published state at a time (issue #28, item 5).

``kb load`` publishes by renaming a new file over the served one. Before, Datasette's own pages
(canned queries) kept reading the replaced file, deleted but held open, while the project's
pages read the new one. Now every page reads the new state once it is published, and the
replaced file is closed.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path

from datasette.app import Datasette

from kb.api import KnowledgeBase, bundled_policy_paths
from tests.conftest import FIXTURES, ROOT

LATER = FIXTURES / "CP.PHAR.359_12.25-constructed.txt"
"""The bundled policy with a revision of December 2025 (Last Review Date 12.25)."""


def held_deleted(path: Path) -> list[str]:
    """The files this process holds open that were at ``path`` and have been deleted."""
    found = []
    for descriptor in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{descriptor}")
        except OSError:
            continue
        if target == f"{path} (deleted)":
            found.append(target)
    return found


async def newest_labels(site: Datasette) -> tuple[str, str]:
    """The newest version label on a canned query (Datasette's) and on the home page (the project's)."""
    timeline = await site.client.get("/kb/version_timeline.json?policy=CP.PHAR.359&_shape=array")
    canned = max(row["label"] for row in timeline.json())
    home = await site.client.get("/")
    return canned, max(re.findall(r"V\d{4}-\d{2}", home.text))


def test_a_publication_is_seen_by_every_page_and_the_old_file_is_released(tmp_path):
    database = tmp_path / "kb.sqlite"
    KnowledgeBase(database).load()
    metadata = json.loads((ROOT / "datasette_metadata.json").read_text(encoding="utf-8"))
    site = Datasette(immutables=[str(database)], metadata=metadata)

    async def run() -> tuple[tuple[str, str], tuple[str, str], list[str]]:
        await site.invoke_startup()
        before = await newest_labels(site)
        KnowledgeBase(database).load([*bundled_policy_paths(), LATER])
        after = await newest_labels(site)
        return before, after, held_deleted(database)

    before, after, held = asyncio.run(run())
    assert before == ("V2025-11", "V2025-11")  # the bundled policy's newest revision: P&T 11.25
    assert after == ("V2025-12", "V2025-12")  # the later document's revision: 12.25
    assert held == []

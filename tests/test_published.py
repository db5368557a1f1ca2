"""The site serves one published state at a time (issue #28, item 5).

``kb load`` publishes by renaming a new file over the served one. Before, Datasette's own pages
(canned queries) kept reading the replaced file, deleted but held open, while the project's
pages read the new one. Now every page reads the new state once it is published, and the
replaced file is closed.
"""

from __future__ import annotations

from kb.reliability.site_probes import publication


def test_a_publication_is_seen_by_every_page_and_the_old_file_is_released(tmp_path):
    # LATER is the bundled policy with a revision of December 2025 (Last Review Date 12.25)
    found = publication(tmp_path)
    assert found.before == ("V2025-11", "V2025-11")  # the bundled policy's newest revision: P&T 11.25
    assert found.after == ("V2025-12", "V2025-12")  # the later document's revision: 12.25
    assert found.held == []

"""Loading: one transaction, idempotent, snapshots of the same policy, two time axes."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from kb.errors import ChangeDataError
from kb.surfaces.api import KnowledgeBase
from tests.conftest import BUNDLED, FIXTURES

SNAPSHOT = FIXTURES / "CP.PHAR.359_11.24-constructed.txt"
T1 = datetime(2026, 1, 1, tzinfo=UTC)
T2 = T1 + timedelta(days=30)


def _count(kb, table):
    return kb.connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_reloading_changes_nothing(fresh_kb):
    first = fresh_kb.load()[0]
    rows = _count(fresh_kb, "criterion")
    again = fresh_kb.load([BUNDLED])[0]
    assert first.changed and first.rows_added > 0
    assert not again.changed and (again.rows_added, again.rows_superseded) == (0, 0)
    assert _count(fresh_kb, "criterion") == rows


def test_every_row_is_dated_and_recorded(fresh_kb):
    fresh_kb.load(now=T1)
    for table in ("criterion", "duration", "cross_reference", "statement", "code", "reference", "dosing"):
        rows = fresh_kb.connection.execute(f"SELECT valid_from, recorded_at FROM {table}").fetchall()
        assert rows and all(r["valid_from"] and r["recorded_at"] == T1.isoformat() for r in rows)


def test_snapshot_document_wins_and_disagreements_are_reported(fresh_kb):
    fresh_kb.load(now=T1)
    report = fresh_kb.load([SNAPSHOT], now=T2)[0]
    found = {(d.kind, d.key): d.status for d in report.disagreements}
    assert found[("reference", "https://besponsa.pfizerpro.com")] == "was unknown"  # unknown in the reconstruction
    assert "differs" not in found.values()  # the fixture's criteria read as reconstructed
    versions = {v["label"]: v["basis"] for v in fresh_kb.versions("CP.PHAR.359")}
    assert versions["V2024-11"] == "document" and versions["V2024-05"] == "reconstructed"
    accessed = [r["accessed"] for r in fresh_kb.as_of("CP.PHAR.359", "2025-01-15").records["reference"]]
    assert "2024-07-11" in accessed
    # older versions are rebuilt from the nearest later document: the 11.24 one
    snapshot = fresh_kb.versions("CP.PHAR.359")
    sha_1124 = fresh_kb.connection.execute(
        "SELECT sha256 FROM source_document WHERE last_review = '2024-11'"
    ).fetchone()[0]
    first = [r for r in fresh_kb.as_of("CP.PHAR.359", "2024-08-01").criteria() if r["item_id"] == "I.A.1"][0]
    assert (first["source"], first["document_sha256"]) == ("carried", sha_1124) and snapshot[0]["label"] == "V2021"


def test_known_at_answers_as_the_knowledge_base_knew_it(fresh_kb):
    fresh_kb.load(now=T1)
    fresh_kb.load([SNAPSHOT], now=T2)
    before = fresh_kb.as_of("CP.PHAR.359", "2025-01-15", known_at=T1 + timedelta(days=1))
    after = fresh_kb.as_of("CP.PHAR.359", "2025-01-15")
    # before the 11.24 document was loaded, V2024-11's references were unknown (reviewed and updated at 07.15.25)
    assert before.records["reference"] == [] and ("reference", "*") in {
        (u["kind"], u["scope"]) for u in before.records["unknown"]
    }
    assert [r["accessed"] for r in after.records["reference"]][0] == "2024-07-11"
    assert before.version["basis"] == "reconstructed" and after.version["basis"] == "document"
    nothing_yet = fresh_kb.as_of("CP.PHAR.359", "2025-01-15", known_at=T1 - timedelta(days=1))
    assert nothing_yet.status == "not covered"
    superseded = fresh_kb.connection.execute("SELECT COUNT(*) FROM version WHERE superseded_at IS NOT NULL")
    assert superseded.fetchone()[0] > 0  # corrections close rows, never overwrite them


def test_change_data_that_does_not_fit_is_refused(fresh_kb):
    """Change data names the identities of the 11.25 document; alone, the 11.24 text does not fit it."""
    with pytest.raises(ChangeDataError) as caught:
        fresh_kb.load([SNAPSHOT])
    assert caught.value.source.endswith("2024-07-11.toml") and caught.value.line
    assert "I.A.5.ph-negative" in caught.value.expected
    assert not fresh_kb.path.exists()  # nothing of the load was published


def test_a_knowledge_base_made_before_a_column_was_added_still_loads(tmp_path):
    """A file an earlier version wrote lacks the newest columns: the next load adds them, and
    the rows it held keep their values."""
    path = tmp_path / "kb.sqlite"
    with KnowledgeBase(path) as kb:
        kb.load(now=T1)
        revisions = _count(kb, "revision")
    with sqlite3.connect(path) as connection:
        connection.execute("ALTER TABLE revision DROP COLUMN kept_from_document")
    with KnowledgeBase(path) as kb:
        assert kb.load([SNAPSHOT], now=T2)[0].changed
        columns = {row[1] for row in kb.connection.execute("PRAGMA table_info(revision)")}
        assert "kept_from_document" in columns and _count(kb, "revision") >= revisions

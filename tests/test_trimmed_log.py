"""A newer document adds to the history, never erases it (issue 22, point 4).

Payers trim old rows from the revision log. The newer copy here is the constructed 12.25
document with its 2021 and 2022 rows taken out (its other rows as printed): the rows, revisions
and versions the older (bundled 11.25) document recorded survive it, in either load order, and
each row it no longer prints is kept, noted as kept from the older document."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.surfaces.api import KnowledgeBase
from kb.surfaces.cli import cli
from loaders.centene import load_path
from tests.conftest import BUNDLED, FIXTURES

POLICY = "CP.PHAR.359"
DECEMBER_25 = FIXTURES / "CP.PHAR.359_12.25-constructed.txt"
TRIMMED_ROWS = ("\t06.28.21\t11.21", "\t08.02.22\t11.22")
"""The log rows the newer copy no longer prints: 4Q 2021 and 4Q 2022 annual reviews."""


@pytest.fixture
def trimmed(tmp_path: Path) -> Path:
    lines = DECEMBER_25.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not line.rstrip("\n").endswith(TRIMMED_ROWS)]
    assert len(lines) - len(kept) == 2
    path = tmp_path / "CP.PHAR.359_12.25-trimmed-log.txt"
    path.write_text("".join(kept), encoding="utf-8")
    return path


def _kb(folder: Path) -> KnowledgeBase:
    (folder / "changes").mkdir(parents=True)
    return KnowledgeBase(folder / "kb.sqlite", changes=folder / "changes")


def _revisions(kb: KnowledgeBase) -> list[tuple[str, str | None]]:
    rows = kb.connection.execute(
        "SELECT revision_date, kept_from_document FROM revision WHERE policy_id = ? AND superseded_at IS NULL"
        " ORDER BY revision_date",
        (POLICY,),
    )
    return [(row["revision_date"], row["kept_from_document"]) for row in rows]


def test_the_newer_copy_no_longer_prints_the_2021_and_2022_rows(trimmed: Path):
    dates = [row.date.isoformat() for row in load_path(trimmed).revision_log]
    assert dates == ["2023-08-06", "2024-05-13", "2024-07-11", "2025-07-15", "2025-12-10"]


@pytest.mark.parametrize("newer_first", [False, True], ids=["older first", "newer first"])
def test_rows_an_older_document_recorded_survive_a_newer_one_that_no_longer_prints_them(
    tmp_path: Path, trimmed: Path, newer_first: bool
):
    order = [trimmed, BUNDLED] if newer_first else [BUNDLED, trimmed]
    with _kb(tmp_path / "trimmed") as kb, _kb(tmp_path / "whole") as whole:
        for path in order:
            kb.load([path])
        whole.load([BUNDLED, DECEMBER_25])
        older = load_path(BUNDLED).sha256
        assert _revisions(kb) == [
            ("2021-06-28", older),
            ("2022-08-02", older),
            ("2023-08-06", None),
            ("2024-05-13", None),
            ("2024-07-11", None),
            ("2025-07-15", None),
            ("2025-12-10", None),
        ]
        assert kb.versions(POLICY) == whole.versions(POLICY)
        columns = "ordinal, label, kind, description, revision_date, pt_month, effective_date"
        query = f"SELECT {columns} FROM revision WHERE superseded_at IS NULL ORDER BY revision_date"
        assert [tuple(r) for r in kb.connection.execute(query)] == [tuple(r) for r in whole.connection.execute(query)]


def test_the_load_says_how_many_rows_the_newest_document_no_longer_prints(tmp_path: Path, trimmed: Path):
    (tmp_path / "changes").mkdir()
    db, changes = str(tmp_path / "kb.sqlite"), str(tmp_path / "changes")
    CliRunner().invoke(cli, ["load", str(BUNDLED), "--db", db, "--changes", changes], catch_exceptions=False)
    result = CliRunner().invoke(cli, ["load", str(trimmed), "--db", db, "--changes", changes])
    assert result.exit_code == 0, result.output
    assert "2 revision-log rows no longer printed by the newest document, kept from an older one" in result.output

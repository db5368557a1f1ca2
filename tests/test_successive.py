"""Point 4 of issue 14: successive documents are versions, for any policy.

"Without change data" stands for any policy of the corpus: the knowledge base is given an
empty change-data folder. The fixtures are constructed from the bundled 11.25 document (each
says so on its first line): an 11.24 version, and a 12.25 version whose RT1 row adds an item
and updates references, with one change its log does not name (HIM/Medicaid 12 months)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.surfaces.api import KnowledgeBase
from kb.surfaces.cli import cli
from tests.conftest import BUNDLED, FIXTURES

POLICY = "CP.PHAR.359"
NOVEMBER_24 = FIXTURES / "CP.PHAR.359_11.24-constructed.txt"
DECEMBER_25 = FIXTURES / "CP.PHAR.359_12.25-constructed.txt"


@pytest.fixture
def bare(tmp_path: Path):
    """A knowledge base without change data."""
    (tmp_path / "changes").mkdir()
    with KnowledgeBase(tmp_path / "kb.sqlite", changes=tmp_path / "changes") as kb:
        yield kb


def _labels(kb):
    return [(v["label"], v["valid_from"], v["valid_to"], v["basis"]) for v in kb.versions(POLICY)]


@pytest.mark.parametrize("order", [[BUNDLED, NOVEMBER_24], [NOVEMBER_24, BUNDLED]])
def test_an_older_and_a_newer_document_are_two_versions(bare, order):
    for path in order:  # one load each: the second document is added to the first
        bare.load([path])
    assert _labels(bare) == [
        ("V2024-11", "2024-11-01", "2025-11-01", "document"),
        ("V2025-11", "2025-11-01", None, "document"),
    ]
    between = bare.as_of(POLICY, "2025-01-15")
    assert between.covered and between.version["label"] == "V2024-11"
    assert "If Philadelphia chromosome-negative, age ≥ 15 years;" in [r["text"] for r in between.criteria()]
    assert bare.as_of(POLICY, "2025-12-01").version["label"] == "V2025-11"
    early = bare.as_of(POLICY, "2024-08-01")
    assert early.status == "not covered" and "no change data reconstructs the earlier versions" in early.reason


def test_a_revision_no_document_tells_is_a_gap(bare):
    bare.load([NOVEMBER_24, DECEMBER_25])
    assert [v[0] for v in _labels(bare)] == ["V2024-11", "V2025-12"]
    gap = bare.as_of(POLICY, "2025-11-15")  # 4Q 2025 review (07.15.25) in effect, no 11.25 document
    assert gap.status == "not covered" and "no loaded document and no change data tell" in gap.reason
    assert bare.as_of(POLICY, "2025-12-15").version["label"] == "V2025-12"  # RT1 has no P&T month: its Date


def test_versions_older_than_a_document_are_rebuilt_from_the_nearest_later_one(fresh_kb):
    fresh_kb.load([BUNDLED, NOVEMBER_24, DECEMBER_25])
    bases = {v["label"]: v["basis"] for v in fresh_kb.versions(POLICY)}
    assert bases == {
        "V2021": "reconstructed", "V2022": "reconstructed", "V2023": "reconstructed", "V2024-05": "reconstructed",
        "V2024-11": "document", "V2025-11": "document", "V2025-12": "document",
    }  # fmt: skip
    shas = {r["last_review"]: r["sha256"] for r in fresh_kb.connection.execute("SELECT * FROM source_document")}
    first = next(r for r in fresh_kb.as_of(POLICY, "2022-01-15").criteria() if r["item_id"] == "I.A.1")
    assert first["document_sha256"] == shas["2024-11"]  # carried from the 11.24 document, not the 12.25 one
    # the 12.25 document's new item 7 is new; the dose item it renumbers to 8 keeps its identity
    december = {r["item_id"]: r["label"] for r in fresh_kb.as_of(POLICY, "2025-12-15").criteria()}
    assert december["I.A.7"] == "8." and december["I.A.doc-7"] == "7."


def test_the_rows_a_newer_document_adds_are_audited_against_the_two_documents(bare):
    bare.load([BUNDLED, DECEMBER_25])
    (pair,) = bare.audit(POLICY).documents
    assert pair.steps == [{"from": "V2025-11", "to": "V2025-12", "revision_date": "2025-12-10"}]
    found = {(f.ordinal, f.status): f.changes for f in pair.clauses}
    assert found[(1, "matched")] == ["I.A.7"]  # "added criterion that Besponsa is not prescribed concurrently ..."
    assert found[(2, "matched")] == ["reference http://www.nccn.org/professionals/drug_compendium"]
    assert [(u.key, u.summary) for u in pair.unlogged] == [
        ("I.A.HIM", "6 months -> 12 months"),
        ("I.A.Medicaid", "6 months -> 12 months"),
    ]


def test_kb_load_reports_the_audit_of_a_newer_document(tmp_path):
    db = str(tmp_path / "kb.sqlite")
    CliRunner().invoke(cli, ["load", str(BUNDLED), "--db", db])
    result = CliRunner().invoke(cli, ["load", str(DECEMBER_25), "--db", db])
    assert result.exit_code == 0, result.output
    assert "document of V2025-12 against V2025-11: 2 clause(s), 2 matched; 2 problem(s)" in result.output

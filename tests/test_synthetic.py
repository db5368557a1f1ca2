"""The synthetic payer-scale corpus goes through the real loaders and revisions, in parallel."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from kb.bench.synthetic import INSERTED, generate
from kb.errors import SourceError
from kb.surfaces.api import KnowledgeBase


def _digest(folder: Path) -> str:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return hashlib.sha256(b"".join(p.name.encode() + p.read_bytes() for p in files)).hexdigest()


def test_the_corpus_is_deterministic_and_varied(tmp_path):
    first = generate(tmp_path / "a", 12, 7)
    generate(tmp_path / "b", 12, 7)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    texts = [path.read_text(encoding="utf-8") for path in first]
    assert len({t.split("Reference Number: ")[1].split()[0] for t in texts}) == 12
    assert len({t.split("Clinical Policy: ")[1].splitlines()[0] for t in texts}) > 6
    assert all(f"8. {INSERTED}" in t for t in texts)
    with pytest.raises(ValueError, match="at least"):
        generate(tmp_path / "c", 1, 5)


def test_a_synthetic_policy_has_its_versions_and_changes(tmp_path):
    paths = generate(tmp_path, 3, 8)
    with KnowledgeBase(tmp_path / "kb.sqlite", changes=tmp_path / "changes") as kb:
        kb.load(paths, workers=1)
        policy = "CP.SYN.000002"
        assert [v["label"] for v in kb.versions(policy)][-3:] == ["V2025-11", "V2026-02", "V2026-04"]
        before = {c["item_id"] for c in kb.as_of(policy, "2025-12-01").criteria()}
        after = kb.as_of(policy, "2026-03-01").criteria()
        assert "I.A.8" not in before and {c["text"] for c in after if c["item_id"] == "I.A.8"} == {INSERTED}
        changes = {(c.key, c.kind) for c in kb.diff(policy, "2025-12-01", "2026-03-01").substantive()}
        assert changes == {("I.A.8", "added"), ("I.A.2", "text changed")}


def _state(kb: KnowledgeBase) -> list[tuple]:
    return [
        tuple(row)
        for row in kb.connection.execute(
            "SELECT policy_id, record_key, valid_from, valid_to, text, source FROM criterion ORDER BY 1, 2, 3"
        )
    ]


def test_a_parallel_load_stores_what_a_serial_load_stores(tmp_path):
    paths = generate(tmp_path, 40, 7)
    results = []
    for workers in (1, 2):
        with KnowledgeBase(tmp_path / f"kb-{workers}.sqlite", changes=tmp_path / "changes") as kb:
            reports = kb.load(paths, workers=workers)
            results.append((_state(kb), [(r.policy_id, r.rows_added, r.versions) for r in reports]))
    assert results[0] == results[1] and len(results[0][1]) == 40


def test_a_bad_file_in_a_parallel_load_stores_nothing(tmp_path):
    paths = generate(tmp_path, 40, 7)
    broken = paths[17].read_text(encoding="utf-8").replace("Effective Date: 09.26.17", "Effective Date: 13.45.17")
    paths[17].write_text(broken, encoding="utf-8")
    with KnowledgeBase(tmp_path / "kb.sqlite", changes=tmp_path / "changes") as kb:
        with pytest.raises(SourceError) as raised:
            kb.load(paths, workers=2)
        assert raised.value.source == str(paths[17]) and raised.value.line and "Effective Date" in raised.value.expected
        assert not kb.path.exists()  # nothing stored: the file is not even created

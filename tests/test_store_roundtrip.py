"""Nothing lost at storage: what the knowledge base returns for a document (``kb show --json``)
is the parsed document, record by record (content, key and lines), for the bundled policy, every
corpus document and every unseen document. The figures are printed in pytest's summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.errors import DuplicateRecord
from kb.model import PolicyState, Provenance, Span, Statement
from kb.surfaces.api import KnowledgeBase
from loaders.centene import load_path
from tests.conftest import BUNDLED, CORPUS, round_trip_paths
from tests.stored_records import ROUND_TRIPS, by_key, stored_records


@pytest.mark.parametrize("path", round_trip_paths(), ids=lambda p: p.stem)
def test_the_knowledge_base_stores_every_record_the_loader_reads(documents_kb: KnowledgeBase, path: Path):
    document = load_path(path)
    parsed, stored = by_key(document.records), by_key(stored_records(documents_kb, document.policy_id))
    ROUND_TRIPS.append((document.policy_id, len(document.records), len(stored)))
    assert len(parsed) == len(document.records), "two parsed records share a key"
    assert sorted(set(parsed) - set(stored)) == [], "parsed, not stored"
    assert sorted(set(stored) - set(parsed)) == [], "stored, not parsed"
    assert [key for key in parsed if parsed[key] != stored[key]] == []


def test_the_round_trip_covers_the_bundled_policy_the_corpus_and_the_unseen_documents():
    paths = round_trip_paths()
    assert len([p for p in paths if "unseen" in p.parts]) == 6
    if CORPUS.is_dir():
        assert len(paths) == 1 + 12 + 6


def _footnote(text: str, line: int) -> Statement:
    return Statement("footnote", 1, text, term="I.A*", provenance=Provenance(span=Span(line, line)))


def test_a_second_record_with_a_key_already_held_is_refused_naming_both_lines():
    first, second = _footnote("Prior authorization may be required.", 37), _footnote("Case studies ...", 40)
    with pytest.raises(DuplicateRecord) as refused:
        PolicyState.of([first, second], "policy.txt")
    assert str(refused.value).startswith("policy.txt: two statement records with the key 'footnote:I.A*'")
    assert "(lines 37 and 40)" in str(refused.value)


def test_repeats_of_an_identity_get_their_occurrence_in_the_key():
    """CC.PHARM.03A and CC.PHARM.03B in one continuity-of-care item: two records, two keys,
    the first keyed as it always was."""
    document = load_path(round_trip_paths()[1]) if CORPUS.is_dir() else None
    if document is None:
        pytest.skip(f"the policy corpus is not at {CORPUS}")
    continuity = [r for r in document.records if r.KIND == "cross_reference" and r.role == "continuity of care"]
    assert [(r.key, r.policy_ref) for r in continuity] == [
        ("II.A.1.b:continuity of care:all", "CC.PHARM.03A"),
        ("II.A.1.b:continuity of care:all#2", "CC.PHARM.03B"),
    ]


def test_two_items_with_one_number_are_both_stored_the_second_flagged(tmp_path: Path):
    """A misprinted list (1., 1., 3.): both items are kept, neither overwrites the other."""
    text = BUNDLED.read_text(encoding="utf-8").replace("2. Prescribed by", "1. Prescribed by", 1)
    path = tmp_path / BUNDLED.name
    path.write_text(text, encoding="utf-8")
    document = load_path(path)
    items = [(r.key, r.text) for r in document.records if r.KIND == "criterion" and r.item_id == "I.A.1"]
    assert items == [
        ("I.A.1", "Diagnosis of B-cell ALL;"),
        ("I.A.1#2", "Prescribed by or in consultation with an oncologist or hematologist;"),
    ]
    assert any(s.kind == "label" and "I.A.1#2" in s.reason for s in document.suspects)
    (tmp_path / "changes").mkdir()
    with KnowledgeBase(tmp_path / "kb.sqlite", changes=tmp_path / "changes") as kb:
        kb.load([path])
        stored, parsed = by_key(stored_records(kb, document.policy_id)), by_key(document.records)
    assert set(stored) == set(parsed)
    assert [key for key in parsed if stored[key] != parsed[key]] == [("criterion", "I.A.1#2")]
    second = stored[("criterion", "I.A.1#2")]  # labelled by its place, as the store labels every version
    assert (second["label"], second["raw_text"]) == (
        "2.",
        "1. Prescribed by or in consultation with an oncologist or hematologist;",
    )

"""Nothing lost at storage: what the knowledge base returns for a document (``kb show --json``)
is the parsed document, record by record (content, key and lines), for the bundled policy, every
corpus document and every unseen document. The figures are printed in pytest's summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.api import KnowledgeBase
from kb.errors import DuplicateRecord
from kb.model import PolicyState, Provenance, Span, Statement
from loaders.centene import load_path
from tests.conftest import CORPUS, round_trip_paths
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

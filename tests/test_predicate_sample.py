"""The hand-checked predicate sample (tests/predicate_sample.toml) against what the knowledge base stores."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from kb.api import KnowledgeBase, bundled_policy_paths
from kb.predicates import canonical, check, normalise

SAMPLE = Path(__file__).parent / "predicate_sample.toml"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "centene"
KEYS = {"policy", "text", "expected", "parent", "footnote"}


def entries() -> list[dict]:
    return tomllib.loads(SAMPLE.read_text(encoding="utf-8"))["sample"]


@pytest.fixture(scope="module")
def corpus_kb(tmp_path_factory):
    if not CORPUS.is_dir():
        pytest.skip("the corpus is not beside the checkout")
    kb = KnowledgeBase(tmp_path_factory.mktemp("sample") / "kb.sqlite")
    kb.load([*bundled_policy_paths(), *sorted(CORPUS.glob("*.txt"))])
    yield kb
    kb.close()


def stored(kb: KnowledgeBase, entry: dict) -> list[dict]:
    """The stored predicates of every row (any version) whose text and parent match the entry."""
    column = "footnote_text" if entry.get("footnote") else "text"
    rows = kb.connection.execute(
        f"SELECT c.{column} AS text, c.predicate, c.footnote_predicate, p.text AS parent FROM criterion c"
        " LEFT JOIN criterion p ON p.policy_id = c.policy_id AND p.item_id = c.parent_id"
        " AND p.valid_from <= c.valid_from AND (p.valid_to IS NULL OR p.valid_to > c.valid_from)"
        " WHERE c.policy_id = ? AND c.superseded_at IS NULL",
        (entry["policy"],),
    ).fetchall()
    found = [
        json.loads(row["footnote_predicate"] if entry.get("footnote") else row["predicate"])
        for row in rows
        if row["text"] is not None
        and normalise(row["text"]) == normalise(entry["text"])
        and ("parent" not in entry or (row["parent"] and normalise(row["parent"]) == normalise(entry["parent"])))
    ]
    return found


def test_the_sample_is_well_formed():
    for index, entry in enumerate(entries(), 1):
        assert set(entry) <= KEYS and {"policy", "text", "expected"} <= set(entry), f"entry {index}: keys {set(entry)}"
        check(json.loads(entry["expected"]), f"entry {index}")


def test_stored_predicates_equal_the_hand_checked_sample(corpus_kb):
    mismatches, missing = [], []
    for entry in entries():
        found = stored(corpus_kb, entry)
        if not found:
            missing.append(f"{entry['policy']}: {entry['text']!r}")
        expected = canonical(json.loads(entry["expected"]))
        mismatches += [
            f"{entry['policy']}: {entry['text']!r}\n  expected {json.dumps(expected)}\n  stored   {json.dumps(canonical(p))}"
            for p in found
            if canonical(p) != expected
        ]
    assert not missing, "texts not found in the knowledge base:\n" + "\n".join(missing)
    assert not mismatches, f"{len(mismatches)} misread:\n" + "\n".join(mismatches)

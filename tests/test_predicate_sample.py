"""The hand-checked predicate sample (tests/predicate_sample.toml) against what the knowledge base stores.

Every entry is compared; none is skipped. Texts match after the loader's own repair of the
flattened corpus (``loaders.flattened.repair_spacing``: "30, 000", "e. g. ,", "CP. CPA. 190")
and ``kb.predicates.normalise`` (case, spaces, marks, trailing list punctuation), so an entry
may be copied from the corpus as printed. Predicates compare in canonical form
(``kb.predicates.canonical``), with one allowance: ``review`` and ``never`` compare on their op
only, since their ``reason`` is free text that says why and is no part of the condition.

An entry the knowledge base legitimately cannot match carries ``unmatched = "why"``: it is
still compared and counted (as "explained"), and the test fails if it starts to match (the
explanation would then be stale). The figures (matched / entries, per policy) are printed in
the pytest summary.
"""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import PREDICATE_SCORES

from kb.predicates import canonical, check, normalise
from kb.surfaces.api import KnowledgeBase, bundled_policy_paths
from loaders.flattened import repair_spacing

SAMPLE = Path(__file__).parent / "predicate_sample.toml"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "centene"
KEYS = {"policy", "text", "expected", "parent", "footnote", "unmatched"}


def entries() -> list[dict]:
    return tomllib.loads(SAMPLE.read_text(encoding="utf-8"))["sample"]


def same_text(text: str) -> str:
    """A criterion's text as the test compares it: the loader's spacing repair, then ``normalise``."""
    return normalise(repair_spacing(text))


def comparable(p: Any) -> Any:
    """A canonical predicate with the free-text reasons of ``review`` and ``never`` left out."""
    if isinstance(p, list):
        return [comparable(item) for item in p]
    if not isinstance(p, dict):
        return p
    if p.get("op") in ("review", "never") and "fact" not in p:
        return {"op": p["op"]}
    return {key: comparable(value) for key, value in p.items()}


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
    text, parent = same_text(entry["text"]), same_text(entry["parent"]) if "parent" in entry else None
    return [
        json.loads(row["footnote_predicate"] if entry.get("footnote") else row["predicate"])
        for row in rows
        if row["text"] is not None
        and same_text(row["text"]) == text
        and (parent is None or (row["parent"] and same_text(row["parent"]) == parent))
    ]


def test_the_sample_is_well_formed():
    seen: dict[tuple, Any] = {}
    for index, entry in enumerate(entries(), 1):
        assert set(entry) <= KEYS and {"policy", "text", "expected"} <= set(entry), f"entry {index}: keys {set(entry)}"
        check(json.loads(entry["expected"]), f"entry {index}")
        # the same text may stand twice (initial and continued approval): both readings must agree
        key = (entry["policy"], same_text(entry["text"]), same_text(entry.get("parent", "")), entry.get("footnote"))
        reading = comparable(canonical(json.loads(entry["expected"])))
        assert seen.setdefault(key, reading) == reading, f"entry {index} reads {entry['text']!r} another way"


def test_comparable_ignores_reasons_only():
    review = {"op": "review", "reason": "a"}
    assert comparable({"op": "all", "args": [review]}) == comparable(
        {"op": "all", "args": [{"op": "review", "reason": "b"}]}
    )
    assert comparable({"op": "never", "reason": "x"}) != comparable(review)
    assert same_text("platelet count is < 30, 000/µL (e. g. , Nplate®),") == same_text(
        "Platelet count is < 30,000/µL (e.g., Nplate),"
    )


def test_stored_predicates_equal_the_hand_checked_sample(corpus_kb):
    mismatches, missing, stale = [], [], []
    matched, total, explained = Counter(), Counter(), Counter()
    for index, entry in enumerate(entries(), 1):
        policy = entry["policy"]
        total[policy] += 1
        found = stored(corpus_kb, entry)
        expected = comparable(canonical(json.loads(entry["expected"])))
        wrong = [comparable(canonical(p)) for p in found if comparable(canonical(p)) != expected]
        agrees = bool(found) and not wrong
        if agrees:
            matched[policy] += 1
        if "unmatched" in entry:
            explained[policy] += 1
            if agrees:
                stale.append(f"entry {index} {policy}: {entry['text']!r} now matches; drop its 'unmatched'")
            continue
        if not found:
            missing.append(f"entry {index} {policy}: {entry['text']!r}")
        mismatches += [
            f"entry {index} {policy}: {entry['text']!r}\n  expected {json.dumps(expected, ensure_ascii=False)}"
            f"\n  stored   {json.dumps(p, ensure_ascii=False)}"
            for p in wrong
        ]
    PREDICATE_SCORES[:] = [(policy, matched[policy], explained[policy], total[policy]) for policy in sorted(total)]
    assert not (missing or mismatches or stale), "\n".join(
        [f"{len(missing)} texts not found in the knowledge base:", *missing]
        + [f"{len(mismatches)} misread:", *mismatches]
        + [f"{len(stale)} explained as unmatched but now matching:", *stale]
    )

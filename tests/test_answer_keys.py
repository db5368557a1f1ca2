"""The loader against the answer keys of the 12 corpus documents (tests/answer_keys/), field by field.

The keys were written by people reading the documents, not from the loader's output. The
figure per file is printed in pytest's summary (see conftest.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CORPUS, KEY_SCORES

from loaders.centene import load_path
from tests.answer_key_scoring import score

KEYS = sorted((Path(__file__).parent / "answer_keys").glob("*.json"))
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the policy corpus is not at {CORPUS}")


@pytest.mark.parametrize("key_path", KEYS, ids=lambda p: p.stem)
def test_loader_reads_every_scored_field_of_the_answer_key(key_path: Path):
    key = json.loads(key_path.read_text(encoding="utf-8"))
    result = score(load_path(CORPUS / "centene" / key["file"]), key)
    KEY_SCORES.append(result)
    assert not result.wrong, f"{result}\n" + "\n".join(result.wrong)

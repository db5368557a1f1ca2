"""Property-based: mutated real documents and requests never give a traceback; each is refused
with a message naming the file (the knowledge base unchanged) or accepted with a true report."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.reliability.catalogue import REQUEST, try_batch, try_request
from kb.reliability.mutations import MUTATIONS, Verdict, try_document
from kb.surfaces.api import KnowledgeBase
from kb.surfaces.cli import cli
from tests.conftest import BUNDLED

TEXT = BUNDLED.read_text(encoding="utf-8")
BOUNDED = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
mutation = st.sampled_from(sorted(MUTATIONS))
choice = st.integers(min_value=0, max_value=10**6)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "kb.sqlite"
    KnowledgeBase(path).load()
    return path


@BOUNDED
@given(steps=st.lists(st.tuples(mutation, choice, choice), min_size=1, max_size=3))
def test_mutated_documents(base, steps):
    text = TEXT
    for name, a, b in steps:
        text = MUTATIONS[name](text, a, b)
    with tempfile.TemporaryDirectory() as folder:
        verdict = try_document(base, Path(folder), text)
    assert verdict.outcome in ("refused", "loaded"), verdict.detail


def _judged(base: Path, name: str, content: bytes, judge: Callable[..., Verdict]) -> Verdict:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        return judge(cli, base, path)


@BOUNDED
@given(name=mutation, a=choice, b=choice, text=st.text(max_size=40))
def test_mutated_requests(base, name, a, b, text):
    source = json.dumps(REQUEST | {"request_id": text}, indent=2, ensure_ascii=False)
    verdict = _judged(base, "request.json", MUTATIONS[name](source, a, b).encode("utf-8"), try_request)
    assert verdict.outcome in ("refused", "decided"), verdict.detail


@BOUNDED
@given(name=mutation, a=choice, b=choice, extra=st.binary(max_size=30))
def test_mutated_batches(base, name, a, b, extra):
    lines = "\n".join(json.dumps(REQUEST | {"request_id": f"r{i}"}) for i in range(4))
    content = MUTATIONS[name](lines, a, b).encode("utf-8") + b"\n" + extra
    verdict = _judged(base, "requests.jsonl", content, try_batch)
    assert verdict.outcome in ("refused", "decided"), verdict.detail

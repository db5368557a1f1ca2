"""Shared fixtures: the bundled document, its timeline, and a loaded knowledge base."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kb.model import PolicyDocument
from kb.surfaces.api import KnowledgeBase, bundled_policy_paths
from loaders.centene import load_path
from revisions.changes import load_changesets
from revisions.timeline import Timeline, build_timeline
from tests.answer_key_scoring import KEY_SCORES
from tests.stored_records import ROUND_TRIPS

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
BUNDLED = bundled_policy_paths()[0]
PREDICATE_SCORES: list = []
"""Predicate-sample figures of this run (tests/test_predicate_sample.py): (policy, matched,
explained as unmatched, entries), printed in the summary."""


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    groups = {"corpus": "12 corpus documents", "unseen": "6 unseen documents (tests/fixtures/unseen)"}
    for group, title in groups.items():
        scores = sorted((r for r in KEY_SCORES if r.group == group), key=lambda r: r.policy)
        if not scores:
            continue
        terminalreporter.section(f"answer keys, {title}: fields right / fields")
        for result in scores:
            terminalreporter.write_line(str(result))
        right, total = sum(r.right for r in scores), sum(r.fields for r in scores)
        terminalreporter.write_line(f"all: {right}/{total} ({right / total:.1%})")
    if ROUND_TRIPS:
        terminalreporter.section("round trip: parsed records = stored records (kb show)")
        for policy, parsed, stored in sorted(ROUND_TRIPS):
            terminalreporter.write_line(
                f"{policy:<14} parsed {parsed} {'=' if parsed == stored else '!='} stored {stored}"
            )
    if PREDICATE_SCORES:
        terminalreporter.section("predicate sample: stored predicate = hand-checked / entries")
        for policy, right, explained, total in PREDICATE_SCORES:
            terminalreporter.write_line(f"{policy:<14} {right:>3}/{total:<3} ({explained} explained as unmatched)")
        right = sum(r[1] for r in PREDICATE_SCORES)
        explained, total = sum(r[2] for r in PREDICATE_SCORES), sum(r[3] for r in PREDICATE_SCORES)
        terminalreporter.write_line(
            f"all: {right}/{total} matched ({right / total:.1%}); {explained} explained as unmatched"
        )


CHANGES = Path(__file__).resolve().parents[1] / "kb" / "data" / "changes" / "CP.PHAR.359"


@pytest.fixture(scope="session")
def document() -> PolicyDocument:
    return load_path(BUNDLED)


@pytest.fixture(scope="session")
def timeline(document: PolicyDocument) -> Timeline:
    return build_timeline([document], load_changesets(CHANGES))


@pytest.fixture(scope="session")
def loaded_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    kb = KnowledgeBase(tmp_path_factory.mktemp("kb") / "kb.sqlite")
    kb.load()
    return kb


UNSEEN = FIXTURES / "unseen"


def round_trip_paths() -> list[Path]:
    """The bundled policy, the corpus documents (where the corpus is) and the unseen documents."""
    return [BUNDLED, *sorted(CORPUS.glob("centene/*.txt")), *sorted(UNSEEN.glob("*.txt"))]


@pytest.fixture(scope="session")
def documents_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    """A knowledge base holding every document of ``round_trip_paths``."""
    kb = KnowledgeBase(tmp_path_factory.mktemp("documents") / "kb.sqlite")
    kb.load(round_trip_paths())
    return kb


@pytest.fixture(scope="module")
def site(loaded_kb: KnowledgeBase):
    """The Datasette site of the loaded knowledge base, in process, with the project's metadata."""
    import asyncio

    from datasette.app import Datasette

    metadata = json.loads((ROOT / "datasette_metadata.json").read_text(encoding="utf-8"))
    datasette = Datasette(immutables=[str(loaded_kb.path)], metadata=metadata)
    asyncio.run(datasette.invoke_startup())
    return datasette


@pytest.fixture
def fresh_kb(tmp_path: Path) -> KnowledgeBase:
    with KnowledgeBase(tmp_path / "kb.sqlite") as kb:
        yield kb


@pytest.fixture
def run(loaded_kb: KnowledgeBase):
    """Invoke the ``kb`` command on the loaded knowledge base; its output (it must succeed)."""
    from click.testing import CliRunner

    from kb.surfaces.cli import cli

    def invoke(*args: str) -> str:
        result = CliRunner().invoke(cli, [*args, "--db", str(loaded_kb.path)])
        assert result.exit_code == 0, result.output
        return result.output

    return invoke

"""Loads publish a staged copy by rename: readers never see a torn file; loads wait for each other."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.bench.synthetic import generate
from kb.errors import KnowledgeBaseBusy, NotAKnowledgeBase, SourceError
from kb.reliability.kills import kill_loads, open_served, state
from kb.store import load as kb_load
from kb.store.staging import check_database, recover
from kb.surfaces.api import KnowledgeBase
from kb.surfaces.cli import cli
from kb.surfaces.cli import tools as cli_tools
from tests.conftest import BUNDLED

ROOT = Path(__file__).resolve().parents[1]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synthetic")
    return generate(folder, 2, 7), folder / "changes"


@pytest.fixture
def base(tmp_path):
    path = tmp_path / "kb.sqlite"
    KnowledgeBase(path).load()
    return path


def _policies(path: Path) -> list[str]:
    with open_served(path) as connection:
        return [row[0] for row in connection.execute("SELECT policy_id FROM policy ORDER BY policy_id")]


def test_a_running_reader_keeps_the_old_file_whole(base, corpus):
    paths, changes = corpus
    running = open_served(base)
    before = state(running)
    with KnowledgeBase(base, changes=changes) as kb:
        kb.load(paths[:1])
    assert state(running) == before  # the file it opened was never written
    running.close()
    assert len(_policies(base)) == 2 and state(open_served(base)) != before
    assert [p.name for p in base.parent.iterdir() if ".staging-" in p.name] == []


def test_loading_the_same_document_again_publishes_nothing(base):
    inode = base.stat().st_ino
    with KnowledgeBase(base) as kb:
        assert not any(report.changed for report in kb.load())
    assert base.stat().st_ino == inode


def _hold_lock(path: Path) -> subprocess.Popen:
    code = (
        "import sys, time\nfrom pathlib import Path\nfrom kb.store.staging import writer_lock\n"
        "with writer_lock(Path(sys.argv[1]), 0):\n    print('held', flush=True)\n    time.sleep(60)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_load_waits_then_names_the_holder(base, corpus):
    paths, changes = corpus
    before = _digest(base)
    holder = _hold_lock(base)
    try:
        with pytest.raises(KnowledgeBaseBusy) as caught, KnowledgeBase(base, changes=changes, wait=0.3) as kb:
            kb.load(paths[:1])
        assert f"pid {holder.pid} (-c " in str(caught.value) and "waited 0.3 s" in str(caught.value)
        result = CliRunner().invoke(cli, ["load", str(paths[0]), "--db", str(base), "--wait", "0.2"])
        assert result.exit_code == 1 and f"being written by another load: pid {holder.pid}" in result.output
        assert _digest(base) == before
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with KnowledgeBase(base, changes=changes, wait=0.3) as kb:  # the lock died with its holder
        assert kb.load(paths[:1])[0].changed


def test_a_load_that_loses_the_race_runs_again_on_the_winners_file(base, corpus, monkeypatch):
    paths, changes = corpus
    original = kb_load.staged
    raced = []

    @contextmanager
    def another_load_publishes_meanwhile(target: Path):
        with original(target) as stage:
            if not raced:
                raced.append(stage)
                with KnowledgeBase(base, changes=changes) as other:
                    other.load(paths[1:2])
            yield stage

    monkeypatch.setattr(kb_load, "staged", another_load_publishes_meanwhile)
    with KnowledgeBase(base, changes=changes) as kb:
        kb.load(paths[:1])
    assert raced and len(_policies(base)) == 3  # the bundled policy and both loads: nothing lost


def test_stale_staging_files_of_dead_loads_are_removed(base):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = base.with_name(f".{base.name}.staging-{finished.stdout.strip()}")
    stale.write_bytes(b"half a load")
    with KnowledgeBase(base) as kb:
        kb.load()
    assert not stale.exists()


def _kill_an_in_place_writer(path: Path) -> None:
    """What versions before staged loads left: a write in place killed before its commit (a hot journal)."""
    code = (
        "import os, signal, sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('PRAGMA cache_size=1')\nc.execute('BEGIN IMMEDIATE')\n"
        "c.execute(\"UPDATE criterion SET text = 'torn ' || text\")\n"
        "c.execute(\"UPDATE policy SET title = 'torn ' || title\")\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], check=False)


def _torn(path: Path) -> int:
    with open_served(path) as connection:
        return connection.execute(
            "SELECT (SELECT COUNT(*) FROM criterion WHERE text LIKE 'torn %')"
            " + (SELECT COUNT(*) FROM policy WHERE title LIKE 'torn %')"
        ).fetchone()[0]


def _served_torn(path: Path) -> bool:
    """Does an immutable open serve a torn file: uncommitted rows, or pages so mixed that SQLite
    calls the file malformed (which of the two depends on which pages the killed writer spilled)?"""
    try:
        return _torn(path) > 0
    except sqlite3.DatabaseError:
        return True


def test_serve_recovers_a_hot_journal_with_a_normal_open(base, monkeypatch):
    before = state(open_served(base))
    _kill_an_in_place_writer(base)
    assert base.with_name(base.name + "-journal").exists()
    assert _served_torn(base)  # an immutable open ignores the journal: it would serve a torn file
    executed = []
    monkeypatch.setattr(cli_tools.os, "execvp", lambda *args: executed.append(args))
    result = CliRunner().invoke(cli, ["serve", "--db", str(base)])
    assert result.exit_code == 0 and executed
    assert not base.with_name(base.name + "-journal").exists()
    assert state(open_served(base)) == before and _torn(base) == 0


def test_a_load_recovers_a_hot_journal_before_copying(base, corpus):
    paths, changes = corpus
    _kill_an_in_place_writer(base)
    with KnowledgeBase(base, changes=changes) as kb:
        kb.load(paths[:1])
    assert not isinstance(state(open_served(base)), str) and _torn(base) == 0


def test_files_that_are_not_knowledge_bases_are_refused(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 100)
    with pytest.raises(NotAKnowledgeBase, match="expected a SQLite knowledge base"):
        check_database(text)
    with pytest.raises(NotAKnowledgeBase, match="found a directory"):
        check_database(tmp_path)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE songs (title TEXT)")
    with pytest.raises(NotAKnowledgeBase, match="other tables"):
        check_database(other)
    before = _digest(other)
    result = CliRunner().invoke(cli, ["load", "--db", str(other)])
    assert result.exit_code == 1 and "expected a knowledge base" in result.output and _digest(other) == before
    recover(text)  # nothing beside it to recover: untouched
    assert text.read_text().startswith("not a database")


def test_kills_at_random_moments_leave_every_reader_a_whole_state(tmp_path):
    kills = kill_loads(tmp_path, count=20)
    assert [k for k in kills if not k.survived] == []
    assert {k.new_reader for k in kills} == {"old", "new"}
    assert sum(k.while_writing for k in kills) >= 5  # the kills do land while the load writes


def test_a_read_command_sees_the_published_file(base, corpus):
    paths, changes = corpus
    with KnowledgeBase(base, changes=changes) as kb:
        kb.policies()  # a connection to the file before the load
        kb.load(paths[:1])
        assert len(kb.policies()) == 2


def test_a_directory_without_write_access_is_named(base, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    folder = tmp_path / "read-only"
    folder.mkdir()
    shutil.copy(base, folder / "kb.sqlite")
    folder.chmod(0o555)
    try:
        result = CliRunner().invoke(cli, ["load", "--db", str(folder / "kb.sqlite")])
    finally:
        folder.chmod(0o755)
    assert result.exit_code == 1 and "Permission denied" in result.output and "Traceback" not in result.output


def test_a_bad_file_after_a_good_one_stores_nothing_of_the_command(base, corpus, tmp_path):
    """The good policy is written into the staging copy before the bad one fails: the copy is discarded."""
    paths, changes = corpus
    cut = tmp_path / "cut.txt"
    text = BUNDLED.read_text(encoding="utf-8")
    cut.write_text(text[: len(text) // 2], encoding="utf-8")
    before = _digest(base)
    with pytest.raises(SourceError, match="missing the revision-log table"), KnowledgeBase(base, changes=changes) as kb:
        kb.load([paths[0], cut], workers=1)
    assert _digest(base) == before and _policies(base) == ["CP.PHAR.359"]
    assert [p.name for p in base.parent.iterdir() if ".staging-" in p.name] == []

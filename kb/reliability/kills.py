"""Kill a load at random moments (SIGKILL) and check what readers of the knowledge base see.

Each trial starts from a knowledge base holding the bundled policy (the old state) and loads
a synthetic corpus into it (the new state, as an uninterrupted load leaves it) in a forked
process, killed at a moment of one of three phases, taken in turn so that every run covers
each whatever the machine's speed: at a random delay from the start, a random delay after the
staging copy appears (while the load writes), and right after the load publishes. Two readers
are checked, both opened as ``kb serve`` opens the file (immutable): one opened before the
load, as a running server is, and one opened on the path after the kill, as a restarted
server is. Each must pass SQLite's ``integrity_check`` and show the old or the new state,
never a mix.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import shutil
import signal
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kb.bench.synthetic import generate
from kb.store.staging import STAGING
from kb.surfaces.api import KnowledgeBase

State = tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Kill:
    """One trial: when the kill landed and what each reader saw ("old", "new", "mixed" or "damaged: ...")."""

    delay: float
    while_writing: bool
    running_reader: str
    new_reader: str

    @property
    def survived(self) -> bool:
        return self.running_reader == "old" and self.new_reader in ("old", "new")


def open_served(path: Path) -> sqlite3.Connection:
    """A connection as ``kb serve`` (Datasette ``-i``) opens the file: immutable."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True)


def state(connection: sqlite3.Connection) -> State | str:
    """Every table's row count, or "damaged: ..." when the file fails its integrity check."""
    try:
        verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
        if verdict != "ok":
            return f"damaged: {verdict}"
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return tuple(sorted((t, connection.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]) for t in tables))
    except sqlite3.DatabaseError as error:
        return f"damaged: {error}"


def _name(seen: State | str, old: State, new: State) -> str:
    if isinstance(seen, str):
        return seen
    return "old" if seen == old else "new" if seen == new else "mixed"


def _load(path: Path, changes: Path, documents: list[Path]) -> Callable[[], None]:
    def run() -> None:
        KnowledgeBase(path, changes=changes).load(documents, workers=1)

    return run


PHASES = ("any time", "while writing", "after publishing")


def _staging(path: Path) -> bool:
    """Whether a load's staging copy of ``path`` exists (the load is writing)."""
    return any(path.parent.glob(f".{path.name}{STAGING}*"))


def _wait_until(condition: Callable[[], bool], loader: multiprocessing.process.BaseProcess, limit: float) -> None:
    """Poll ``condition`` every millisecond until it holds, the loader ends, or ``limit`` seconds pass."""
    deadline = time.perf_counter() + limit
    while not condition() and loader.is_alive() and time.perf_counter() < deadline:
        time.sleep(0.001)


def _await_phase(
    phase: str, path: Path, loader: multiprocessing.process.BaseProcess, pick: random.Random, duration: float
) -> None:
    """Return at a moment of ``phase`` of the load into ``path``: any time (a random delay from
    the start), while it writes (a random delay once its staging copy appears) or after it
    publishes (its staging copy gone again)."""
    limit = duration * 10 + 5
    if phase == "any time":
        time.sleep(pick.uniform(0, duration * 1.1))
        return
    _wait_until(lambda: _staging(path), loader, limit)
    if phase == "while writing":
        time.sleep(pick.uniform(0, duration * 0.2))
    else:
        _wait_until(lambda: not _staging(path), loader, limit)


def kill_loads(scratch: Path, count: int = 20, policies: int = 20, seed: int = 16) -> list[Kill]:
    """``count`` loads of ``policies`` synthetic policies, each killed after a random delay."""
    fork = multiprocessing.get_context("fork")
    documents = generate(scratch / "corpus", policies, 7)
    changes = scratch / "corpus" / "changes"
    base = scratch / "base.sqlite"
    KnowledgeBase(base).load()
    old = state(open_served(base))
    full = scratch / "full" / "kb.sqlite"
    full.parent.mkdir()
    shutil.copy(base, full)
    start = time.perf_counter()
    loader = fork.Process(target=_load(full, changes, documents))
    loader.start()
    loader.join()
    duration = time.perf_counter() - start
    new = state(open_served(full))
    if loader.exitcode != 0 or isinstance(old, str) or isinstance(new, str) or old == new:
        raise RuntimeError(f"the uninterrupted load did not give a new state (exit {loader.exitcode})")
    pick = random.Random(seed)
    kills = []
    for trial in range(count):
        path = scratch / f"trial-{trial}" / "kb.sqlite"
        path.parent.mkdir()
        shutil.copy(base, path)
        running = open_served(path)
        state(running)
        loader = fork.Process(target=_load(path, changes, documents))
        started = time.perf_counter()
        loader.start()
        _await_phase(PHASES[trial % len(PHASES)], path, loader, pick, duration)
        writing = _staging(path)
        os.kill(loader.pid, signal.SIGKILL)
        delay = time.perf_counter() - started
        loader.join()
        kills.append(Kill(delay, writing, _name(state(running), old, new), _name(state(open_served(path)), old, new)))
        running.close()
    return kills

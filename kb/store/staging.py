"""A load never writes the file it may be serving: it writes a private copy and publishes it by rename.

``staged`` copies the knowledge base (when there is one) to a staging file beside it; the load
writes there; ``Stage.publish`` makes the copy durable and puts it in place with one
``os.replace``. A reader that opened the old file keeps reading it whole (its inode lives on
while it is open), one that opens the path afterwards reads the new file, and a load killed at
any moment leaves the published file as it was (plus a staging file the next load removes).
``writer_lock`` serialises the publishing step; its note names the holder for a load that waits.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
import sqlite3
import stat
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kb.dates import utc_now
from kb.errors import KnowledgeBaseBusy, NotAKnowledgeBase

STAGING = ".staging-"
Identity = tuple[int, int, int, int]
"""(device, inode, size, modification time in ns): which file a path names, and whether it changed."""


def identity(path: Path) -> Identity | None:
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)


def companions(path: Path) -> tuple[Path, Path]:
    """The rollback journal and the write-ahead log SQLite keeps beside ``path``."""
    return path.with_name(path.name + "-journal"), path.with_name(path.name + "-wal")


@dataclass
class Stage:
    """A private copy of ``target`` (``path``), and the identity of the file it was copied from."""

    target: Path
    path: Path
    base: Identity | None

    def publish(self) -> bool:
        """Put the copy in place, if ``target`` is still the file it was copied from (call under
        ``writer_lock``); False when another load published first."""
        if identity(self.target) != self.base:
            return False
        with self.path.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(self.path, self.target)
        directory = os.open(self.target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return True


@contextmanager
def staged(target: Path) -> Iterator[Stage]:
    """A staging copy of ``target`` (no file when there is none yet), removed unless published."""
    check_database(target)
    remove_stale(target)
    staging = target.with_name(f".{target.name}{STAGING}{os.getpid()}-{secrets.token_hex(4)}")
    for leftover in (staging, *companions(staging)):
        leftover.unlink(missing_ok=True)
    try:
        yield Stage(target, staging, copy_database(target, staging))
    finally:
        for leftover in (staging, *companions(staging)):
            leftover.unlink(missing_ok=True)


def copy_database(source: Path, destination: Path) -> Identity | None:
    """Copy ``source`` (never written in place, so a plain file copy is consistent) in the kernel
    where it can; the identity of the file copied (None: no file)."""
    try:
        reader = source.open("rb")
    except FileNotFoundError:
        return None
    with reader, destination.open("wb") as writer:
        status = os.fstat(reader.fileno())
        try:
            copied = 0
            while copied < status.st_size:
                step = os.copy_file_range(reader.fileno(), writer.fileno(), status.st_size - copied)
                if step == 0:
                    break
                copied += step
        except OSError:
            reader.seek(0)
            writer.seek(0)
            writer.truncate()
            shutil.copyfileobj(reader, writer, 1 << 20)
        os.chmod(destination, stat.S_IMODE(status.st_mode))
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)


def remove_stale(target: Path) -> None:
    """Remove staging files left by loads that were killed (their process is gone)."""
    for leftover in target.parent.glob(f".{target.name}{STAGING}*"):
        pid = leftover.name.rsplit(STAGING, 1)[1].split("-")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            leftover.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover(target: Path) -> None:
    """Roll back a hot journal (left by a writer killed while writing ``target`` in place, as
    versions before staged loads did) with a normal open, and fold a write-ahead log into the
    file, so that a copy or an immutable reader sees the committed state; refuse a damaged file."""
    if not any(path.exists() for path in companions(target)) or not target.exists():
        return
    try:
        connection = sqlite3.connect(target, isolation_level=None)
        try:
            if connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                connection.execute("PRAGMA journal_mode=DELETE")
            verdict = connection.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise NotAKnowledgeBase(str(target), f"a recoverable SQLite file ({error})") from error
    if verdict != "ok":
        raise NotAKnowledgeBase(str(target), f"an undamaged SQLite file (integrity check: {verdict})")


def lock_path(target: Path) -> Path:
    return target.with_name(target.name + ".lock")


@contextmanager
def writer_lock(target: Path, wait: float) -> Iterator[None]:
    """Hold the knowledge base's writer lock, waiting up to ``wait`` seconds for another holder;
    the lock file's note says who holds it (pid, command, since when)."""
    with lock_path(target).open("a+", encoding="utf-8") as handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise KnowledgeBaseBusy(str(target), holder(target), wait) from None
                time.sleep(0.05)
        handle.truncate(0)
        handle.write(json.dumps(_note()))
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)


def _note() -> dict[str, object]:
    command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv and sys.argv[0] else "python"
    return {"pid": os.getpid(), "command": command, "since": utc_now().isoformat(timespec="seconds")}


def holder(target: Path) -> str:
    """Who holds the writer lock, as its note tells (a note may be missing if the holder is starting)."""
    try:
        note = json.loads(lock_path(target).read_text(encoding="utf-8"))
        return f"pid {note['pid']} ({note['command']}), since {note['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that left no note"


def check_database(path: Path) -> None:
    """Refuse a file that is not SQLite, or a SQLite file that is not a knowledge base (after
    recovering what a writer killed in the middle of writing it in place left behind)."""
    if not path.parent.is_dir():
        raise NotAKnowledgeBase(str(path), "a knowledge base file in an existing folder", f"no folder {path.parent}")
    if not path.exists():
        return
    if path.is_dir():
        raise NotAKnowledgeBase(str(path), "a knowledge base file", "a directory")
    recover(path)
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise NotAKnowledgeBase(str(path), "a SQLite knowledge base (made by `kb load`)", str(error)) from error
    if tables and "policy" not in tables:
        raise NotAKnowledgeBase(
            str(path), "a knowledge base (made by `kb load`)", f"a SQLite database of other tables ({len(tables)})"
        )

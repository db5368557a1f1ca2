"""One published state at a time: the site follows the file ``kb load`` publishes by rename.

A load writes a new file and renames it over the served one (``kb.store.staging``). Datasette opens
an immutable database once and keeps its connections for good, so its pages (canned queries,
tables) would go on reading the replaced file, deleted but held open, while the project's pages
open the path afresh and read the new one. Here the served database is a ``PublishedFile``:
before each request the path is looked at (one ``stat``), and when it names another file the
database is replaced by one on the new file, with connections of its own. Every page then reads
the new state; the old file is released at once, or, if a request is still reading it, when
the garbage collector next runs after that request.
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
from collections.abc import Callable
from typing import Any

from datasette.database import Database


def file_identity(path: str) -> tuple[int, int, int, int] | None:
    """What tells one published file from the next: device, inode, size, modification time."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns


class PublishedFile(Database):
    """An immutable database on the file its path names now, with connections of its own (per
    thread), so that a newer instance never reuses a connection to an older file."""

    def __init__(self, datasette: Any, path: str) -> None:
        super().__init__(datasette, path=path, is_mutable=False)
        self.identity = file_identity(path)
        self._threads = threading.local()

    async def execute_fn(self, fn: Callable[[Any], Any]) -> Any:
        if self.ds.executor is None:
            return await super().execute_fn(fn)

        def in_thread() -> Any:
            connection = getattr(self._threads, "connection", None)
            if connection is None:
                connection = self._threads.connection = self.connect()
                self.ds._prepare_connection(connection, self.name)
            return fn(connection)

        return await asyncio.get_running_loop().run_in_executor(self.ds.executor, in_thread)


def _stale(database: Database) -> bool:
    """Is this an immutable file database whose path now names another file (or one not yet followed)?"""
    if database.is_mutable or database.is_memory or not database.path:
        return False
    return not isinstance(database, PublishedFile) or database.identity != file_identity(database.path)


def _replace(datasette: Any, name: str) -> None:
    old = datasette.databases[name]
    current = PublishedFile(datasette, old.path)
    current.name, current.route = name, old.route
    datasette.databases = {**datasette.databases, name: current}


def follow_published(datasette: Any) -> None:
    """Serve, for every immutable database, the file its path names now."""
    stale = [name for name, database in datasette.databases.items() if _stale(database)]
    for name in stale:
        _replace(datasette, name)
    if stale:
        gc.collect()  # a replaced database sits in reference cycles: collected, its file is closed

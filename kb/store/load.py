"""A load planned and written: each policy's documents parsed and its timeline built in worker
processes (pure), the plans written into a staging copy of the knowledge base and published by
rename (``kb.store.staging``), so the file a reader has open is never written.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from kb.model import PolicyDocument
from kb.store.search import ensure_index, passages, store_passages
from kb.store.staging import staged, writer_lock
from kb.store.write import LoadReport, Plan, connect, store_policy, transaction
from loaders.centene import load_path, load_text
from loaders.source import DEFAULT_READ, ReadOptions
from revisions.changes import ChangeSet, load_changesets
from revisions.timeline import build_timeline

DATA = Path(__file__).resolve().parents[1] / "data"
BUNDLED_POLICIES = DATA / "policies"
BUNDLED_CHANGES = DATA / "changes"


def bundled_policy_paths() -> list[Path]:
    """The project's default data: the bundled policy documents."""
    return sorted(BUNDLED_POLICIES.glob("*.txt"))


@dataclass(frozen=True)
class LoadSettings:
    """What every policy of one load shares: its change data, effective-date rule, read limits and
    how long to wait for another load to publish."""

    changes: Path
    rule: str
    options: ReadOptions
    wait: float


T = TypeVar("T")
R = TypeVar("R")
@dataclass(frozen=True)
class PolicyJob:
    """One policy of a load: its new files, the documents already stored, where its change data is."""

    policy_id: str
    paths: tuple[Path, ...]
    stored: tuple[tuple[str, str, str], ...]
    changes: Path
    rule: str
    options: ReadOptions = DEFAULT_READ


STORED = ReadOptions(max_bytes=sys.maxsize, allow_control_characters=True)
"""A stored document was accepted when it was loaded: reading it again applies no limit."""


def in_order(documents: list[PolicyDocument]) -> list[PolicyDocument]:
    """A policy's documents oldest first: by Last Review, then by their newest log row."""
    return sorted(
        documents,
        key=lambda d: (d.header.last_review, max(r.date for r in d.revision_log) if d.revision_log else date.min),
    )


def plan_policy(job: PolicyJob) -> Plan:
    """Parse a policy's documents and build its timeline and rows (pure: runs in a worker process)."""
    new = [load_path(path, job.options) for path in job.paths]
    fresh = {document.sha256 for document in new}
    known = [load_text(path, text, STORED) for sha256, path, text in job.stored if sha256 not in fresh]
    every = in_order([*known, *new])
    return Plan.of(every, build_timeline(every, changesets_of(job.changes, job.policy_id), job.rule))


def changesets_of(folder: Path, policy_id: str) -> list[ChangeSet]:
    """A policy's change data (none where it has no folder)."""
    return load_changesets(folder / policy_id) if (folder / policy_id).is_dir() else []


def plan_with_passages(job: PolicyJob) -> tuple[Plan, list[dict[str, Any]]]:
    """A policy's plan and its searchable passages (pure: runs in a worker process)."""
    plan = plan_policy(job)
    return plan, passages(plan.timeline.policy_id, plan.rows)


def parallel(function: Callable[[T], R], items: list[T], workers: int) -> Iterator[R]:
    """``map`` in ``workers`` processes, in order; in this process for a few items."""
    if workers <= 1 or len(items) < 32:
        yield from map(function, items)
        return
    with ProcessPoolExecutor(workers) as pool:
        yield from pool.map(function, items, chunksize=max(1, len(items) // (workers * 16)))


def store_plan(connection: sqlite3.Connection, plan: Plan, found: list[dict[str, Any]], stamp: str) -> LoadReport:
    """Write one policy's plan, and its passages when they changed (or were never indexed)."""
    report = store_policy(connection, plan, stamp)
    indexed = connection.execute("SELECT 1 FROM passage WHERE policy_id = ? LIMIT 1", (report.policy_id,))
    if report.changed or indexed.fetchone() is None:
        store_passages(connection, report.policy_id, found)
    return report


def stored_texts(connection: sqlite3.Connection, policy_id: str) -> tuple[tuple[str, str, str], ...]:
    """A policy's stored documents: (sha256, path, text) each."""
    rows = connection.execute("SELECT sha256, path, text FROM source_document WHERE policy_id = ?", (policy_id,))
    return tuple((row["sha256"], row["path"], row["text"]) for row in rows)


def load_staged(
    path: Path, groups: dict[str, list[Path]], settings: LoadSettings, stamp: str, workers: int, locked: bool
) -> list[LoadReport] | None:
    """One attempt: store into a staging copy and publish it; None if another load published first."""
    with staged(path) as stage:
        connection = connect(stage.path)
        try:
            connection.execute("PRAGMA journal_mode=MEMORY")  # a private file: a crash discards it whole
            connection.execute("PRAGMA synchronous=OFF")  # made durable once, before it is published
            jobs = [
                PolicyJob(
                    policy_id,
                    tuple(group),
                    stored_texts(connection, policy_id),
                    settings.changes,
                    settings.rule,
                    settings.options,
                )
                for policy_id, group in groups.items()
            ]
            ensure_index(connection)
            with transaction(connection):
                reports = [
                    store_plan(connection, plan, found, stamp)
                    for plan, found in parallel(plan_with_passages, jobs, workers)
                ]
        finally:
            connection.close()
        if not any(report.changed for report in reports):
            return reports
        with nullcontext() if locked else writer_lock(path, settings.wait):
            return reports if stage.publish() else None

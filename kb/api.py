"""The Python API: every operation the CLI offers, as methods of ``KnowledgeBase``.

>>> kb = KnowledgeBase("kb.sqlite")
>>> kb.load()                      # the bundled policy
>>> kb.as_of("CP.PHAR.359", "2024-08-01").criteria()
"""

from __future__ import annotations

import os
import sqlite3
import sys
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from kb.asof import FOREVER, Answer, as_of, rule_dependent
from kb.audit import audit_diff
from kb.compiled import compile_rules
from kb.dates import to_date, to_timestamp, utc_now
from kb.diff import Diff, diff_answers
from kb.errors import MissingKnowledgeBase, UnknownPolicy, UnknownVersion
from kb.evaluate import Decision, RuleSet, evaluate
from kb.facts import Request
from kb.search import ensure_index, passages, store_passages
from kb.store import LoadReport, Plan, connect, store_policy, transaction
from loaders.centene import load_path, load_text, policy_id_of
from loaders.source import DEFAULT_READ, ReadOptions
from revisions.changes import load_changesets
from revisions.log import DEFAULT_RULE, RULES
from revisions.timeline import build_timeline

T = TypeVar("T")
R = TypeVar("R")
DATA = Path(__file__).parent / "data"
BUNDLED_POLICIES = DATA / "policies"
BUNDLED_CHANGES = DATA / "changes"


def bundled_policy_paths() -> list[Path]:
    return sorted(BUNDLED_POLICIES.glob("*.txt"))


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


def plan_policy(job: PolicyJob) -> Plan:
    """Parse a policy's documents and build its timeline and rows (pure: runs in a worker process)."""
    new = [load_path(path, job.options) for path in job.paths]
    fresh = {document.sha256 for document in new}
    known = [load_text(path, text, STORED) for sha256, path, text in job.stored if sha256 not in fresh]
    every = sorted(
        [*known, *new], key=lambda d: (d.header.last_review, d.revision_log[-1].date if d.revision_log else date.min)
    )
    folder = job.changes / job.policy_id
    changesets = load_changesets(folder) if folder.is_dir() else []
    return Plan.of(every, build_timeline(every, changesets, job.rule))


def plan_with_passages(job: PolicyJob) -> tuple[Plan, list[dict[str, Any]]]:
    """A policy's plan and its searchable passages (pure: runs in a worker process)."""
    plan = plan_policy(job)
    return plan, passages(plan.timeline.policy_id, plan.rows)


def _parallel(function: Callable[[T], R], items: list[T], workers: int) -> Iterator[R]:
    """``map`` in ``workers`` processes, in order; in this process for a few items."""
    if workers <= 1 or len(items) < 32:
        yield from map(function, items)
        return
    with ProcessPoolExecutor(workers) as pool:
        yield from pool.map(function, items, chunksize=max(1, len(items) // (workers * 16)))


class KnowledgeBase:
    """A knowledge base in one SQLite file: created by the first load, never by a read."""

    def __init__(
        self,
        path: str | Path = "kb.sqlite",
        changes: Path = BUNDLED_CHANGES,
        rule: str = DEFAULT_RULE,
        read_only: bool = False,
    ) -> None:
        if rule not in RULES:
            raise ValueError(f"unknown effective-date rule {rule!r}; expected one of {', '.join(RULES)}")
        self.path = Path(path)
        self.changes = changes
        self.rule = rule
        self.read_only = read_only
        self._connection: sqlite3.Connection | None = None
        self._rules: dict[tuple[str, str, str | None], RuleSet] = {}
        self._windows: dict[tuple[str, str | None], list[tuple[str, str | None, str]]] = {}
        self._pending_windows: dict[tuple[str, date, str, str | None], list[dict[str, Any]]] = {}

    @property
    def connection(self) -> sqlite3.Connection:
        """The open knowledge base; a missing file is an error (only ``load`` creates one)."""
        if self._connection is None:
            if not self.path.is_file():
                raise MissingKnowledgeBase(str(self.path))
            self._connection = connect(self.path, self.read_only)
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def load(
        self,
        paths: Iterable[str | Path] | None = None,
        now: datetime | None = None,
        workers: int | None = None,
        options: ReadOptions = DEFAULT_READ,
    ) -> list[LoadReport]:
        """Parse and store every file in one transaction: nothing is stored if any fails.

        Each policy's documents are parsed and its timeline built in ``workers`` processes
        (default: one per CPU); the parent writes the plans as they arrive.
        """
        paths = [Path(path) for path in (paths or bundled_policy_paths())]
        workers = workers or os.cpu_count() or 1
        groups: dict[str, list[Path]] = {}
        for path, policy_id in zip(paths, _parallel(partial(policy_id_of, options=options), paths, workers)):
            groups.setdefault(policy_id, []).append(path)
        jobs = [
            PolicyJob(policy_id, tuple(group), self._stored_texts(policy_id), self.changes, self.rule, options)
            for policy_id, group in groups.items()
        ]
        stamp = (now or utc_now()).isoformat()
        for cache in (self._rules, self._windows, self._pending_windows):
            cache.clear()
        if self._connection is None:
            self._connection = connect(self.path, self.read_only)  # a load creates the file
        ensure_index(self.connection)
        with transaction(self.connection):
            reports = [
                self._store(plan, found, stamp) for plan, found in _parallel(plan_with_passages, jobs, workers)
            ]
        return [replace(report, source=", ".join(map(str, groups[report.policy_id]))) for report in reports]

    def _store(self, plan: Plan, found: list[dict[str, Any]], stamp: str) -> LoadReport:
        """Write one policy's plan, and its passages when they changed (or were never indexed)."""
        report = store_policy(self.connection, plan, stamp)
        indexed = self.connection.execute("SELECT 1 FROM passage WHERE policy_id = ? LIMIT 1", (report.policy_id,))
        if report.changed or indexed.fetchone() is None:
            store_passages(self.connection, report.policy_id, found)
        return report

    def _stored_texts(self, policy_id: str) -> tuple[tuple[str, str, str], ...]:
        if self._connection is None and not self.path.is_file():
            return ()
        rows = self.connection.execute(
            "SELECT sha256, path, text FROM source_document WHERE policy_id = ?", (policy_id,)
        ).fetchall()
        return tuple((row["sha256"], row["path"], row["text"]) for row in rows)

    def policies(self) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            "SELECT p.policy_id, p.title, p.earliest_vouched, p.effective_date_rule,"
            " (SELECT COUNT(*) FROM version v WHERE v.policy_id = p.policy_id AND v.superseded_at IS NULL)"
            " AS versions FROM policy p ORDER BY p.policy_id"
        ).fetchall()
        return [dict(row) for row in rows]

    def as_of(self, policy_id: str, when: date | str, known_at: datetime | str | None = None) -> Answer:
        """The policy in force on ``when``, as known at ``known_at`` (default: now)."""
        return as_of(self.connection, policy_id, when, to_timestamp(known_at) if known_at else None)

    def show(self, policy_id: str) -> Answer:
        """The policy as its newest version reads (the latest document loaded)."""
        latest = self.connection.execute(
            "SELECT valid_from FROM version WHERE policy_id = ? AND superseded_at IS NULL"
            " ORDER BY valid_from DESC LIMIT 1",
            (policy_id,),
        ).fetchone()
        if latest is None:
            raise UnknownPolicy(policy_id)
        return self.as_of(policy_id, latest["valid_from"])

    def versions(self, policy_id: str) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            "SELECT label, valid_from, valid_to, revision_date, basis FROM version"
            " WHERE policy_id = ? AND superseded_at IS NULL ORDER BY valid_from",
            (policy_id,),
        ).fetchall()
        if not rows:
            raise UnknownPolicy(policy_id)
        return [dict(row) for row in rows]

    def resolve(self, policy_id: str, when: date | str) -> date | str:
        """A date, or a version label ("V2024-05") taken as the first day that version was in force."""
        if isinstance(when, str) and when.startswith("V"):
            row = self.connection.execute(
                "SELECT valid_from FROM version WHERE policy_id = ? AND label = ? AND superseded_at IS NULL",
                (policy_id, when),
            ).fetchone()
            if row is None:
                raise UnknownVersion(policy_id, when)
            return str(row["valid_from"])
        return when

    def diff(self, policy_id: str, before: date | str, after: date | str, audit: bool = True) -> Diff:
        """What changed in ``policy_id`` from the version in force on ``before`` to the one on ``after``."""
        result = diff_answers(
            self.as_of(policy_id, self.resolve(policy_id, before)),
            self.as_of(policy_id, self.resolve(policy_id, after)),
        )
        if audit:
            result.audit = audit_diff(self.connection, result)
        return result

    def diff_all(self, before: date | str, after: date | str, audit: bool = False) -> Iterator[Diff]:
        """The diff of every policy in the knowledge base between two dates, one policy at a time."""
        for row in self.policies():
            yield self.diff(row["policy_id"], before, after, audit)

    def rules(self, policy_id: str, when: date | str, known_at: str | None = None) -> RuleSet:
        """The executable rules in force on ``when``: one RuleSet per version, cached until the next load."""
        day = to_date(when).isoformat()
        windows = self._windows.get((policy_id, known_at))
        if windows is None:
            windows = self._windows[(policy_id, known_at)] = self._version_windows(policy_id, known_at)
        index = bisect_right([start for start, _, _ in windows], day) - 1
        if index < 0 or (windows[index][1] is not None and day >= windows[index][1]):
            return RuleSet.of(self.as_of(policy_id, day, known_at))
        start, _, label = windows[index]
        key = (policy_id, label, known_at)
        if key not in self._rules:
            self._rules[key] = RuleSet.of(self.as_of(policy_id, start, known_at))
        return self._rules[key]

    def _version_windows(self, policy_id: str, known_at: str | None) -> list[tuple[str, str | None, str]]:
        params = {"policy": policy_id, "as_of": "9999-12-31", "known_at": known_at or FOREVER}
        rows = self.connection.execute(
            "SELECT valid_from, valid_to, label FROM version WHERE policy_id = :policy"
            " AND recorded_at <= :known_at AND (superseded_at IS NULL OR superseded_at > :known_at) ORDER BY valid_from",
            params,
        ).fetchall()
        if (
            not rows
            and self.connection.execute("SELECT 1 FROM policy WHERE policy_id = ?", (policy_id,)).fetchone() is None
        ):
            raise UnknownPolicy(policy_id)
        return [(row["valid_from"], row["valid_to"], row["label"]) for row in rows]

    def _pending(self, policy_id: str, day: date, label: str, known_at: str | None) -> list[dict[str, Any]]:
        key = (policy_id, day, label, known_at)
        if key not in self._pending_windows:
            self._pending_windows[key] = rule_dependent(self.connection, policy_id, day, label, known_at)
        return self._pending_windows[key]

    def evaluate(self, request: Request, when: date | str | None = None, known_at: str | None = None) -> Decision:
        """Decide ``request`` under the rules in force on its date of service (or ``when``)."""
        day = to_date(when or request.date_of_service)
        rules = self.rules(request.policy, day, known_at)
        pending = (
            rule_dependent(self.connection, request.policy, day, rules.label, known_at) if rules.answer.covered else []
        )
        decision = evaluate(rules, request, known_at or utc_now().isoformat(), pending)
        decision.evaluated_as_of = str(when) if when else None
        return decision

    def replay(self, record: dict[str, Any]) -> Decision:
        """Evaluate a stored decision record again, with the knowledge it was made with."""
        request = Request.from_json(record["request"])
        return self.evaluate(request, record.get("evaluated_as_of"), record["known_at"])

    def decide_untraced(self, requests: Iterable[Request]) -> Iterator[tuple[Request, str, RuleSet]]:
        """Decisions only, through each version's compiled rules: the batch path without traces."""
        compiled: dict[str, dict[str, Any]] = {}
        for request in requests:
            rules = self.rules(request.policy, request.date_of_service)
            functions = compiled.get(rules.rules_hash)
            if functions is None:
                functions = compiled[rules.rules_hash] = compile_rules(rules)
            yield request, functions[request.request_type](request.facts), rules

    def impact(
        self, policy_id: str, before: date | str, after: date | str, requests: Iterable[Request]
    ) -> list[dict[str, Any]]:
        """The requests that the versions in force on ``before`` and ``after`` decide differently, and why."""
        stamp = utc_now().isoformat()
        old_rules = self.rules(policy_id, self.resolve(policy_id, before))
        new_rules = self.rules(policy_id, self.resolve(policy_id, after))
        changed = []
        for request in requests:
            old, new = evaluate(old_rules, request, stamp), evaluate(new_rules, request, stamp)
            if old.decision == new.decision:
                continue
            results = {entry["item"]: entry for entry in old.criteria}
            differing = [
                {
                    "item": entry["item"],
                    "where": entry["where"],
                    "text": entry["text"],
                    "before": results[entry["item"]]["result"] if entry["item"] in results else "absent",
                    "after": entry["result"],
                }
                for entry in new.criteria
                if entry["item"] not in results or results[entry["item"]]["result"] != entry["result"]
            ]
            differing += [
                {
                    "item": item,
                    "where": entry["where"],
                    "text": entry["text"],
                    "before": entry["result"],
                    "after": "absent",
                }
                for item, entry in results.items()
                if item not in {e["item"] for e in new.criteria}
            ]
            changed.append(
                {
                    "request_id": request.request_id,
                    "before": old.decision,
                    "after": new.decision,
                    "versions": [old_rules.label, new_rules.label],
                    "criteria": differing,
                }
            )
        return changed

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

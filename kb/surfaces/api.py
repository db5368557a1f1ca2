"""The Python API: every operation the CLI offers, as methods of ``KnowledgeBase``.

>>> kb = KnowledgeBase("kb.sqlite")
>>> kb.load()                      # the bundled policy
>>> kb.as_of("CP.PHAR.359", "2024-08-01").criteria()
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any

from kb.concepts.facts import Request, RequestError, fact_vocabulary
from kb.dates import to_date, to_timestamp, utc_now
from kb.decide.compiled import compile_rules
from kb.decide.evaluate import SECTIONS, Decision, RuleSet, evaluate
from kb.decide.impact import decided_differently
from kb.errors import KBError, MissingKnowledgeBase, NoChangeData, UnknownPolicy, UnknownVersion
from kb.history.audit import Audit, HistoryAudit, audit_diff, audit_documents
from kb.history.diff import Diff, Skipped, diff_answers
from kb.history.mutations import MutationReport, mutation_check
from kb.history.scrutiny import scrutinise_timeline
from kb.history.windows import Cache, describe
from kb.model import PolicyDocument
from kb.predicates.coverage import coverage, reviews
from kb.predicates.decidable import Blocked, blocked
from kb.store.asof import Answer, as_of, knowledge_param, pending_spans, rule_dependent
from kb.store.load import (
    BUNDLED_CHANGES,
    STORED,
    LoadSettings,
    bundled_policy_paths,
    changesets_of,
    in_order,
    load_staged,
    parallel,
    stored_texts,
)
from kb.store.staging import writer_lock
from kb.store.write import LoadReport, Plan, connect, store_policy, transaction
from loaders.centene import load_text, policy_id_of
from loaders.source import DEFAULT_READ, ReadOptions
from revisions.log import DEFAULT_RULE, RULES
from revisions.timeline import build_timeline


def knowledge_time(known_at: datetime | str | None) -> datetime | None:
    """A knowledge time given to the API (a timestamp or ISO text), parsed once here; None: as known now."""
    return to_timestamp(known_at) if known_at else None


class KnowledgeBase:
    """A knowledge base in one SQLite file: created by the first load, never by a read; a load
    waits up to ``wait`` seconds for another one to publish."""

    def __init__(
        self,
        path: str | Path = "kb.sqlite",
        changes: Path = BUNDLED_CHANGES,
        rule: str = DEFAULT_RULE,
        read_only: bool = False,
        wait: float = 300.0,
    ) -> None:
        if rule not in RULES:
            raise ValueError(f"unknown effective-date rule {rule!r}; expected one of {', '.join(RULES)}")
        self.path = Path(path)
        self.changes = changes
        self.rule = rule
        self.read_only = read_only
        self.wait = wait
        self._connection: sqlite3.Connection | None = None
        self._rules: dict[tuple[str, str, str | None], RuleSet] = {}
        self._windows: dict[tuple[str, str | None], list[tuple[str, str | None, str]]] = {}
        self._differences: Cache = {}
        self._compiled: dict[str, dict[str, Any]] = {}
        self._lines_of_business: dict[str, list[str]] = {}
        self._pending_spans: dict[tuple[str, str | None], list[tuple[str, str]]] = {}

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
        (default: one per CPU); the parent writes the plans as they arrive into a staging copy
        of the knowledge base, published by rename (``kb.store.staging``): the file a reader has open
        is never written. The writer lock is taken only to publish, unless another load
        published first: then the load runs again on its result, holding the lock.
        """
        paths = [Path(path) for path in (paths or bundled_policy_paths())]
        workers = workers or os.cpu_count() or 1
        groups: dict[str, list[Path]] = {}
        for path, policy_id in zip(paths, parallel(partial(policy_id_of, options=options), paths, workers)):
            groups.setdefault(policy_id, []).append(path)
        stamp = (now or utc_now()).isoformat()
        self.close()
        for cache in (
            self._rules,
            self._windows,
            self._differences,
            self._compiled,
            self._lines_of_business,
            self._pending_spans,
        ):
            cache.clear()
        settings = LoadSettings(self.changes, self.rule, options, self.wait)
        reports = load_staged(self.path, groups, settings, stamp, workers, locked=False)
        if reports is None:
            with writer_lock(self.path, self.wait):
                reports = load_staged(self.path, groups, settings, stamp, workers, locked=True)
        return [replace(report, source=", ".join(map(str, groups[report.policy_id]))) for report in reports or []]

    def facts_read(
        self, policy_id: str, when: date | str, request_type: str | None = None
    ) -> dict[str, dict[str, Any]]:
        """The facts the version in force on ``when`` reads (for one request type, or all), each with
        its type, meaning, accepted values and code systems: what a questionnaire must ask."""
        rules = self.rules(policy_id, when)
        names = rules.facts_read(SECTIONS[request_type] if request_type else None)
        vocabulary = fact_vocabulary()
        return {name: vocabulary[name] for name in sorted(names) if name in vocabulary}

    def predicate_coverage(self) -> list[dict[str, Any]]:
        """Leaf criteria of each policy's newest version read into factual predicates, referrals or
        clinical review, and the total (``kb.predicates.coverage``)."""
        return coverage(self.connection)

    def clinical_reviews(self) -> list[dict[str, Any]]:
        """Every criterion (or footnote) of the newest versions left to clinical review, with its
        reason (``kb.predicates.coverage.REVIEW_SQL``)."""
        return reviews(self.connection)

    def needs_reviewer(self) -> list[Blocked]:
        """The indications of the newest versions that no request can meet without clinical
        review (``kb.predicates.decidable``)."""
        return blocked(self.connection)

    def policies(self) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            "SELECT p.policy_id, p.title, p.earliest_vouched, p.effective_date_rule,"
            " (SELECT COUNT(*) FROM version v WHERE v.policy_id = p.policy_id AND v.superseded_at IS NULL)"
            " AS versions FROM policy p ORDER BY p.policy_id"
        ).fetchall()
        return [dict(row) for row in rows]

    def as_of(
        self, policy_id: str, when: date | str, known_at: datetime | str | None = None, rule: str | None = None
    ) -> Answer:
        """The policy in force on ``when``, as known at ``known_at`` (default: now), under the
        effective-date ``rule`` (default: the one it was loaded under); a rule-dependent date's
        windows say what the other rule reads."""
        stamp = knowledge_time(known_at)
        answer = as_of(self.connection, policy_id, to_date(when), stamp, rule)
        describe(self.connection, policy_id, answer.as_of, answer.rule_dependent, stamp, self._differences)
        return answer

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

    def diff(
        self,
        policy_id: str,
        before: date | str,
        after: date | str,
        audit: bool = True,
        known_at: datetime | str | None = None,
    ) -> Diff:
        """What changed in ``policy_id`` from the version in force on ``before`` to the one on
        ``after`` (dates or version labels). FROM after TO is swapped, with a notice; a date
        that is not covered compares nothing and audits nothing."""
        first, second = self.resolve(policy_id, before), self.resolve(policy_id, after)
        stamp, notices = knowledge_time(known_at), []
        if to_date(first) > to_date(second):

            def named(asked: date | str, day: date | str) -> str:
                return str(asked) if str(asked) == str(day) else f"{asked} ({day})"

            notices.append(
                f"FROM {named(before, first)} is after TO {named(after, second)}: swapped, so the diff runs "
                f"forward from {after} to {before}"
            )
            first, second = second, first
        result = diff_answers(self.as_of(policy_id, first, stamp), self.as_of(policy_id, second, stamp))
        result.notices = notices + result.notices
        if audit and result.before.covered and result.after.covered:
            result.audit = audit_diff(self.connection, result)
        return result

    def diff_all(
        self, before: date | str, after: date | str, audit: bool = False, known_at: datetime | str | None = None
    ) -> Iterator[Diff | Skipped]:
        """The diff of every policy in the knowledge base between two dates or version labels,
        one policy at a time; a policy without the versions named is skipped, and says so."""
        stamp = knowledge_time(known_at)
        for row in self.policies():
            try:
                yield self.diff(row["policy_id"], before, after, audit, stamp)
            except UnknownVersion as missing:
                yield Skipped(row["policy_id"], str(missing))

    def audit(
        self, policy_id: str, known_at: datetime | str | None = None, changes: Path | None = None
    ) -> HistoryAudit:
        """The revision-log audit of the policy's whole history (earliest to newest version), of
        each loaded document against the one before it, and of the change data's claims against
        the log and the stored copies (``kb.history.scrutiny``). ``changes``: audit that folder's
        change data instead, in a knowledge base built from it and the stored documents."""
        if changes is not None:
            return self._audit_folder(policy_id, changes)
        versions = self.versions(policy_id)
        stamp = knowledge_time(known_at)
        span = self.diff(policy_id, versions[0]["valid_from"], versions[-1]["valid_from"], audit=False, known_at=stamp)
        history = audit_diff(self.connection, span, whole=True)
        changesets = changesets_of(self.changes, policy_id)
        documents = self._documents(policy_id)
        claims = scrutinise_timeline(build_timeline(documents, changesets, self._rule(policy_id)), changesets)
        documented = audit_documents(self.connection, policy_id, stamp)
        return HistoryAudit(policy_id, span, history, documented, [str(finding) for finding in claims])

    def _audit_folder(self, policy_id: str, changes: Path) -> HistoryAudit:
        """The audit of a knowledge base built, in a scratch file, from the stored documents and
        the change data in ``changes`` (change data the build refuses is an error naming its line)."""
        documents = self._documents(policy_id)
        if not documents:
            raise UnknownPolicy(policy_id)
        timeline = build_timeline(documents, changesets_of(changes, policy_id), self._rule(policy_id))
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / "audit.sqlite"
            connection = connect(path)
            with transaction(connection):
                store_policy(connection, Plan.of(documents, timeline), utc_now().isoformat())
            connection.close()
            with KnowledgeBase(path, changes=changes) as built:
                return built.audit(policy_id)

    def _documents(self, policy_id: str) -> list[PolicyDocument]:
        """The policy's stored documents, read again, oldest first."""
        return in_order([load_text(path, text, STORED) for _, path, text in stored_texts(self.connection, policy_id)])

    def _rule(self, policy_id: str) -> str:
        """The effective-date rule the policy was loaded with."""
        row = self.connection.execute("SELECT effective_date_rule FROM policy WHERE policy_id = ?", (policy_id,))
        found = row.fetchone()
        if found is None:
            raise UnknownPolicy(policy_id)
        return str(found[0])

    def document_audits(self, policy_id: str) -> list[Audit]:
        """Each loaded document after the first: the log rows it adds against the diff between the two documents."""
        return audit_documents(self.connection, policy_id)

    def mutations(self, policy_id: str) -> MutationReport:
        """Plant defects in a copy of the policy's change data and count those the audit catches."""
        documents = self._documents(policy_id)
        changesets = changesets_of(self.changes, policy_id)
        if not documents or not changesets:
            raise UnknownPolicy(policy_id) if not documents else NoChangeData(policy_id, str(self.changes / policy_id))
        with tempfile.TemporaryDirectory() as scratch:
            return mutation_check(documents, changesets, self._rule(policy_id), Path(scratch))

    def rules(self, policy_id: str, when: date | str, known_at: datetime | None = None) -> RuleSet:
        """The executable rules in force on ``when``: one RuleSet per version, cached until the next load."""
        day = to_date(when).isoformat()
        windows = self._windows.get((policy_id, known_at))
        if windows is None:
            windows = self._windows[(policy_id, known_at)] = self._version_windows(policy_id, known_at)
        index = bisect_right(windows, day, key=lambda window: window[0]) - 1
        if index < 0 or (windows[index][1] is not None and day >= windows[index][1]):
            return RuleSet.of(self.as_of(policy_id, day, known_at))
        start, _, label = windows[index]
        key = (policy_id, label, known_at)
        if key not in self._rules:
            self._rules[key] = RuleSet.of(self.as_of(policy_id, start, known_at))
        return self._rules[key]

    def _version_windows(self, policy_id: str, known_at: datetime | None) -> list[tuple[str, str | None, str]]:
        params = {"policy": policy_id, "known_at": knowledge_param(known_at)}
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

    def evaluate(
        self, request: Request, when: date | str | None = None, known_at: datetime | str | None = None
    ) -> Decision:
        """Decide ``request`` under the rules in force on its date of service (or ``when``, stated
        in the decision); on a rule-dependent date, also under the other effective-date rule."""
        day = to_date(when or request.date_of_service)
        self.check_request(request)
        known = knowledge_time(known_at)
        rules = self.rules(request.policy, day, known)
        stamp = known.isoformat() if known else rules.answer.loaded_at  # the knowledge the rules reflect
        pending = describe(
            self.connection, request.policy, day, self._rule_dependent(request.policy, day, known), known, self._differences
        )
        decision = evaluate(rules, request, stamp, pending)
        decision.evaluated_at = utc_now().isoformat()
        if when:
            decision.evaluated_as_of = day.isoformat()
            decision.reasons.insert(
                0, f"evaluated as of {day.isoformat()} (--as-of), not the date of service {request.date_of_service}"
            )
        for window in pending:
            if window["other_version"] == rules.label:
                continue
            other_rules = RuleSet.of(self.as_of(request.policy, day, known, rule=window["other_rule"]))
            other = evaluate(other_rules, request, stamp)
            decision.other_rule.append(
                {
                    "rule": window["other_rule"],
                    "version": window["other_version"],
                    "decision": other.decision,
                    "differs": other.decision != decision.decision,
                }
            )
        return decision

    def _rule_dependent(self, policy_id: str, day: date, known_at: datetime | None) -> list[dict[str, Any]]:
        """``kb.store.asof.rule_dependent``, asked only on a date inside a pending span (cached per policy)."""
        spans = self._pending_spans.get((policy_id, known_at))
        if spans is None:
            spans = self._pending_spans[(policy_id, known_at)] = pending_spans(self.connection, policy_id, known_at)
        if not any(start <= day.isoformat() <= end for start, end in spans):
            return []
        return rule_dependent(self.connection, policy_id, day, known_at)

    def check_request(self, request: Request) -> None:
        """Refuse a line of business the policy does not name, naming the fact."""
        line = request.fact("line_of_business")
        if line is None:
            return
        named = self._lines_of_business.get(request.policy)
        if named is None:
            row = self.connection.execute(
                "SELECT lines_of_business FROM policy WHERE policy_id = ?", (request.policy,)
            ).fetchone()
            if row is None:
                raise UnknownPolicy(request.policy)
            named = self._lines_of_business[request.policy] = json.loads(row["lines_of_business"] or "[]")
        if named and line not in named:
            raise RequestError(
                request.request_id or "request",
                f"fact 'line_of_business' = {line!r}: {request.policy} names {', '.join(named)}",
            )

    def replay(self, record: dict[str, Any]) -> Decision:
        """Evaluate a stored decision record again, with the knowledge it was made with."""
        request = Request.from_json(record["request"])
        return self.evaluate(request, record.get("evaluated_as_of"), record["known_at"])

    def decide_compiled(self, request: Request) -> tuple[str, RuleSet]:
        """The decision alone, through the compiled rules of the version in force on the date of service."""
        self.check_request(request)
        rules = self.rules(request.policy, request.date_of_service)
        functions = self._compiled.get(rules.rules_hash)
        if functions is None:
            functions = self._compiled[rules.rules_hash] = compile_rules(rules)
        return functions[request.request_type](request.values, request.date_of_service), rules

    def decide_untraced(self, requests: Iterable[Request]) -> Iterator[tuple[Request, str, RuleSet]]:
        """Decisions only, through each version's compiled rules: the batch path without traces."""
        for request in requests:
            yield request, *self.decide_compiled(request)

    def decide_batch(
        self, items: Iterable[tuple[int, Request | KBError]], source: str, when: str | None = None, traced: bool = True
    ) -> Iterator[dict[str, Any]]:
        """One record per line of a batch (``source``): its decision, traced or through the compiled
        rules, or an error record with the line's number and what was wrong with it; a bad line
        never stops the others."""
        for line, item in items:
            if isinstance(item, KBError):
                yield {"line": line, "decision": None, "error": str(item)}
                continue
            try:
                if traced:
                    record = self.evaluate(item, when).to_json()
                else:
                    verdict, rules = self.decide_compiled(item)
                    record = {"request_id": item.request_id, "decision": verdict, "version": rules.label}
                    record["rules_hash"] = rules.rules_hash
            except KBError as error:
                yield {
                    "line": line,
                    "request_id": item.request_id,
                    "decision": None,
                    "error": f"{source}:{line}: {error}",
                }
                continue
            yield record

    def impact(
        self, policy_id: str, before: date | str, after: date | str, requests: Iterable[Request]
    ) -> list[dict[str, Any]]:
        """The requests that the versions in force on ``before`` and ``after`` decide differently, and why."""
        old_rules = self.rules(policy_id, self.resolve(policy_id, before))
        new_rules = self.rules(policy_id, self.resolve(policy_id, after))
        return decided_differently(old_rules, new_rules, requests, utc_now().isoformat())

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""The mutation check: how many planted defects of the change data the audit catches.

Each mutant (``revisions.mutants``) is built into a knowledge base of its own, in memory,
exactly as ``kb load`` builds one; then the whole history is audited. A mutant is caught if
the load refuses it (its change data no longer fits the documents) or if the audit reports a
problem that the unchanged change data does not have; it is missed otherwise.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from kb.errors import KBError
from kb.history.audit import audit_diff
from kb.history.diff import Diff
from kb.history.scrutiny import scrutinise_timeline
from kb.model import PolicyDocument
from kb.store.asof import as_of
from kb.store.write import Plan, connect, store_policy, transaction
from revisions.changes import ChangeSet
from revisions.mutants import OPERATORS, Mutant, mutants
from revisions.timeline import build_timeline

STAMP = "2000-01-01T00:00:00+00:00"


@dataclass
class Outcome:
    mutant: Mutant
    status: str  # "refused at load", "found by the audit", "missed"
    detail: str = ""


@dataclass
class MutationReport:
    policy_id: str
    baseline: list[str]
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def caught(self) -> int:
        return sum(o.status != "missed" for o in self.outcomes)

    @property
    def share(self) -> float:
        return self.caught / len(self.outcomes) if self.outcomes else 0.0

    def by_operator(self) -> dict[str, tuple[int, int]]:
        """(caught, total) per operator."""
        totals = Counter(o.mutant.operator for o in self.outcomes)
        caught = Counter(o.mutant.operator for o in self.outcomes if o.status != "missed")
        return {op: (caught[op], totals[op]) for op in OPERATORS if totals[op]}

    def counts(self) -> Counter[str]:
        return Counter(o.status for o in self.outcomes)


def audit_problems(
    template: sqlite3.Connection, documents: list[PolicyDocument], changesets: list[ChangeSet], rule: str
) -> list[str]:
    """Build the knowledge base of ``documents`` and ``changesets`` in memory and audit its whole history."""
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.row_factory = sqlite3.Row
    template.backup(connection)
    timeline = build_timeline(documents, changesets, rule)
    plan = Plan.of(documents, timeline)
    with transaction(connection):
        store_policy(connection, plan, STAMP)
    policy = documents[-1].policy_id
    versions = connection.execute(
        "SELECT valid_from FROM version WHERE policy_id = ? ORDER BY valid_from", (policy,)
    ).fetchall()
    first, last = (date.fromisoformat(row[0]) for row in (versions[0], versions[-1]))
    diff = Diff(as_of(connection, policy, first), as_of(connection, policy, last), [])
    problems = audit_diff(connection, diff).problems() + [str(f) for f in scrutinise_timeline(timeline, changesets)]
    connection.close()
    return problems


def mutation_check(
    documents: list[PolicyDocument], changesets: list[ChangeSet], rule: str, scratch: Path
) -> MutationReport:
    """Plant every mutant of ``changesets`` and report which the load or the audit catches."""
    template = connect(scratch / "schema.sqlite")
    baseline_plan = build_timeline(documents, changesets, rule)
    clauses = {r.date.isoformat(): len(r.clauses) for r in baseline_plan.revisions}
    states = {v.revision.date.isoformat(): v.state for v in baseline_plan.versions}
    report = MutationReport(documents[-1].policy_id, audit_problems(template, documents, changesets, rule))
    known = set(report.baseline)
    for mutant in mutants(changesets, clauses, states):
        try:
            found = [p for p in audit_problems(template, documents, list(mutant.changesets), rule) if p not in known]
        except KBError as error:
            report.outcomes.append(Outcome(mutant, "refused at load", str(error)))
            continue
        status = "found by the audit" if found else "missed"
        report.outcomes.append(Outcome(mutant, status, found[0] if found else ""))
    template.close()
    return report

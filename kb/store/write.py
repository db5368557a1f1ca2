"""Writing a policy's timeline into SQLite: one transaction per load, never an overwrite.

``reconcile`` compares the rows a load wants live with the rows live now: equal rows stay,
rows no longer wanted get ``superseded_at``, new rows are recorded. Loading the same
document twice therefore changes nothing, and a correction keeps the old belief queryable.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Any

from sqlmodel import SQLModel, create_engine

from kb.dates import Month
from kb.model import CoverageBlock, Criterion, PolicyDocument
from kb.predicates import criterion_columns
from kb.predicates.reader import policy_products
from kb.store import schema
from kb.store.staging import check_database
from revisions.copies import CopyDocument
from revisions.timeline import Disagreement, Interval, Timeline, intervals

_BOOKKEEPING = {"id", "recorded_at", "superseded_at"}
SUSPECT_LINES = 12
"""How many suspect passages a load prints one by one for a document (the rest are counted)."""


@dataclass(frozen=True)
class LoadReport:
    policy_id: str
    source: str
    new_document: bool
    rows_added: int
    rows_superseded: int
    versions: int
    parsed_lines: int
    boilerplate_lines: int
    unparsed_lines: int
    disagreements: tuple[Disagreement, ...] = ()
    characters: dict[str, int] = field(default_factory=dict)
    unparsed: tuple[CoverageBlock, ...] = ()
    form: str = "lines"
    suspects: tuple[CoverageBlock, ...] = ()
    unprinted_log_rows: int = 0
    """Revision-log rows the newest document no longer prints, kept from an older document."""

    def share(self, status: str) -> float:
        """Characters of a status (unparsed, suspect ...) as a share of all non-blank characters."""
        total = sum(self.characters.values())
        return self.characters.get(status, 0) / total if total else 0.0

    def suspect_report(self, limit: int = SUSPECT_LINES) -> list[str]:
        """The suspect passages as a person reads them: each of the first ``limit``, then the
        rest counted by kind (every one is stored in ``coverage_block``)."""
        lines = [
            f"suspect, line {block.span} ({block.kind}): {block.reason}: {block.text[:100]!r}"
            for block in self.suspects[:limit]
        ]
        rest = Counter(block.kind for block in self.suspects[limit:])
        if rest:
            kinds = ", ".join(f"{count} {kind}" for kind, count in rest.most_common())
            lines.append(f"... and {sum(rest.values())} more suspect passages ({kinds}): see coverage_block")
        return lines

    @property
    def changed(self) -> bool:
        return self.new_document or bool(self.rows_added or self.rows_superseded)


def create_schema(path: Path) -> None:
    """The tables in place; a knowledge base an earlier version made gains the columns added
    since (empty in the rows it already holds), so a new load never fails on an old file."""
    engine = create_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)
    with engine.begin() as connection:
        for table in SQLModel.metadata.sorted_tables:
            present = {row[1] for row in connection.exec_driver_sql(f'PRAGMA table_info("{table.name}")')}
            for column in table.columns:
                if column.name not in present:
                    kind = column.type.compile(dialect=engine.dialect)
                    connection.exec_driver_sql(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}')
    engine.dispose()


def connect(path: Path | str, read_only: bool = False) -> sqlite3.Connection:
    """A connection with the schema in place (or, read-only, the file as it is, opened immutable);
    rows come back as ``sqlite3.Row``."""
    path = Path(path)
    check_database(path)
    if read_only:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True, check_same_thread=False)
        connection.row_factory = sqlite3.Row
        return connection
    create_schema(path)
    connection = sqlite3.connect(path, isolation_level=None)
    connection.row_factory = sqlite3.Row
    return connection


@contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """All or nothing: a failure rolls back every write of the block."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def sql_value(value: Any) -> Any:
    if isinstance(value, (date, Month)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bool):
        return int(value)
    return value


def record_row(
    policy_id: str, interval: Interval, parent_text: str | None = None, products: tuple[str, ...] | None = None
) -> dict[str, Any]:
    record, provenance = interval.record, interval.record.provenance
    row: dict[str, Any] = {
        "policy_id": policy_id,
        "record_key": record.key,
        "valid_from": interval.valid_from.isoformat(),
        "valid_to": interval.valid_to.isoformat() if interval.valid_to else None,
        "source": str(provenance.source),
        "document_sha256": provenance.document_sha256,
        "first_line": provenance.span.first if provenance.span else None,
        "last_line": provenance.span.last if provenance.span else None,
        "revision": provenance.revision,
        "clause": provenance.clause,
        "confidence": provenance.confidence,
    }
    row.update({name: sql_value(value) for name, value in record.content().items()})
    if isinstance(record, Criterion):
        row.update(criterion_columns(policy_id, record.text, record.footnote_text, parent_text, products))
    return row


def parent_texts(spans: list[Interval]) -> dict[int, str | None]:
    """Each criterion interval's parent text where the interval starts: the words that frame its
    reading ("Diagnosis of one of the following" makes its items diagnoses)."""
    texts: dict[str, list[Interval]] = {}
    for span in spans:
        if isinstance(span.record, Criterion):
            texts.setdefault(span.record.item_id, []).append(span)
    found: dict[int, str | None] = {}
    for span in spans:
        parent = getattr(span.record, "parent_id", None) if isinstance(span.record, Criterion) else None
        for candidate in texts.get(parent or "", []):
            if candidate.valid_from <= span.valid_from and (
                candidate.valid_to is None or span.valid_from < candidate.valid_to
            ):
                found[id(span)] = candidate.record.text  # type: ignore[attr-defined]
    return found


def copy_row(policy: str, version: str, copy: CopyDocument) -> dict[str, Any]:
    """A stored copy as a row: where it stops (the record of its cut line, what it shows there,
    and the one reading of the rest), its text and hash; the file by name, not its local path."""
    cut = next((line for line in copy.lines if line.cut), None)
    cut_off = None
    if cut is not None:
        cut_off = f"{cut.kind} {cut.key}: the copy stops at “{cut.text}”"
        cut_off += f"; the one reading of the rest: “{cut.reading}”" if cut.reading else ""
    return {
        "policy_id": policy,
        "source": copy.source,
        "revision_date": copy.revision.isoformat(),
        "version": version,
        "sha256": copy.sha256,
        "found": copy.found,
        "shows": copy.shows,
        "cut_off": cut_off,
        "confidence": copy.confidence,
        "text": copy.text,
        "line_count": len(copy.lines),
        "file": Path(copy.path).name,
    }


def timeline_rows(timeline: Timeline, products: tuple[str, ...] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every row the timeline wants live, by table (``products``: the policy's products as drug
    concepts, ``kb.predicates.reader.policy_products``)."""
    policy = timeline.policy_id
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in (*schema.RECORD_TABLES, *schema.KNOWN_TABLES)}
    spans = intervals(timeline.versions)
    parents = parent_texts(spans)
    for interval in spans:
        rows[interval.record.KIND].append(record_row(policy, interval, parents.get(id(interval)), products))
    for revision in timeline.revisions:
        window = revision.pending_window()
        rows["revision"].append(
            {
                "policy_id": policy,
                "ordinal": revision.ordinal,
                "label": revision.label,
                "kind": revision.kind,
                "description": revision.description,
                "revision_date": revision.date.isoformat(),
                "pt_month": sql_value(revision.pt_month),
                "effective_date": revision.effective_date.isoformat(),
                "rule": revision.rule,
                "pending_from": sql_value(window[0]) if window else None,
                "pending_to": sql_value(window[1]) if window else None,
                "kept_from_document": revision.kept_from,
            }
        )
        rows["change_clause"] += [
            {
                "policy_id": policy,
                "revision_date": revision.date.isoformat(),
                "ordinal": clause.ordinal,
                "text": clause.text,
                "category": clause.category,
            }
            for clause in revision.clauses
        ]
    rows["change_operation"] = [
        {
            "policy_id": policy,
            "revision_date": changeset.revision.isoformat(),
            "ordinal": ordinal,
            "action": op.action,
            "kind": op.kind,
            "record_key": op.key,
            "clause": op.clause,
            "source": op.source,
            "confidence": op.confidence,
            "note": op.note,
            "path": changeset.path,
            "line": op.line,
        }
        for changeset in timeline.changesets
        for ordinal, op in enumerate(changeset.operations, 1)
    ]
    rows["copy_document"] = [
        copy_row(policy, changeset.version, copy) for changeset in timeline.changesets for copy in changeset.sources
    ]
    rows["version"] = [
        {
            "policy_id": policy,
            "label": v.label,
            "valid_from": v.valid_from.isoformat(),
            "valid_to": sql_value(v.valid_to),
            "revision_date": v.revision.date.isoformat(),
            "basis": v.basis,
            "document_sha256": v.document_sha256,
        }
        for v in timeline.versions
    ]
    return rows


def reconcile(
    connection: sqlite3.Connection, policy_id: str, wanted: dict[str, list[dict[str, Any]]], now: str
) -> tuple[int, int]:
    """Make ``wanted`` the live rows of the policy; (rows added, rows superseded)."""
    added = superseded = 0
    for table, rows in wanted.items():
        live = connection.execute(
            f"SELECT * FROM {table} WHERE policy_id = ? AND superseded_at IS NULL", (policy_id,)
        ).fetchall()
        columns = [c for c in (live[0].keys() if live else rows[0].keys() if rows else []) if c not in _BOOKKEEPING]
        live_by_print: dict[tuple, list[int]] = {}
        for row in live:
            live_by_print.setdefault(tuple(row[c] for c in columns), []).append(row["id"])
        new_rows = []
        for row in rows:
            ids = live_by_print.get(tuple(row.get(c) for c in columns))
            if ids:
                ids.pop()
            else:
                new_rows.append(row)
        stale = [row_id for ids in live_by_print.values() for row_id in ids]
        connection.executemany(f"UPDATE {table} SET superseded_at = ? WHERE id = ?", [(now, i) for i in stale])
        if new_rows:
            names = list(new_rows[0]) + ["recorded_at"]
            connection.executemany(
                f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
                [[*row.values(), now] for row in new_rows],
            )
        added += len(new_rows)
        superseded += len(stale)
    return added, superseded


@dataclass
class Plan:
    """What a load will write for one policy, computed without the database (in any process)."""

    documents: list[PolicyDocument]
    timeline: Timeline
    rows: dict[str, list[dict[str, Any]]]

    @classmethod
    def of(cls, documents: list[PolicyDocument], timeline: Timeline) -> Plan:
        drugs = tuple((d.generic_name, tuple(d.brand_names)) for d in documents[-1].header.drugs) if documents else ()
        return cls(documents, timeline, timeline_rows(timeline, policy_products(drugs)))


def store_policy(connection: sqlite3.Connection, plan: Plan, now: str) -> LoadReport:
    """Write a policy's documents and timeline (the caller holds the load's one transaction)."""
    documents, timeline = plan.documents, plan.timeline
    newest = documents[-1]
    header = newest.header
    new_document = False
    for document in documents:
        new_document |= _store_document(connection, document, now)
    connection.execute(
        "INSERT OR REPLACE INTO policy (policy_id, title, drugs, original_effective_date, lines_of_business,"
        " effective_date_rule, earliest_vouched) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            header.reference_number,
            header.title,
            json.dumps([{"generic_name": d.generic_name, "brand_names": list(d.brand_names)} for d in header.drugs]),
            header.original_effective_date.isoformat(),
            json.dumps(list(header.lines_of_business)),
            timeline.rule,
            sql_value(timeline.earliest),
        ),
    )
    added, superseded = reconcile(connection, header.reference_number, plan.rows, now)
    counts = line_counts(newest)
    return LoadReport(
        header.reference_number,
        newest.source,
        new_document,
        added,
        superseded,
        len(timeline.versions),
        *counts,
        timeline.disagreements,
        newest.character_counts(),
        tuple(newest.unparsed),
        newest.form,
        tuple(newest.suspects),
        sum(1 for revision in timeline.revisions if revision.kept_from),
    )


def line_counts(document: PolicyDocument) -> tuple[int, int, int]:
    """(parsed, boilerplate, unparsed) non-blank lines of a document."""
    by_status = {"boilerplate": 0, "unparsed": 0}
    for block in document.coverage:
        if block.status in by_status:
            by_status[block.status] += block.text.count("\n") + 1
    non_blank = sum(1 for line in (document.reading or document.text).splitlines() if line.strip())
    return non_blank - by_status["boilerplate"] - by_status["unparsed"], by_status["boilerplate"], by_status["unparsed"]


def _store_document(connection: sqlite3.Connection, document: PolicyDocument, now: str) -> bool:
    if connection.execute("SELECT 1 FROM source_document WHERE sha256 = ?", (document.sha256,)).fetchone():
        return False
    parsed, boilerplate, unparsed = line_counts(document)
    characters = document.character_counts()
    doubted = {n for block in document.suspects for n in range(block.span.first, block.span.last + 1)}
    connection.execute(
        "INSERT INTO source_document (sha256, policy_id, path, last_review, text, text_form, reading, line_count,"
        " parsed_lines, boilerplate_lines, unparsed_lines, parsed_chars, boilerplate_chars, unparsed_chars,"
        " suspect_lines, suspect_chars, loaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            document.sha256,
            document.policy_id,
            document.source,
            document.header.last_review.isoformat(),
            document.text,
            document.form,
            document.reading if document.form != "lines" else None,
            document.line_count,
            parsed,
            boilerplate,
            unparsed,
            characters["parsed"],
            characters["boilerplate"],
            characters["unparsed"],
            len(doubted),
            characters["suspect"],
            now,
        ),
    )
    connection.executemany(
        "INSERT INTO coverage_block (document_sha256, status, kind, first_line, last_line, text, reason) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (document.sha256, b.status, b.kind, b.span.first, b.span.last, b.text, b.reason or None)
            for b in document.coverage
        ],
    )
    return True

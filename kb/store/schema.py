"""The knowledge base's tables, as SQLModel classes.

Record tables carry two time axes: effective time ``[valid_from, valid_to)`` (``valid_to``
empty = open; it is the first day no longer in force) and knowledge time
``[recorded_at, superseded_at)``: a correction never overwrites, it closes a row's
recorded interval and records a new row.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel


class Policy(SQLModel, table=True):
    policy_id: str = Field(primary_key=True, description="Reference number, e.g. CP.PHAR.359")
    title: str
    drugs: list = Field(sa_column=Column(JSON), description="[{generic_name, brand_names}]")
    original_effective_date: str
    lines_of_business: list = Field(sa_column=Column(JSON))
    effective_date_rule: str
    earliest_vouched: str | None = Field(default=None, description="First day any version is vouched for")


class SourceDocument(SQLModel, table=True):
    __tablename__ = "source_document"
    sha256: str = Field(primary_key=True)
    policy_id: str = Field(index=True)
    path: str
    last_review: str
    text: str
    text_form: str = Field(default="lines", description="lines, or flattened (one line; see loaders/flattened.py)")
    reading: str | None = Field(default=None, description="The lines the parser read, for a flattened text")
    line_count: int
    parsed_lines: int
    boilerplate_lines: int
    unparsed_lines: int
    parsed_chars: int = 0
    boilerplate_chars: int = 0
    unparsed_chars: int = 0
    suspect_lines: int = Field(default=0, description="Lines read but doubted (see coverage_block, status suspect)")
    suspect_chars: int = 0
    loaded_at: str


class CoverageBlock(SQLModel, table=True):
    __tablename__ = "coverage_block"
    id: int | None = Field(default=None, primary_key=True)
    document_sha256: str = Field(index=True)
    status: str
    kind: str
    first_line: int
    last_line: int
    text: str
    reason: str | None = Field(default=None, description="For a suspect passage: why the reading is doubted")


class Passage(SQLModel, table=True):
    """Searchable text (criteria, statements, references, durations, codes, dosing, revision-log
    rows), one row per span of versions in which it read the same; indexed with SQLite FTS5
    (``passage_fts``) by ``kb/store/search.py`` at load time."""

    id: int | None = Field(default=None, primary_key=True)
    policy_id: str = Field(index=True)
    kind: str
    place: str
    text: str
    valid_from: str
    valid_to: str | None = None
    versions: str
    record_key: str


class Known(SQLModel):
    """Knowledge time: when the knowledge base learnt a row, and when it stopped believing it."""

    recorded_at: str
    superseded_at: str | None = None


class Revision(Known, table=True):
    id: int | None = Field(default=None, primary_key=True)
    policy_id: str = Field(index=True)
    ordinal: int
    label: str
    kind: str
    description: str
    revision_date: str
    pt_month: str | None
    effective_date: str
    rule: str
    pending_from: str | None = None
    pending_to: str | None = None
    kept_from_document: str | None = Field(
        default=None,
        description="No longer printed by the newest document's log: the older document (SHA-256) it is kept from",
    )


class ChangeClause(Known, table=True):
    __tablename__ = "change_clause"
    id: int | None = Field(default=None, primary_key=True)
    policy_id: str = Field(index=True)
    revision_date: str
    ordinal: int
    text: str
    category: str


class ChangeOperation(Known, table=True):
    """One operation of the change data the timeline was built with (kb/data/changes)."""

    __tablename__ = "change_operation"
    id: int | None = Field(default=None, primary_key=True)
    policy_id: str = Field(index=True)
    revision_date: str
    ordinal: int
    action: str
    kind: str
    record_key: str
    clause: int
    source: str
    confidence: str
    note: str | None = None
    path: str
    line: int


class CopyDocument(Known, table=True):
    """An older copy of a policy kept with the change data (``revisions/copies.py``), stored as a
    source document: what it shows, where it stops, its text and SHA-256."""

    __tablename__ = "copy_document"
    id: int | None = Field(default=None, primary_key=True)
    policy_id: str = Field(index=True)
    source: str
    revision_date: str
    version: str
    sha256: str
    found: str
    shows: str
    cut_off: str | None = None
    confidence: str
    text: str
    line_count: int
    file: str


class Version(Known, table=True):
    id: int | None = Field(default=None, primary_key=True)
    policy_id: str = Field(index=True)
    label: str
    valid_from: str
    valid_to: str | None
    revision_date: str
    basis: str = Field(description="document (read from a document) or reconstructed (from change data)")
    document_sha256: str | None = None


class Temporal(Known):
    """Columns every record table shares: identity, effective time and provenance."""

    id: int | None = Field(default=None, primary_key=True)
    policy_id: str
    record_key: str
    valid_from: str
    valid_to: str | None = None
    source: str
    document_sha256: str | None = None
    first_line: int | None = None
    last_line: int | None = None
    revision: str | None = None
    clause: str | None = None
    confidence: str | None = None


class Criterion(Temporal, table=True):
    item_id: str
    parent_id: str | None
    position: int
    section: str
    indication: str
    label: str
    text: str | None
    logic: str | None
    logic_text: str | None
    footnote_marker: str | None
    footnote_text: str | None
    raw_text: str | None
    logic_count: int | None = Field(default=None, description="For logic at_least: how many children must be met")
    predicate: str | None = Field(default=None, description="JSON condition read from the text (kb/predicates.py)")
    predicate_rule: str | None = Field(default=None, description="The extraction rule or override that read it")
    footnote_predicate: str | None = Field(default=None, description="JSON condition of the item's footnote")


class Duration(Temporal, table=True):
    section: str
    indication: str
    line_of_business: str
    text: str | None
    months: int | None
    weeks: int | None
    rule: str | None
    cycle_cap: int | None
    reauthorization_permitted: bool
    days: int | None = None
    condition: str | None = Field(default=None, description="Where lengths differ within one line of business")


class CrossReference(Temporal, table=True):
    __tablename__ = "cross_reference"
    item_id: str
    line_of_business: str
    role: str
    policy_ref: str | None


class Statement(Temporal, table=True):
    kind: str
    ordinal: int
    text: str | None
    heading: str | None
    term: str | None
    raw_text: str | None


class Code(Temporal, table=True):
    system: str
    code: str | None
    description: str
    ordinal: int


class Reference(Temporal, table=True):
    ordinal: int
    citation: str
    url: str | None
    accessed: str | None
    raw_text: str | None


class Dosing(Temporal, table=True):
    ordinal: int
    indication: str
    regimen: str
    max_dose: str
    raw_text: str | None


class Unknown(Temporal, table=True):
    kind: str
    scope: str
    reason: str


RECORD_TABLES: dict[str, type[Temporal]] = {
    "criterion": Criterion,
    "duration": Duration,
    "cross_reference": CrossReference,
    "statement": Statement,
    "code": Code,
    "reference": Reference,
    "dosing": Dosing,
    "unknown": Unknown,
}
KNOWN_TABLES: dict[str, type[Known]] = {
    "revision": Revision,
    "change_clause": ChangeClause,
    "change_operation": ChangeOperation,
    "copy_document": CopyDocument,
    "version": Version,
}

for _name, _table in RECORD_TABLES.items():
    _columns = _table.__table__.c  # type: ignore[attr-defined]
    Index(f"ix_{_name}_in_force", _columns.policy_id, _columns.valid_from, _columns.valid_to)
    Index(f"ix_{_name}_key", _columns.policy_id, _columns.record_key)
Index("ix_version_in_force", Version.__table__.c.policy_id, Version.__table__.c.valid_from)  # type: ignore[attr-defined]

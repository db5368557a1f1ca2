"""The knowledge base's tables, as SQLModel classes.

Record tables carry two time axes: effective time ``[valid_from, valid_to)`` (``valid_to``
empty = open; it is the first day no longer in force) and knowledge time
``[recorded_at, superseded_at)``: a correction never overwrites, it closes a row's
recorded interval and records a new row.
"""

from __future__ import annotations

from typing import Optional

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel


class Policy(SQLModel, table=True):
    policy_id: str = Field(primary_key=True, description="Reference number, e.g. CP.PHAR.359")
    title: str
    drugs: list = Field(sa_column=Column(JSON), description="[{generic_name, brand_names}]")
    original_effective_date: str
    lines_of_business: list = Field(sa_column=Column(JSON))
    effective_date_rule: str
    earliest_vouched: Optional[str] = Field(default=None, description="First day any version is vouched for")


class SourceDocument(SQLModel, table=True):
    __tablename__ = "source_document"
    sha256: str = Field(primary_key=True)
    policy_id: str = Field(index=True)
    path: str
    last_review: str
    text: str
    line_count: int
    parsed_lines: int
    boilerplate_lines: int
    unparsed_lines: int
    loaded_at: str


class CoverageBlock(SQLModel, table=True):
    __tablename__ = "coverage_block"
    id: Optional[int] = Field(default=None, primary_key=True)
    document_sha256: str = Field(index=True)
    status: str
    kind: str
    first_line: int
    last_line: int
    text: str


class Known(SQLModel):
    """Knowledge time: when the knowledge base learnt a row, and when it stopped believing it."""

    recorded_at: str
    superseded_at: Optional[str] = None


class Revision(Known, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    policy_id: str = Field(index=True)
    ordinal: int
    label: str
    kind: str
    description: str
    revision_date: str
    pt_month: Optional[str]
    effective_date: str
    rule: str
    pending_from: Optional[str] = None
    pending_to: Optional[str] = None


class ChangeClause(Known, table=True):
    __tablename__ = "change_clause"
    id: Optional[int] = Field(default=None, primary_key=True)
    policy_id: str = Field(index=True)
    revision_date: str
    ordinal: int
    text: str
    category: str


class Version(Known, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    policy_id: str = Field(index=True)
    label: str
    valid_from: str
    valid_to: Optional[str]
    revision_date: str
    basis: str = Field(description="document (read from a document) or reconstructed (from change data)")
    document_sha256: Optional[str] = None


class Temporal(Known):
    """Columns every record table shares: identity, effective time and provenance."""

    id: Optional[int] = Field(default=None, primary_key=True)
    policy_id: str
    record_key: str
    valid_from: str
    valid_to: Optional[str] = None
    source: str
    document_sha256: Optional[str] = None
    first_line: Optional[int] = None
    last_line: Optional[int] = None
    revision: Optional[str] = None
    clause: Optional[str] = None
    confidence: Optional[str] = None


class Criterion(Temporal, table=True):
    item_id: str
    parent_id: Optional[str]
    position: int
    section: str
    indication: str
    label: str
    text: Optional[str]
    logic: Optional[str]
    logic_text: Optional[str]
    footnote_marker: Optional[str]
    footnote_text: Optional[str]
    raw_text: Optional[str]


class Duration(Temporal, table=True):
    section: str
    indication: str
    line_of_business: str
    text: Optional[str]
    months: Optional[int]
    weeks: Optional[int]
    rule: Optional[str]
    cycle_cap: Optional[int]
    reauthorization_permitted: bool


class CrossReference(Temporal, table=True):
    __tablename__ = "cross_reference"
    item_id: str
    line_of_business: str
    role: str
    policy_ref: Optional[str]


class Statement(Temporal, table=True):
    kind: str
    ordinal: int
    text: Optional[str]
    heading: Optional[str]
    term: Optional[str]
    raw_text: Optional[str]


class Code(Temporal, table=True):
    system: str
    code: Optional[str]
    description: str
    ordinal: int


class Reference(Temporal, table=True):
    ordinal: int
    citation: str
    url: Optional[str]
    accessed: Optional[str]
    raw_text: Optional[str]


class Dosing(Temporal, table=True):
    ordinal: int
    indication: str
    regimen: str
    max_dose: str
    raw_text: Optional[str]


class Unknown(Temporal, table=True):
    kind: str
    scope: str
    reason: str


RECORD_TABLES: dict[str, type[Temporal]] = {
    "criterion": Criterion, "duration": Duration, "cross_reference": CrossReference, "statement": Statement,
    "code": Code, "reference": Reference, "dosing": Dosing, "unknown": Unknown,
}
KNOWN_TABLES: dict[str, type[Known]] = {"revision": Revision, "change_clause": ChangeClause, "version": Version}

for _name, _table in RECORD_TABLES.items():
    _columns = _table.__table__.c  # type: ignore[attr-defined]
    Index(f"ix_{_name}_in_force", _columns.policy_id, _columns.valid_from, _columns.valid_to)
    Index(f"ix_{_name}_key", _columns.policy_id, _columns.record_key)
Index("ix_version_in_force", Version.__table__.c.policy_id, Version.__table__.c.valid_from)  # type: ignore[attr-defined]

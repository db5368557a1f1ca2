"""The typed document model: the leaf every stage imports.

A policy version is a set of records, each with a stable ``key`` inside its policy and a
``Provenance`` saying what it rests on. Records are frozen: a revision makes new ones.
The criteria tree is flat here (``parent_id`` + ``position``) so that records of every kind
can be stored as intervals, diffed by key and changed by data-driven operations alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import date
from enum import StrEnum
from typing import ClassVar

from kb.dates import Month
from kb.errors import DuplicateRecord

LINES_OF_BUSINESS = ("Commercial", "HIM", "Medicaid")


class Logic(StrEnum):
    """How an item's children combine: all, any (one of), none of them, or at least ``logic_count``."""

    ALL = "all"
    ANY = "any"
    NONE = "none"
    AT_LEAST = "at_least"


class Source(StrEnum):
    """What a record rests on (see the history reference: `log`, `copy-11.23`); ``carried``: a
    document's or copy's value carried across revisions whose log does not name it
    (unlogged = unchanged)."""

    DOCUMENT = "document"
    LOG = "log"
    COPY = "copy-11.23"
    CARRIED = "carried"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Span:
    """Lines ``first``..``last`` (1-based, inclusive) of the source document."""

    first: int
    last: int

    def __str__(self) -> str:
        return f"{self.first}" if self.first == self.last else f"{self.first}-{self.last}"


@dataclass(frozen=True)
class Provenance:
    """Where a record comes from: a document's lines, or a revision clause, or nowhere known."""

    source: str = Source.DOCUMENT
    document_sha256: str | None = None
    span: Span | None = None
    revision: str | None = None
    clause: str | None = None
    confidence: str | None = None


_NOT_CONTENT = ("provenance", "occurrence")
CONFIDENCE = ("high", "medium", "medium-low", "low")
"""Confidence levels, strongest first."""


@dataclass(frozen=True)
class Record:
    """Base of every stored record kind; ``KIND`` names its table."""

    KIND: ClassVar[str] = ""
    provenance: Provenance = field(default_factory=Provenance, kw_only=True, compare=True)
    occurrence: int = field(default=1, kw_only=True)
    """The n-th record of its kind with the same ``identity`` in one document (two policies named
    by one item, two footnotes with one marker, two references to one web page): from the second
    on it is part of the key, so no record's key is another's."""

    @property
    def identity(self) -> str:
        """What names the record across versions, before ``occurrence`` tells repeats apart."""
        raise NotImplementedError

    @property
    def key(self) -> str:
        return self.identity if self.occurrence == 1 else f"{self.identity}#{self.occurrence}"

    def content(self) -> dict[str, object]:
        """The record's own fields (no provenance; the occurrence is in the key), for storage,
        diffs and equality checks."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _NOT_CONTENT}


@dataclass(frozen=True)
class Criterion(Record):
    """One node of a criteria tree: a criteria set (``I.A``) or an item (``I.A.5.b``).

    ``item_id`` is the item's identity across versions: its label path in the document that
    first named it. ``label`` is how the version itself numbers it. ``text`` None = unknown.
    """

    KIND: ClassVar[str] = "criterion"
    item_id: str
    parent_id: str | None
    position: int
    section: str
    indication: str
    label: str
    text: str | None
    logic: Logic | None = None
    logic_text: str | None = None
    footnote_marker: str | None = None
    footnote_text: str | None = None
    raw_text: str | None = None
    logic_count: int | None = None

    @property
    def identity(self) -> str:
        return self.item_id


@dataclass(frozen=True)
class Duration(Record):
    """An approval duration for one section, indication and line of business, and ``condition``
    where the text gives different lengths under one line of business ("Hepatitis C-associated
    thrombocytopenia – 6 months, All other indications – 12 months")."""

    KIND: ClassVar[str] = "duration"
    section: str
    indication: str
    line_of_business: str
    text: str | None
    months: int | None = None
    weeks: int | None = None
    rule: str | None = None
    cycle_cap: int | None = None
    reauthorization_permitted: bool = True
    days: int | None = None
    condition: str | None = None

    @property
    def identity(self) -> str:
        place = f"{self.section}.{self.indication}.{self.line_of_business}"
        return f"{place}:{self.condition}" if self.condition else place


@dataclass(frozen=True)
class CrossReference(Record):
    """A policy to refer to, for one line of business, named in an item's text."""

    KIND: ClassVar[str] = "cross_reference"
    item_id: str
    line_of_business: str
    role: str
    policy_ref: str | None

    @property
    def identity(self) -> str:
        return f"{self.item_id}:{self.role}:{self.line_of_business}"


@dataclass(frozen=True)
class Statement(Record):
    """A prose element: description, FDA indication, appendix entry, definition, footnote ..."""

    KIND: ClassVar[str] = "statement"
    kind: str
    ordinal: int
    text: str | None
    heading: str | None = None
    term: str | None = None
    raw_text: str | None = None

    @property
    def identity(self) -> str:
        return f"{self.kind}:{self.term}" if self.term else f"{self.kind}:{self.ordinal}"


@dataclass(frozen=True)
class Code(Record):
    KIND: ClassVar[str] = "code"
    system: str
    code: str | None
    description: str
    ordinal: int = 0

    @property
    def identity(self) -> str:
        return f"{self.system}:{self.code or self.description}"


@dataclass(frozen=True)
class Reference(Record):
    KIND: ClassVar[str] = "reference"
    ordinal: int
    citation: str
    url: str | None = None
    accessed: date | None = None
    raw_text: str | None = None

    @property
    def identity(self) -> str:
        return self.url or self.citation


@dataclass(frozen=True)
class DosingRow(Record):
    KIND: ClassVar[str] = "dosing"
    ordinal: int
    indication: str
    regimen: str
    max_dose: str
    raw_text: str | None = None

    @property
    def identity(self) -> str:
        return f"{self.ordinal}:{self.indication}"


@dataclass(frozen=True)
class RevisionRow(Record):
    """A row of "Reviews, Revisions, and Approvals" as printed."""

    KIND: ClassVar[str] = "revision_row"
    ordinal: int
    description: str
    date: date
    pt_month: Month | None

    @property
    def identity(self) -> str:
        return f"{self.date.isoformat()}#{self.ordinal}"


@dataclass(frozen=True)
class Unknown(Record):
    """What a version held but no source tells: records of ``kind`` under ``scope`` ("*" = all).

    Unknown is a value: it is stored, shown and diffed like any record, never filled in.
    """

    KIND: ClassVar[str] = "unknown"
    kind: str
    scope: str
    reason: str

    @property
    def identity(self) -> str:
        return f"{self.kind}:{self.scope}"

    def covers(self, record: Record) -> bool:
        return self.kind == record.KIND and in_scope(self.scope, getattr(record, "item_id", record.key))


def _lines(record: Record) -> str:
    span = record.provenance.span
    return str(span) if span else f"none ({record.provenance.source})"


def in_scope(scope: str, anchor: str) -> bool:
    """Does an unknown's ``scope`` ("*", or an item_id prefix) reach the record at ``anchor``?"""
    return scope == "*" or anchor == scope or anchor.startswith(scope + ".")


RECORD_KINDS: tuple[type[Record], ...] = (
    Criterion,
    Duration,
    CrossReference,
    Statement,
    Code,
    Reference,
    DosingRow,
    Unknown,
)


@dataclass(frozen=True)
class Drug:
    generic_name: str
    brand_names: tuple[str, ...]


@dataclass(frozen=True)
class Header:
    title: str
    reference_number: str
    drugs: tuple[Drug, ...]
    original_effective_date: date
    last_review: Month
    lines_of_business: tuple[str, ...]


@dataclass(frozen=True)
class CoverageBlock:
    """Lines that are not plain content: recognised ``boilerplate``, ``unparsed`` (kept and
    reported), or ``suspect``: read, but the loader doubts its reading (``reason`` says why)."""

    status: str
    kind: str
    span: Span
    text: str
    reason: str = ""


@dataclass(frozen=True)
class PolicyDocument:
    """One full document of a policy as a loader read it."""

    source: str
    sha256: str
    text: str
    header: Header
    records: tuple[Record, ...]
    revision_log: tuple[RevisionRow, ...]
    coverage: tuple[CoverageBlock, ...]
    line_count: int
    form: str = "lines"
    reading: str = ""

    @property
    def policy_id(self) -> str:
        return self.header.reference_number

    def of_kind(self, kind: type[Record]) -> list[Record]:
        return [record for record in self.records if isinstance(record, kind)]

    @property
    def unparsed(self) -> list[CoverageBlock]:
        return [block for block in self.coverage if block.status == "unparsed"]

    @property
    def suspects(self) -> list[CoverageBlock]:
        return [block for block in self.coverage if block.status == "suspect"]

    def character_counts(self) -> dict[str, int]:
        """Non-blank characters of the reading by status: parsed, boilerplate, unparsed, suspect
        (parsed lines the loader doubts; a line doubted twice counts once)."""
        lines = (self.reading or self.text).splitlines()
        total = sum(len(line.strip()) for line in lines)
        counts = {"boilerplate": 0, "unparsed": 0, "suspect": 0}
        doubted: set[int] = set()
        for block in self.coverage:
            if block.status == "suspect":
                doubted.update(range(block.span.first, block.span.last + 1))
            else:
                counts[block.status] += sum(len(line.strip()) for line in block.text.splitlines())
        counts["suspect"] = sum(len(lines[n - 1].strip()) for n in doubted if n <= len(lines))
        return {"parsed": total - sum(counts.values()), **counts}


@dataclass
class PolicyState:
    """The records of one version, by kind and key: what change operations act on."""

    records: dict[str, dict[str, Record]]

    @classmethod
    def of(cls, records: tuple[Record, ...] | list[Record], source: str = "") -> PolicyState:
        """The records by kind and key; a second record with a key already held is refused
        (``DuplicateRecord`` names ``source`` and the lines of both), never overwrites."""
        state = cls({kind.KIND: {} for kind in RECORD_KINDS})
        for record in records:
            held = state.records[record.KIND].setdefault(record.key, record)
            if held is not record:
                raise DuplicateRecord(source or "a version", record.KIND, record.key, _lines(held), _lines(record))
        return state

    def copy(self) -> PolicyState:
        return PolicyState({kind: dict(by_key) for kind, by_key in self.records.items()})

    def all(self) -> Iterator[Record]:
        for by_key in self.records.values():
            yield from by_key.values()

    def criteria(self) -> dict[str, Criterion]:
        return self.records[Criterion.KIND]  # type: ignore[return-value]

    def children(self, parent_id: str | None) -> list[Criterion]:
        kids = [c for c in self.criteria().values() if c.parent_id == parent_id]
        return sorted(kids, key=lambda c: (c.section, c.indication, c.position))

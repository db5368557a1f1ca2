"""A policy's timeline: its versions, each in force over ``[valid_from, valid_to)``.

Every loaded document is the version of its newest log row; each revision's change data,
applied backwards, gives the version before it, from the nearest later document. The first
revision of the log is the earliest version vouched for.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from difflib import SequenceMatcher

from kb.errors import ChangeDataError
from kb.model import Criterion, CrossReference, PolicyDocument, PolicyState, Record, Source, Unknown
from revisions.changes import ChangeSet, apply_backwards, renumber
from revisions.log import DEFAULT_RULE, Revision, revisions_from_log
from revisions.provenance import Slot, attribute, shows, value


@dataclass(frozen=True)
class Version:
    label: str
    valid_from: date
    valid_to: date | None
    revision: Revision
    basis: str
    state: PolicyState
    document_sha256: str | None = None


@dataclass(frozen=True)
class Disagreement:
    """A record where a loaded document says otherwise than the reconstruction for its dates:
    ``status`` "differs", or "was unknown" (the reconstruction held it unknown; the document tells it)."""

    version: str
    kind: str
    key: str
    reconstructed: dict | None
    document: dict | None
    status: str = "differs"


@dataclass(frozen=True)
class Timeline:
    policy_id: str
    rule: str
    revisions: tuple[Revision, ...]
    versions: tuple[Version, ...]
    disagreements: tuple[Disagreement, ...]
    changesets: tuple[ChangeSet, ...] = ()

    @property
    def earliest(self) -> date | None:
        return self.versions[0].valid_from if self.versions else None


@dataclass(frozen=True)
class Interval:
    """One record over the versions it is unchanged in: ``[valid_from, valid_to)``."""

    record: Record
    valid_from: date
    valid_to: date | None


def version_label(revision: Revision, changeset: ChangeSet | None) -> str:
    return changeset.version if changeset else f"V{revision.effective_date:%Y-%m}"


def build_timeline(documents: list[PolicyDocument], changesets: list[ChangeSet], rule: str = DEFAULT_RULE) -> Timeline:
    """Every version the documents and change data can vouch for, oldest first.

    Each document is the version of its newest log row (the newest document's log lists the
    revisions); a version older than a document is rebuilt from the nearest later document by
    applying change data backwards. Where neither tells a version, there is none (a gap).
    An older document's text wins over the reconstruction of its version, and each
    disagreement is reported.
    """
    newest = documents[-1]
    revisions = revisions_from_log(newest.revision_log, rule)
    by_revision = {changeset.revision: changeset for changeset in changesets}
    _check_dates(revisions, changesets)
    if not revisions:
        return Timeline(newest.policy_id, rule, (), (), ())
    anchors = _anchors(revisions, documents)
    slots: list[Slot] = []
    found: list[Disagreement] = []
    later: PolicyState | None = None
    nearest: PolicyState | None = None
    for index in reversed(range(len(revisions))):
        revision = revisions[index]
        derived = None
        step = by_revision.get(revisions[index + 1].date) if index + 1 < len(revisions) else None
        if later is not None and step is not None:
            derived = apply_backwards(later, step, revisions[index + 1].clause_texts)
        document = anchors.get(index)
        state, sha = derived, None
        if document is not None:
            state, sha = _document_state(document, derived or nearest), document.sha256
            if derived is not None:
                found += disagreements(version_label(revision, by_revision.get(revision.date)), derived, state)
        slots.append(Slot(revision, state, sha, by_revision.get(revision.date)))
        later = state
        nearest = state or nearest
    first = by_revision.get(revisions[0].date)
    if first and later is not None:  # checked against the earliest version, not stored
        apply_backwards(later, first, revisions[0].clause_texts)
    slots.reverse()
    _check_copies(slots)
    versions = _versions(slots, attribute(slots), by_revision)
    used = tuple(by_revision[r.date] for r in revisions if r.date in by_revision)
    return Timeline(newest.policy_id, rule, tuple(revisions), tuple(versions), tuple(found), used)


def _check_dates(revisions: list[Revision], changesets: list[ChangeSet]) -> None:
    """Change data of a revision the log does not list is an error (unless it is newer than the log)."""
    dates = {r.date for r in revisions}
    for changeset in changesets:
        if changeset.revision not in dates and revisions and changeset.revision < revisions[-1].date:
            raise ChangeDataError(
                changeset.path,
                None,
                "a revision Date that is a row of the revision log",
                changeset.revision.isoformat(),
            )


def _check_copies(slots: list[Slot]) -> None:
    """What an older copy shows of a version must be in its reconstruction: else the change data is wrong."""
    for slot in slots:
        for witness in slot.changeset.copies if slot.changeset and slot.state else ():
            record = slot.state.records[witness.kind].get(witness.key)  # type: ignore[union-attr]
            if record is None or not shows(witness, record):
                raise ChangeDataError(
                    slot.changeset.path,  # type: ignore[union-attr]
                    witness.line,
                    f"{witness.kind} {witness.key} reading “{witness.words}” in the version after the revision, "
                    f"as {witness.source} shows it",
                    getattr(record, "text", None) or "none",
                )


def _anchors(revisions: list[Revision], documents: list[PolicyDocument]) -> dict[int, PolicyDocument]:
    """Each document at the revision of its newest log row (a later document of the same revision wins)."""
    index = {revision.date: n for n, revision in enumerate(revisions)}
    anchors: dict[int, PolicyDocument] = {}
    for document in documents:
        if document.revision_log:
            last = max(row.date for row in document.revision_log)
            if last in index:
                anchors[index[last]] = document
    return anchors


def _document_state(document: PolicyDocument, reference: PolicyState | None) -> PolicyState:
    """A document's records, its criteria given the identities of ``reference`` (the version
    after it, or its reconstruction) where they match."""
    state = PolicyState.of(document.records)
    if reference is not None:
        state = align_identities(state, reference)
    renumber(state)
    return state


def _versions(slots: list[Slot], states: list[PolicyState | None], by_revision: dict[date, ChangeSet]) -> list[Version]:
    """Versions over ``[effective date, next revision's effective date)``; none where nothing tells one."""
    versions: list[Version] = []
    for index, (slot, state) in enumerate(zip(slots, states)):
        revision = slot.revision
        valid_to = slots[index + 1].revision.effective_date if index + 1 < len(slots) else None
        if state is None or (valid_to is not None and valid_to <= revision.effective_date):
            continue  # nothing tells this version, or it was superseded on the day it took effect
        basis = "document" if slot.document_sha256 else "reconstructed"
        label = version_label(revision, by_revision.get(revision.date))
        versions.append(Version(label, revision.effective_date, valid_to, revision, basis, state, slot.document_sha256))
    return versions


def intervals(versions: tuple[Version, ...] | list[Version]) -> list[Interval]:
    """Records as intervals: one row while a record is unchanged, a new row when it changes."""
    closed: list[Interval] = []
    open_rows: dict[tuple[str, str], Interval] = {}
    for version in versions:
        seen: set[tuple[str, str]] = set()
        for record in version.state.all():
            identity = (record.KIND, record.key)
            seen.add(identity)
            current = open_rows.get(identity)
            if current and current.record == record and current.valid_to == version.valid_from:
                open_rows[identity] = Interval(record, current.valid_from, version.valid_to)
                continue
            if current:
                closed.append(current)
            open_rows[identity] = Interval(record, version.valid_from, version.valid_to)
        for identity in set(open_rows) - seen:
            closed.append(open_rows.pop(identity))
    return closed + list(open_rows.values())


def disagreements(label: str, reconstructed: PolicyState, document: PolicyState) -> list[Disagreement]:
    """Records of a version that its document and its reconstruction tell differently (what
    each says, not how it was read or numbered)."""
    unknowns = list(reconstructed.records[Unknown.KIND].values())
    found = []
    for kind, by_key in document.records.items():
        if kind == Unknown.KIND:
            continue
        old = reconstructed.records[kind]
        for key in sorted(set(by_key) | set(old)):
            before, after = old.get(key), by_key.get(key)
            if before is not None and after is not None and _said(before) == _said(after):
                continue
            record = before or after
            unknown = (before is not None and before.provenance.source == Source.UNKNOWN) or (
                before is None and any(u.covers(record) for u in unknowns)  # type: ignore[arg-type]
            )
            status = "was unknown" if unknown else "differs"
            found.append(Disagreement(label, kind, key, before and before.content(), after and after.content(), status))
    return found


def _said(record: Record) -> dict[str, object]:
    return {k: v for k, v in value(record).items() if k != "raw_text"}


def align_identities(document: PolicyState, reconstructed: PolicyState) -> PolicyState:
    """Give a document's criteria the identities of the reconstruction's items they match.

    Items match within their criteria set by text similarity (at least 0.75), best first;
    failing that, an item reworded in place keeps the identity of the unmatched item at its
    parent and label; an item that matches neither keeps its own label path, marked "doc".
    """
    old = list(reconstructed.criteria().values())
    mapping: dict[str, str] = {}
    for item in sorted(document.criteria().values(), key=lambda c: c.item_id.count(".")):
        candidates = [
            c
            for c in old
            if c.section == item.section and c.indication == item.indication and c.item_id not in mapping.values()
        ]
        best = max(candidates, key=lambda c: _similarity(c.text, item.text), default=None)
        if item.parent_id is None:
            mapping[item.item_id] = item.item_id
        elif best and _similarity(best.text, item.text) >= 0.75:
            mapping[item.item_id] = best.item_id
        elif in_place := next(
            (c for c in candidates if c.parent_id == mapping.get(item.parent_id) and c.label == item.label), None
        ):
            mapping[item.item_id] = in_place.item_id
        else:
            mapping[item.item_id] = f"{mapping.get(item.parent_id, item.parent_id)}.doc-{item.label.rstrip('.')}"
    records: list[Record] = []
    for record in document.all():
        if isinstance(record, Criterion):
            record = replace(
                record,
                item_id=mapping[record.item_id],
                parent_id=mapping.get(record.parent_id) if record.parent_id else None,
            )
        elif isinstance(record, CrossReference):
            record = replace(record, item_id=mapping.get(record.item_id, record.item_id))
        records.append(record)
    return PolicyState.of(records)


def _similarity(a: str | None, b: str | None) -> float:
    return SequenceMatcher(None, (a or "").lower(), (b or "").lower()).ratio()

"""A policy's timeline: its versions, each in force over ``[valid_from, valid_to)``.

Every loaded document is the version of its newest log row; each revision's change data,
applied backwards, gives the version before it, from the nearest later document. The first
revision of the log is the earliest version vouched for.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from kb.errors import ChangeDataError
from kb.model import PolicyDocument, PolicyState, Record
from revisions.changes import ChangeSet, apply_backwards
from revisions.documents import Disagreement, anchored, disagreements, document_state
from revisions.log import DEFAULT_RULE, Revision, merged_log, revisions_from_log
from revisions.provenance import Slot, attribute, shows


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
    disagreement is reported. The revisions are the newest document's log rows and those an
    older document prints and a newer one no longer does (``merged_log``).
    """
    newest = documents[-1]
    rows, kept = merged_log([(document.sha256, document.revision_log) for document in documents])
    revisions = [replace(r, kept_from=kept.get(r.date)) for r in revisions_from_log(rows, rule)]
    by_revision = {changeset.revision: changeset for changeset in changesets}
    _check_dates(revisions, changesets)
    if not revisions:
        return Timeline(newest.policy_id, rule, (), (), ())
    anchors = _anchors(revisions, documents)
    fixed = anchored(anchors, _reference(revisions, anchors, changesets))
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
            state, sha = fixed.get(index) or document_state(document, derived or nearest), document.sha256
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
    """What an older copy shows of a version must be in its reconstruction, in the order the
    copy prints it: else the change data is wrong."""
    for slot in slots:
        for copy in slot.changeset.sources if slot.changeset and slot.state else ():
            places = {c.item_id: (c.parent_id, c.position) for c in slot.state.criteria().values()}  # type: ignore[union-attr]
            if (line := copy.out_of_order(places)) is not None:
                raise ChangeDataError(
                    copy.path,
                    line.line,
                    f"criterion {line.key} after the items {copy.source} prints before it, as the copy orders them",
                    f"position {places[line.key][1]:g} under {places[line.key][0]}",
                )
        for witness in slot.changeset.witnesses if slot.changeset and slot.state else ():
            record = slot.state.records[witness.kind].get(witness.key)  # type: ignore[union-attr]
            if record is None or not shows(witness, record):
                raise ChangeDataError(
                    witness.path or slot.changeset.path,  # type: ignore[union-attr]
                    witness.line,
                    f"{witness.kind} {witness.key} reading “{witness.words}” in the version after the revision, "
                    f"as {witness.source} shows it",
                    getattr(record, "text", None) or "none",
                )


def _reference(
    revisions: list[Revision], anchors: dict[int, PolicyDocument], changesets: list[ChangeSet]
) -> int | None:
    """The document whose label paths are the identities (the change data's): the newest one
    the change data reaches, or without change data the oldest."""
    if not anchors:
        return None
    if not changesets:
        return min(anchors)
    reach = max(c.revision for c in changesets)
    within = [i for i in anchors if revisions[i].date <= reach]
    return max(within) if within else min(anchors)


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

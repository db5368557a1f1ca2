"""A policy's timeline: its versions, each in force over ``[valid_from, valid_to)``.

The newest document is the anchor; each revision's change data, applied backwards, gives
the version before it. The first revision of the log is the earliest version vouched for.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from difflib import SequenceMatcher

from kb.errors import ChangeDataError
from kb.model import Criterion, CrossReference, PolicyDocument, PolicyState, Record
from revisions.changes import ChangeSet, apply_backwards, renumber
from revisions.log import DEFAULT_RULE, Revision, revisions_from_log


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
    """A record where a loaded document says otherwise than the reconstruction for its dates."""

    version: str
    kind: str
    key: str
    reconstructed: dict | None
    document: dict | None


@dataclass(frozen=True)
class Timeline:
    policy_id: str
    rule: str
    revisions: tuple[Revision, ...]
    versions: tuple[Version, ...]
    disagreements: tuple[Disagreement, ...]

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

    The newest document is the anchor; an older document replaces the reconstruction of
    its own version (its text wins) and each disagreement is reported.
    """
    document = documents[-1]
    revisions = revisions_from_log(document.revision_log, rule)
    by_revision = {changeset.revision: changeset for changeset in changesets}
    dates = {r.date for r in revisions}
    for changeset in changesets:  # change data of revisions after the document's own log does not apply to it
        if changeset.revision not in dates and revisions and changeset.revision < revisions[-1].date:
            raise ChangeDataError(
                changeset.path,
                None,
                "a revision Date that is a row of the revision log",
                changeset.revision.isoformat(),
            )
    if not revisions:
        return Timeline(document.policy_id, rule, (), (), ())
    state = PolicyState.of(document.records)
    renumber(state)
    states: list[tuple[Revision, PolicyState, str]] = [(revisions[-1], state, "document")]
    for later, earlier in zip(reversed(revisions), reversed(revisions[:-1])):
        changeset = by_revision.get(later.date)
        if changeset is None:
            break  # without the change data of ``later`` nothing before it can be vouched for
        state = apply_backwards(state, changeset, later.clause_texts)
        states.append((earlier, state, "reconstructed"))
    first = by_revision.get(revisions[0].date)
    if first and len(states) == len(revisions):  # checked against the earliest version, not stored
        apply_backwards(state, first, revisions[0].clause_texts)
    states.reverse()
    ordered = sorted(states, key=lambda s: (s[0].effective_date, s[0].date))
    versions: list[Version] = []
    for index, (revision, version_state, basis) in enumerate(ordered):
        valid_to = ordered[index + 1][0].effective_date if index + 1 < len(ordered) else None
        if valid_to is not None and valid_to <= revision.effective_date:
            continue  # superseded on the day it took effect
        sha = document.sha256 if basis == "document" else None
        versions.append(
            Version(
                version_label(revision, by_revision.get(revision.date)),
                revision.effective_date,
                valid_to,
                revision,
                basis,
                version_state,
                sha,
            )
        )
    snapshots = [apply_snapshot(versions, older) for older in documents[:-1]]
    return Timeline(
        document.policy_id, rule, tuple(revisions), tuple(versions), tuple(d for found in snapshots for d in found)
    )


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


def apply_snapshot(versions: list[Version], document: PolicyDocument) -> list[Disagreement]:
    """Put an older document's own text in place of its version's reconstruction."""
    if not document.revision_log:
        return []
    last = max(document.revision_log, key=lambda row: row.date).date
    index = next((i for i, v in enumerate(versions) if v.revision.date == last), None)
    if index is None:
        return []
    reconstructed = versions[index]
    state = align_identities(PolicyState.of(document.records), reconstructed.state)
    renumber(state)
    versions[index] = replace(reconstructed, basis="document", state=state, document_sha256=document.sha256)
    return disagreements(reconstructed.label, reconstructed.state, state)


def disagreements(label: str, reconstructed: PolicyState, document: PolicyState) -> list[Disagreement]:
    found = []
    for kind, by_key in document.records.items():
        old = reconstructed.records[kind]
        for key in sorted(set(by_key) | set(old)):
            before, after = old.get(key), by_key.get(key)
            if before is None or after is None or before.content() != after.content():
                found.append(Disagreement(label, kind, key, before and before.content(), after and after.content()))
    return found


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

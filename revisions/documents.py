"""What loaded documents contribute to a timeline: their records under the identities the
change data uses, and where their text disagrees with a reconstruction of the same version.

A criterion's ``item_id`` is its identity across versions. Change data names items by the
label paths of one document (the newest one it was written against); every other document's
items take the identities of the items they match there, so that a renumbered item keeps its
identity and an inserted one gets a new one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from difflib import SequenceMatcher

from kb.model import Criterion, CrossReference, PolicyDocument, PolicyState, Record, Source, Unknown
from revisions.changes import renumber
from revisions.provenance import value

SIMILAR = 0.75
"""Two items whose texts are at least this similar are the same item."""


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


def document_state(document: PolicyDocument, reference: PolicyState | None) -> PolicyState:
    """A document's records, its criteria given the identities of ``reference`` (a neighbouring
    version, or the reconstruction of its own) where they match."""
    state = PolicyState.of(document.records, document.source)
    if reference is not None:
        state = align_identities(state, reference)
    renumber(state)
    return state


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


def align_identities(document: PolicyState, reference: PolicyState) -> PolicyState:
    """Give a document's criteria the identities of the reference version's items they match.

    Items match within their criteria set by text similarity (at least ``SIMILAR``), the most
    similar pairs first; failing that, an item reworded in place keeps the identity of the
    unmatched item at its parent and label; an item that matches neither is new: its label
    path, marked "doc", under its parent's identity.
    """
    old = [c for c in reference.criteria().values() if c.parent_id is not None]
    items = sorted(document.criteria().values(), key=lambda c: c.item_id.count("."))
    mapping = {c.item_id: c.item_id for c in items if c.parent_id is None}
    pairs = sorted(
        (
            (_similarity(o.text, c.text), c.item_id, o.item_id)
            for c in items
            if c.parent_id is not None
            for o in old
            if (o.section, o.indication) == (c.section, c.indication)
        ),
        reverse=True,
    )
    taken: set[str] = set()
    for score, mine, theirs in pairs:
        if score >= SIMILAR and mine not in mapping and theirs not in taken:
            mapping[mine] = theirs
            taken.add(theirs)
    for item in (c for c in items if c.item_id not in mapping):
        parent = mapping.get(item.parent_id or "", item.parent_id)
        in_place = next(
            (o for o in old if o.parent_id == parent and o.label == item.label and o.item_id not in taken), None
        )
        mapping[item.item_id] = in_place.item_id if in_place else f"{parent}.doc-{item.label.rstrip('.)')}"
        taken.add(mapping[item.item_id])
    records: list[Record] = []
    for record in document.all():
        if isinstance(record, Criterion):
            parent = mapping.get(record.parent_id) if record.parent_id else None
            record = replace(record, item_id=mapping[record.item_id], parent_id=parent)
        elif isinstance(record, CrossReference):
            record = replace(record, item_id=mapping.get(record.item_id, record.item_id))
        records.append(record)
    return PolicyState.of(records)


def anchored(documents: dict[int, PolicyDocument], reference: int | None) -> dict[int, PolicyState]:
    """The states of the documents at and after the ``reference`` one (by revision index): the
    reference's own identities, each later document aligned to the one before it."""
    states: dict[int, PolicyState] = {}
    previous: PolicyState | None = None
    for index in sorted(i for i in documents if reference is not None and i >= reference):
        states[index] = previous = document_state(documents[index], previous)
    return states


def _similarity(a: str | None, b: str | None) -> float:
    return SequenceMatcher(None, (a or "").lower(), (b or "").lower()).ratio()

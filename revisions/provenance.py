"""What each reconstructed element rests on: a clause, a copy, or "unlogged = unchanged".

Applying change data backwards says *what* a version held; this module says *why we believe
it*, for every record of every reconstructed version. A record is followed over its *run*:
the versions in which it reads the same and no operation touches it. Over a run it rests on,
in this order:

1. the clause of the revision that opened the run, if its operation set the value (its
   ``after`` values are in place);
2. the clause that closed the run by removing it (a removal names what it removes);
3. a document in the run (source ``carried``: the document's line, carried across revisions
   whose clauses do not name it: unlogged = unchanged);
4. an older copy that shows it (the copy's own version cites the copy; the others carry it);
5. the operation that closed the run by updating it: an update's clause gives only the new
   value, so its ``before`` is the change data's reading, with that operation's confidence.

The log is the primary source, so its clauses come first. An operation whose ``source`` is a
copy takes its ``before`` values from that copy (with its confidence); its ``after`` values
are the clause's, checked against the version after it.

Each version states its own: the revisions a version's element crosses are those between
that version and its source (V2024-11 carries a line of the 11.25 document across 07.15.25
only; V2021 across every revision from 08.02.22), and its confidence is the weakest of the
source's own and that of every revision crossed (``ChangeSet.unlogged``: how sure we are that
what a revision's log does not name was left alone). So an unchanged record is stored as one
interval per version where what vouches for it differs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from kb.model import PolicyState, Provenance, Record, Source, Unknown, in_scope
from revisions.changes import CONFIDENCE, ChangeSet, Operation, Witness, _coerce
from revisions.log import Revision

_POSITIONAL = frozenset({"label", "position"})


@dataclass(frozen=True)
class Slot:
    """One version of the chain: its revision, its records (None: nothing tells them), the
    document it was read from, and the change data of the revision that led to it."""

    revision: Revision
    state: PolicyState | None
    document_sha256: str | None
    changeset: ChangeSet | None

    @property
    def operations(self) -> tuple[Operation, ...]:
        return self.changeset.operations if self.changeset else ()

    @property
    def unlogged(self) -> str:
        return self.changeset.unlogged if self.changeset else "medium"

    def get(self, record: Record) -> Record | None:
        return self.state.records[record.KIND].get(record.key) if self.state else None


def weakest(*levels: str) -> str:
    """The lowest of some confidence levels ("high" > "medium" > "medium-low" > "low")."""
    return max(levels, key=CONFIDENCE.index, default="high")


def value(record: Record) -> dict[str, object]:
    """What a record says, without where the version numbers it."""
    return {k: v for k, v in record.content().items() if k not in _POSITIONAL}


def touches(op: Operation, record: Record) -> bool:
    """Does ``op`` change ``record`` (by its key, or an unknown over a scope below it: the item
    that names the scope keeps its own record)?"""
    if op.kind != record.KIND:
        return False
    anchor = getattr(record, "item_id", record.key)
    return op.key == record.key if op.action != "unknown" else in_scope(op.key, anchor) and anchor != op.key


def _same(a: Record | None, b: Record | None) -> bool:
    return a is b or (a is not None and b is not None and value(a) == value(b))


def _sets(op: Operation, record: Record) -> bool:
    """Does ``op`` leave ``record`` as it reads (all its ``after`` values in place)?"""
    if op.action not in ("insert", "update") or (op.kind, op.key) != (record.KIND, record.key):
        return False
    content = record.content()
    return all(content.get(name) == v for name, v in _coerce(op.kind, op.after)[0].items())


def _restates(op: Operation, record: Record) -> bool:
    """Do ``op``'s ``before`` values say what ``record`` reads?"""
    if op.action not in ("update", "remove") or (op.kind, op.key) != (record.KIND, record.key):
        return False
    content = record.content()
    values, unknown = _coerce(op.kind, op.before)
    return not unknown and all(content.get(n) == v for n, v in values.items() if n not in _POSITIONAL)


def shows(witness: Witness, record: Record) -> bool:
    def squeeze(text: str) -> str:
        return re.sub(r"\s+", " ", text).strip().casefold()

    text = getattr(record, "text", None) or ""
    return (witness.kind, witness.key) == (record.KIND, record.key) and squeeze(witness.words) in squeeze(text)


def runs(slots: list[Slot], kind: str, key: str) -> Iterator[tuple[int, int]]:
    """``(first, last)`` slot indexes over which the record ``kind``/``key`` is unchanged."""
    start = None
    for index, slot in enumerate(slots):
        record = slot.state.records[kind].get(key) if slot.state else None
        if start is not None:
            previous = slots[index - 1].state.records[kind][key]  # type: ignore[union-attr]
            if record is None or not _same(previous, record) or any(touches(op, record) for op in slot.operations):
                yield start, index - 1
                start = None
        if record is not None and start is None:
            start = index
    if start is not None:
        yield start, len(slots) - 1


def _crossing(slots: list[Slot], low: int, high: int) -> tuple[str, str]:
    """The revisions from version ``low`` to ``high``: their names, and the weakest
    confidence that they left what they do not name alone."""
    crossed = slots[low + 1 : high + 1]
    names = ", ".join(f"{s.revision.date:%m.%d.%y}" for s in crossed)
    return names or "none", weakest(*(s.unlogged for s in crossed))


def _clause(slot: Slot, op: Operation) -> str:
    return slot.revision.clause_texts.get(op.clause, f"clause {op.clause}")


def support(slots: list[Slot], record: Record, low: int, high: int, near: int) -> Provenance | None:
    """The provenance of ``record`` in version ``near`` of its run ``low..high`` (steps 1-5 of
    the module doc): the revisions it crosses are those between this version and its source."""
    for op in slots[low].operations:
        if _sets(op, record):  # an operation whose values before rest on a copy states its values after by the log
            own = op.confidence if op.source == Source.LOG else "high"
            return Provenance(
                Source.LOG,
                revision=slots[low].revision.key,
                clause=_clause(slots[low], op),
                confidence=weakest(own, _crossing(slots, low, near)[1]),
            )
    closing = slots[high + 1] if high + 1 < len(slots) else None
    if removal := _closed_by(closing, record, _crossing(slots, near, high)[1], ("remove",)):
        return removal
    for m in [*range(near + 1, high + 1), *range(near - 1, low - 1, -1)]:  # the nearest later document first
        if slots[m].document_sha256:
            names, level = _crossing(slots, min(near, m), max(near, m))
            carried = f"unlogged = unchanged: no clause of {names} names it"
            span = slots[m].get(record).provenance.span  # type: ignore[union-attr]
            return Provenance(Source.CARRIED, slots[m].document_sha256, span, slots[m].revision.key, carried, level)
    for m in range(low, high + 1):
        for witness in slots[m].changeset.witnesses if slots[m].changeset else ():
            if shows(witness, record):
                names, level = _crossing(slots, min(near, m), max(near, m))
                why = f"unlogged = unchanged: no clause of {names} names it; {witness.source} ({slots[m].changeset.version}) reads “{witness.words}”"  # type: ignore[union-attr]
                return Provenance(
                    Source.CARRIED, None, None, slots[m].revision.key, why, weakest(witness.confidence, level)
                )
    return _closed_by(closing, record, _crossing(slots, near, high)[1], ("update",))


def _closed_by(closing: Slot | None, record: Record, level: str, actions: tuple[str, ...]) -> Provenance | None:
    """The operation that ends a run by removing (or updating) ``record``, cited for what it restates."""
    for op in closing.operations if closing else ():
        if op.action in actions and _restates(op, record):
            clause = _clause(closing, op)  # type: ignore[arg-type]
            if op.source != Source.LOG and op.note:  # the values rest on a copy: say what it shows
                clause = f"{op.note} Then: “{clause}”"
            return Provenance(
                op.source,
                revision=closing.revision.key,  # type: ignore[union-attr]
                clause=clause,
                confidence=weakest(op.confidence, level),
            )
    return None


def _copy(slot: Slot, record: Record) -> Provenance | None:
    """The copy of this very version that shows ``record``, if any."""
    for witness in slot.changeset.witnesses if slot.changeset else ():
        if shows(witness, record):
            note = witness.note or f"{witness.source} reads “{witness.words}”"
            return Provenance(witness.source, revision=slot.revision.key, clause=note, confidence=witness.confidence)
    return None


def attribute(slots: list[Slot]) -> list[PolicyState | None]:
    """Every version's records with the provenance of their source (documents' own stay)."""
    states = [slot.state.copy() if slot.state and not slot.document_sha256 else slot.state for slot in slots]
    keys = {(r.KIND, r.key) for slot in slots if slot.state for r in slot.state.all() if not isinstance(r, Unknown)}
    for kind, key in sorted(keys):
        for low, high in runs(slots, kind, key):
            first = slots[low].state.records[kind][key]  # type: ignore[union-attr]
            if first.provenance.source == Source.UNKNOWN:
                continue
            for index in range(low, high + 1):
                state = states[index]
                if state is None or slots[index].document_sha256:
                    continue
                record = state.records[kind][key]
                provenance = _copy(slots[index], record) or support(slots, first, low, high, index)
                if provenance is not None:
                    state.records[kind][key] = replace(record, provenance=provenance)
    return states

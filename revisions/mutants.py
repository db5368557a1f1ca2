"""Defects planted in a copy of the change data, to measure what the audit catches.

Every mutant is generated from the change data itself, by five operators applied to every
operation (or record) they fit, so that the figure is not a choice of easy cases:

- ``drop``: leave one operation out;
- ``value``: change one value an operation states (a number +1, a logic word all <-> any,
  "and" <-> "or" in logic words), in every operation that states the same value of the same
  record, so that the change data stays self-consistent;
- ``unlogged``: add a change no clause names (the first untouched item of each criteria set
  and the first untouched duration, its text altered before the revision);
- ``citation``: make an operation cite the next clause of its revision;
- ``move``: move an operation to the revision before or after its own.

Operations of the earliest revision are left alone: the state they lead back to is not stored
(nothing before the earliest version is vouched for), so a defect there changes nothing an
auditor signs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from kb.model import Criterion, Duration, PolicyState, Record
from revisions.changes import ChangeSet, Operation
from revisions.provenance import touches

OPERATORS = ("drop", "value", "unlogged", "citation", "move")


@dataclass(frozen=True)
class Mutant:
    operator: str
    name: str
    changesets: tuple[ChangeSet, ...]


def _with(changesets: tuple[ChangeSet, ...], index: int, operations: list[Operation]) -> tuple[ChangeSet, ...]:
    changed = list(changesets)
    changed[index] = replace(changesets[index], operations=tuple(operations))
    return tuple(changed)


def _where(changeset: ChangeSet, op: Operation) -> str:
    return f"{changeset.path.rsplit('/', 1)[-1]}:{op.line} {op.action} {op.kind} {op.key}"


def dropped(changesets: tuple[ChangeSet, ...]) -> Iterator[Mutant]:
    for index, changeset in enumerate(changesets[1:], 1):
        for n, op in enumerate(changeset.operations):
            rest = [o for m, o in enumerate(changeset.operations) if m != n]
            yield Mutant("drop", f"drop {_where(changeset, op)}", _with(changesets, index, rest))


def cited(changesets: tuple[ChangeSet, ...], clauses: dict[str, int]) -> Iterator[Mutant]:
    """Each operation citing the next clause of its revision (``clauses``: how many each has)."""
    for index, changeset in enumerate(changesets[1:], 1):
        count = clauses.get(changeset.revision.isoformat(), 0)
        if count < 2:
            continue
        for n, op in enumerate(changeset.operations):
            other = op.clause % count + 1
            swapped = [replace(o, clause=other) if m == n else o for m, o in enumerate(changeset.operations)]
            name = f"cite #{other} instead of #{op.clause}: {_where(changeset, op)}"
            yield Mutant("citation", name, _with(changesets, index, swapped))


def moved(changesets: tuple[ChangeSet, ...]) -> Iterator[Mutant]:
    for index, changeset in enumerate(changesets[1:], 1):
        for n, op in enumerate(changeset.operations):
            for target in (index - 1, index + 1):
                if target < 1 or target >= len(changesets):
                    continue
                rest = [o for m, o in enumerate(changeset.operations) if m != n]
                both = _with(_with(changesets, index, rest), target, [*changesets[target].operations, op])
                name = f"move to {changesets[target].revision}: {_where(changeset, op)}"
                yield Mutant("move", name, both)


def altered(value: object) -> object | None:
    """A value changed the way a slip would change it, or None where no such change applies."""
    if value in ("all", "any"):
        return "any" if value == "all" else "all"
    if not isinstance(value, str) or value in ("", "unknown"):
        return None
    if re.search(r"\d", value):
        return re.sub(r"\d+", lambda m: str(int(m.group(0)) + 1), value, count=1)
    if re.search(r"\((?:[a-z]|i+) (?:and|or) ", value):
        return re.sub(r" (and|or) ", lambda m: " or " if m.group(1) == "and" else " and ", value, count=1)
    return None


def revalued(changesets: tuple[ChangeSet, ...]) -> Iterator[Mutant]:
    """Each value an operation states, changed in every operation stating it for the same record."""
    seen: set[tuple[str, str, str, object]] = set()
    for changeset in changesets[1:]:
        for op in changeset.operations:
            for table in (op.before, op.after):
                for name, value in table.items():
                    identity = (op.kind, op.key, name, value)
                    new = altered(value)
                    if new is None or identity in seen:
                        continue
                    seen.add(identity)
                    yield Mutant(
                        "value",
                        f"{op.kind} {op.key}.{name}: {value!r} -> {new!r} ({_where(changeset, op)})",
                        tuple(_revalue(c, identity, new) if c is not changesets[0] else c for c in changesets),
                    )


def _revalue(changeset: ChangeSet, identity: tuple[str, str, str, object], new: object) -> ChangeSet:
    kind, key, name, value = identity

    def fix(table: dict[str, object]) -> dict[str, object]:
        return {n: (new if (n, v) == (name, value) else v) for n, v in table.items()}

    operations = tuple(
        replace(op, before=fix(op.before), after=fix(op.after)) if (op.kind, op.key) == (kind, key) else op
        for op in changeset.operations
    )
    return replace(changeset, operations=operations)


def unlogged(changesets: tuple[ChangeSet, ...], states: dict[str, PolicyState]) -> Iterator[Mutant]:
    """A change no clause names, planted at each revision (``states``: the version after each, by revision date)."""
    for index, changeset in enumerate(changesets[1:], 1):
        state = states.get(changeset.revision.isoformat())
        if state is None:
            continue
        for record in _untouched(state, changeset):
            text = record.text  # type: ignore[attr-defined]
            new = altered(text) or re.sub(r"\s*\S+([;:.]?)$", r"\1", text)
            op = Operation("update", record.KIND, record.key, 1, "log", "high", {"text": new}, {"text": text}, None, 0)
            name = f"unlogged {record.KIND} {record.key}: {text!r} -> {new!r} before {changeset.revision}"
            yield Mutant("unlogged", name, _with(changesets, index, [*changeset.operations, op]))


def _untouched(state: PolicyState, changeset: ChangeSet) -> list[Record]:
    """The first leaf of each criteria set and the first duration that the revision does not touch."""
    free = [
        r
        for r in state.all()
        if r.provenance.source != "unknown" and not any(touches(op, r) for op in changeset.operations)
    ]
    leaves = [
        r
        for r in free
        if isinstance(r, Criterion)
        and r.text
        and not state.children(r.item_id)
        and r.parent_id
        and r.parent_id.count(".") == 1
    ]
    firsts: dict[str, Record] = {}
    for leaf in sorted(leaves, key=lambda c: (c.section, c.indication, c.position)):
        firsts.setdefault(leaf.parent_id or "", leaf)  # type: ignore[attr-defined]
    durations = sorted((r for r in free if isinstance(r, Duration) and r.text), key=lambda r: r.key)
    return [*firsts.values(), *durations[:1]]


def mutants(changesets: list[ChangeSet], clauses: dict[str, int], states: dict[str, PolicyState]) -> list[Mutant]:
    """Every mutant of the five operators, in a fixed order."""
    ordered = tuple(sorted(changesets, key=lambda c: c.revision))
    return [
        *dropped(ordered),
        *revalued(ordered),
        *unlogged(ordered, states),
        *cited(ordered, clauses),
        *moved(ordered),
    ]

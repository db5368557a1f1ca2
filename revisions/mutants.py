"""Defects planted in a copy of the change data, to measure what the audit catches.

Every mutant is generated from the change data itself, by operators applied to every
operation (or record) they fit, so that the figure is not a choice of easy cases:

- ``drop``: leave one operation out;
- ``value``: change one value an operation states (a number +1, a logic word all <-> any,
  "and" <-> "or" in logic words), in every operation that states the same value of the same
  record, so that the change data stays self-consistent;
- ``unlogged``: add a change no clause names (the first untouched item of each criteria set
  and the first untouched duration, its text altered before the revision);
- ``citation``: make an operation cite the next clause of its revision;
- ``move``: move an operation to the revision before or after its own;
- ``logic``: logic words turned the other way ("both ... (i and ii)" <-> "one of ... (i or ii)",
  all <-> any) in every operation on one record;
- ``polarity``: "positive" <-> "negative", "with" <-> "without" likewise;
- ``single-witness``: a number changed in values before that rest on a copy (one witness);
- ``deleted``: a whole change file left out;
- ``confidence``: an operation's confidence raised one level;
- ``source``: an operation's source changed (the log to a stored copy, a copy to the log);
- ``quote``: a high-confidence quote of a stored copy that the copy does not read;
- ``swap``: two sibling items a revision removes swapped in position.

Operations of the earliest revision are left alone: the state they lead back to is not stored
(nothing before the earliest version is vouched for), so a defect there changes nothing an
auditor signs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from kb.model import CONFIDENCE, Criterion, Duration, PolicyState, Record
from revisions.changes import ChangeSet, Operation, Witness
from revisions.provenance import touches

OPERATORS = (
    "drop",
    "value",
    "unlogged",
    "citation",
    "move",
    "logic",
    "polarity",
    "single-witness",
    "deleted",
    "confidence",
    "source",
    "quote",
    "swap",
)


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
    """Every mutant of the operators, in a fixed order."""
    ordered = tuple(sorted(changesets, key=lambda c: c.revision))
    return [
        *dropped(ordered),
        *revalued(ordered),
        *unlogged(ordered, states),
        *cited(ordered, clauses),
        *moved(ordered),
        *_rewritten(ordered, "logic", _logic_flipped),
        *_rewritten(ordered, "polarity", _polarity_flipped),
        *single_witness(ordered),
        *deleted(ordered),
        *raised(ordered),
        *resourced(ordered),
        *fabricated(ordered, states),
        *swapped(ordered),
    ]


_FLIPS = (
    (r"\bboth of the following\b", "one of the following"),
    (r"\bone of the following\b", "both of the following"),
    (r"\((\w+) and (\w+)\)", r"(\1 or \2)"),
    (r"\((\w+) or (\w+)\)", r"(\1 and \2)"),
)
_POLES = {"positive": "negative", "negative": "positive", "with": "without", "without": "with"}


def _logic_flipped(value: object) -> object | None:
    """Logic words turned the other way ("both of the following (i and ii)" -> "one of the following (i or ii)")."""
    if value in ("all", "any"):
        return "any" if value == "all" else "all"
    if not isinstance(value, str):
        return None
    flipped = value
    for pattern, replacement in _FLIPS:
        if re.search(pattern, value):
            flipped = re.sub(pattern, replacement, flipped, count=1)
    return flipped if flipped != value else None


def _polarity_flipped(value: object) -> object | None:
    """The first polarity word turned ("chromosome-positive" -> "chromosome-negative", "with" -> "without")."""
    if not isinstance(value, str):
        return None
    match = re.search(r"(?<=[\s-])(positive|negative)\b|\b(with|without)\b(?=\s+\w)", value)
    if match is None:
        return None
    word = match.group(0)
    return value[: match.start()] + _POLES[word] + value[match.end() :]


def _rewritten(
    changesets: tuple[ChangeSet, ...], operator: str, change: Callable[[object], object | None]
) -> Iterator[Mutant]:
    """Every record whose operations state a value ``change`` applies to: all its operations'
    values changed alike (logic fields with their text), so that the change data stays consistent."""
    seen: set[tuple[str, str]] = set()
    for changeset in changesets[1:]:
        for op in changeset.operations:
            texts = [table.get("text") for table in (op.before, op.after)]
            if (op.kind, op.key) in seen or not any(change(t) is not None for t in texts):
                continue
            seen.add((op.kind, op.key))
            yield Mutant(
                operator,
                f"{operator} {op.kind} {op.key} ({_where(changeset, op)})",
                tuple(_rewrite(c, (op.kind, op.key), change) for c in changesets),
            )


def _rewrite(changeset: ChangeSet, record: tuple[str, str], change: Callable[[object], object | None]) -> ChangeSet:
    def fix(table: dict[str, object]) -> dict[str, object]:
        return {n: (v if (new := change(v)) is None or n == "rule" else new) for n, v in table.items()}

    operations = tuple(
        replace(op, before=fix(op.before), after=fix(op.after)) if (op.kind, op.key) == record else op
        for op in changeset.operations
    )
    return replace(changeset, operations=operations)


def single_witness(changesets: tuple[ChangeSet, ...]) -> Iterator[Mutant]:
    """A number changed in the values before of an operation resting on a copy (its one witness)."""
    for index, changeset in enumerate(changesets[1:], 1):
        for n, op in enumerate(changeset.operations):
            text = op.before.get("text")
            if op.source == "log" or not isinstance(text, str) or not re.search(r"\d", text):
                continue
            new = replace(op, before={**op.before, "text": altered(text)})
            rest = [new if m == n else o for m, o in enumerate(changeset.operations)]
            yield Mutant(
                "single-witness", f"single-witness {text!r}: {_where(changeset, op)}", _with(changesets, index, rest)
            )


def deleted(changesets: tuple[ChangeSet, ...]) -> Iterator[Mutant]:
    """Each revision's change file deleted."""
    for index, changeset in enumerate(changesets):
        rest = changesets[:index] + changesets[index + 1 :]
        yield Mutant("deleted", f"delete {changeset.path.rsplit('/', 1)[-1]}", rest)


def raised(changesets: tuple[ChangeSet, ...]) -> Iterator[Mutant]:
    """Each operation's confidence raised one level (where it is not high)."""
    for index, changeset in enumerate(changesets[1:], 1):
        for n, op in enumerate(changeset.operations):
            level = CONFIDENCE.index(op.confidence)
            if level == 0 or op.action in ("insert", "unknown"):
                continue
            up = CONFIDENCE[level - 1]
            rest = [replace(o, confidence=up) if m == n else o for m, o in enumerate(changeset.operations)]
            yield Mutant(
                "confidence", f"{op.confidence} -> {up}: {_where(changeset, op)}", _with(changesets, index, rest)
            )


def resourced(changesets: tuple[ChangeSet, ...]) -> Iterator[Mutant]:
    """Each operation's source changed: the log to each stored copy, a copy to the log."""
    copies = sorted({copy.source for c in changesets for copy in c.sources})
    for index, changeset in enumerate(changesets[1:], 1):
        for n, op in enumerate(changeset.operations):
            if op.action in ("insert", "unknown"):
                continue
            for source in copies if op.source == "log" else ["log"]:
                rest = [replace(o, source=source) if m == n else o for m, o in enumerate(changeset.operations)]
                name = f"source {op.source} -> {source}: {_where(changeset, op)}"
                yield Mutant("source", name, _with(changesets, index, rest))


def fabricated(changesets: tuple[ChangeSet, ...], states: dict[str, PolicyState]) -> Iterator[Mutant]:
    """A quote of a stored copy, at high confidence, of a record of its version that the copy does not read."""
    for index, changeset in enumerate(changesets):
        state = states.get(changeset.revision.isoformat())
        for copy in changeset.sources if state else ():
            for record in state.all():  # type: ignore[union-attr]
                text = getattr(record, "text", None)
                if not text or copy.quotes(text):
                    continue
                quote = Witness(copy.source, record.KIND, record.key, text, "high", None, 0)
                both = replace(changeset, copies=(*changeset.copies, quote))
                name = f"quote {copy.source} “{text}” for {record.KIND} {record.key}"
                yield Mutant("quote", name, changesets[:index] + (both,) + changesets[index + 1 :])


def swapped(changesets: tuple[ChangeSet, ...]) -> Iterator[Mutant]:
    """Two sibling items a revision removes, swapped in position."""
    for index, changeset in enumerate(changesets[1:], 1):
        removed = [
            (n, op) for n, op in enumerate(changeset.operations) if op.action == "remove" and "position" in op.before
        ]
        for (n, one), (m, other) in zip(removed, removed[1:]):
            if one.before.get("parent_id") != other.before.get("parent_id"):
                continue
            places = {n: other.before["position"], m: one.before["position"]}
            rest = [
                replace(o, before={**o.before, "position": places[k]}) if k in places else o
                for k, o in enumerate(changeset.operations)
            ]
            yield Mutant(
                "swap", f"swap {one.key} and {other.key} ({changeset.revision})", _with(changesets, index, rest)
            )

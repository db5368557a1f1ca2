"""The change data held against its witnesses: the log's clauses and the stored copies.

Building the timeline checks that the change data leads to the document (values after each
revision) and to what copies show; this module checks what the change data *claims* about
the versions before, which nothing downstream can see:

- every revision needs its change file, unless the version before it is a loaded document
  (the first revision's too): without it the versions before it are lost;
- every clause of a revision is carried out by an operation;
- an operation changes logic, polarity, negation or values only as its clause states them
  (``kb.history.meaning``);
- an operation citing a copy describes the copy's version, quotes what the copy reads of its
  record (``quote``, checked against the stored copy), and the copy shows its record with the
  values it states; a record the copy does not show (or where it is cut off) is ``low`` at
  most, with a note saying why;
- a quote of a copy (``[[copy]]``) is read in the stored copy, at no more than its confidence;
- an operation's confidence is no stronger than what vouches for its values before the
  revision: its clause stating them (high), an earlier operation that set them (that
  operation's standing), a copy that shows them (the copy's confidence), else medium-low
  at most, with a note saying why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from kb.history.meaning import Meaning, meaning_of, shares_words, signs, states_logic, states_words
from kb.model import CONFIDENCE, Logic, Source
from revisions.changes import ChangeSet, Operation, _coerce
from revisions.clauses import quantities
from revisions.copies import CopyDocument, squeeze
from revisions.log import Revision
from revisions.timeline import Timeline

UNWITNESSED = "medium-low"
"""The most an operation's values before may claim that no clause, operation or copy shows."""
UNSHOWN = "low"
"""The most an operation citing a copy may claim for a record the copy does not show."""
_STRUCTURAL = frozenset({"parent_id", "item_id", "position", "label", "logic", "line_of_business", "role", "rule"})


@dataclass(frozen=True)
class Finding:
    """A claim of the change data that no witness supports: where it stands and why."""

    path: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = Path(self.path).name + (f":{self.line}" if self.line else "")
        return f"change data {where}: {self.reason}"


def stronger(level: str, than: str) -> bool:
    """Is confidence ``level`` stronger than ``than``?"""
    return CONFIDENCE.index(level) < CONFIDENCE.index(than)


def scrutinise(changesets: list[ChangeSet], revisions: list[Revision], documented: set[date]) -> list[Finding]:
    """Every claim of a policy's change data that its witnesses do not support (see the module
    doc); ``documented``: the revisions whose versions are loaded documents."""
    if not changesets:
        return []
    ordered = sorted(changesets, key=lambda c: c.revision)
    by_date = {r.date: r for r in revisions}
    found = missing_files(ordered, revisions, documented)
    for changeset in ordered:
        revision = by_date.get(changeset.revision)
        clauses = revision.clause_texts if revision else {}
        found += uncited_clauses(changeset, clauses)
        found += quotes(changeset, ordered)
        for op in changeset.operations:
            clause = clauses.get(op.clause, "")
            moved = _moved_values(changeset, op)
            found += [Finding(changeset.path, op.line, reason) for reason in unstated(op, op.clause, clause, moved)]
            found += copy_citation(changeset, op, ordered)
            found += confidence_support(changeset, op, clause, ordered, by_date)
    return found


def scrutinise_timeline(timeline: Timeline, changesets: list[ChangeSet]) -> list[Finding]:
    """``scrutinise`` over the revisions of a built timeline, its document versions told."""
    documented = {v.revision.date for v in timeline.versions if v.basis == "document"}
    return scrutinise(changesets, list(timeline.revisions), documented)


def missing_files(ordered: list[ChangeSet], revisions: list[Revision], documented: set[date]) -> list[Finding]:
    """Revisions without a change file whose earlier version no document tells (the first one's too)."""
    have = {c.revision for c in ordered}
    folder = str(Path(ordered[0].path).parent)
    found = []
    for index, revision in enumerate(revisions):
        earlier = revisions[index - 1].date if index else None
        if revision.date in have or (earlier is not None and earlier in documented):
            continue
        found.append(
            Finding(
                folder,
                None,
                f"the log's revision {revision.date:%m.%d.%y} ({revision.label}) has no change file: "
                "the versions before it cannot be rebuilt",
            )
        )
    return found


def uncited_clauses(changeset: ChangeSet, clauses: dict[int, str]) -> list[Finding]:
    """Clauses of the revision that no operation carries out."""
    cited = {op.clause for op in changeset.operations}
    return [
        Finding(changeset.path, None, f"clause #{n} of {changeset.revision:%m.%d.%y} ({text!r}) has no operation")
        for n, text in sorted(clauses.items())
        if n not in cited
    ]


def _text(values: dict[str, Any]) -> str | None:
    text = values.get("text")
    return None if text in (None, "", "unknown") else str(text)


def _logic(values: dict[str, Any], meaning: Meaning) -> Logic | None:
    return Logic(values["logic"]) if values.get("logic") not in (None, "", "unknown") else meaning.logic


def _moved_values(changeset: ChangeSet, op: Operation) -> frozenset[str]:
    """Values the revision removes from items below ``op``'s record (they move up, not in)."""
    below = [o for o in changeset.operations if o.action == "remove" and o.key.startswith(f"{op.key}.")]
    return frozenset(value for o in below for value in quantities(_text(o.before)))


def unstated(op: Operation, number: int, clause: str, moved: frozenset[str] = frozenset()) -> list[str]:
    """Changes of logic, polarity, negation or value that ``op`` makes and its clause does not
    state (``moved``: values the revision takes from items below the record)."""
    before, after = _text(op.before), _text(op.after)
    if op.action == "unknown" or (before is None and after is None) or not clause:
        return []
    was, now, said = meaning_of(before), meaning_of(after), meaning_of(clause)
    cites = f"clause #{number}"
    found = []
    if op.action == "update" and before is not None and after is not None:
        old, new = _logic(op.before, was), _logic(op.after, now)
        if old and new and old is not new and not states_logic(clause, new):
            found.append(f"changes the logic from {old.value} to {new.value}, which {cites} does not state")
        if was.negations != now.negations and not said.negations:
            found.append(f"adds or removes a negation ({before!r} -> {after!r}), which {cites} does not state")
    for term, sign, flipped in _polarities(op.action, was, now):
        named = signs(said, term)
        if (named and sign not in named) or (flipped and not named):
            found.append(f"reads {term} {sign}, but {cites} names {term} {'/'.join(sorted(named)) or 'nothing'}")
    compared = op.action == "insert" or (op.action == "update" and before is not None)
    new_values = now.values - was.values - moved if op.action == "update" else now.values
    if compared and (missing := sorted(new_values - quantities(clause))):
        found.append(f"states {', '.join(missing)} after the revision, which {cites} does not name")
    return found


def _polarities(action: str, was: Meaning, now: Meaning) -> list[tuple[str, str, bool]]:
    """The polarities an operation brings in or takes out, each with whether it turns a term the
    other way: an insert's, a removal's, an update's new ones and those whose term it drops."""
    if action == "insert":
        return [(t, s, False) for t, s in sorted(now.polarities)]
    if action == "remove":
        return [(t, s, False) for t, s in sorted(was.polarities)]
    added = [(t, s, bool(signs(was, t))) for t, s in sorted(now.polarities - was.polarities)]
    dropped = [(t, s, False) for t, s in sorted(was.polarities - now.polarities) if not signs(now, t)]
    return added + dropped


def _copy(ordered: list[ChangeSet], source: str) -> CopyDocument | None:
    return next((copy for c in ordered for copy in c.sources if copy.source == source), None)


def copy_citation(changeset: ChangeSet, op: Operation, ordered: list[ChangeSet]) -> list[Finding]:
    """An operation whose values before rest on a copy: the copy is of the version before its
    revision, shows its record and reads its values; else it is ``low`` at most, saying why."""
    if op.source == Source.LOG or op.action in ("insert", "unknown"):
        return []

    def fail(reason: str) -> list[Finding]:
        return [Finding(changeset.path, op.line, reason)]

    copy = _copy(ordered, op.source)
    if copy is None:
        return fail(f"cites {op.source}, which is not a stored copy (copies/*.toml)")
    index = [c.revision for c in ordered].index(changeset.revision)
    if index == 0 or ordered[index - 1].revision != copy.revision:
        return fail(
            f"cites {op.source}, a copy of the version after {copy.revision:%m.%d.%y}, for the version "
            f"before {changeset.revision:%m.%d.%y}"
        )
    line = copy.line_of(op.kind, op.key)
    text = _text(op.before) or ""
    if not op.quote:
        return fail(f"cites {op.source} without quoting what it reads of {op.kind} {op.key} ('quote = ...')")
    if line is None or squeeze(op.quote) not in squeeze(line.text):
        return fail(f"quotes {op.source} “{op.quote}”, which the copy does not read of {op.kind} {op.key}")
    if line is None or line.cut:
        where = f"it stops at “{line.text}”" if line else "it has no line of it"
        if stronger(op.confidence, UNSHOWN) or not op.note:
            return fail(
                f"confidence {op.confidence} rests on {op.source}, which does not show {op.kind} {op.key} "
                f"({where}): a value no witness shows is {UNSHOWN} at most, with a note saying why"
            )
        if line and line.reading and meaning_of(text) != meaning_of(line.reading):
            return fail(
                f"reads {text!r} before the revision, but the one reading of where {op.source} stops gives “{line.reading}”"
            )
        return []
    if squeeze(line.text) not in squeeze(text):
        return fail(f"reads {text!r} before the revision, but {op.source} shows “{line.text}”")
    if stronger(op.confidence, copy.confidence):
        return fail(f"confidence {op.confidence} is stronger than {op.source}'s own ({copy.confidence})")
    return []


def quotes(changeset: ChangeSet, ordered: list[ChangeSet]) -> list[Finding]:
    """What the change data quotes of a copy must be read in the stored copy of that version."""
    found = []
    for witness in changeset.copies:
        copy = next((c for c in changeset.sources if c.source == witness.source), None)
        if copy is None:
            reason = f"quotes {witness.source}, which is not a stored copy of {changeset.version}"
        elif not copy.quotes(witness.words):
            reason = f"quotes {witness.source} “{witness.words}”, which the copy does not read"
        elif stronger(witness.confidence, copy.confidence):
            reason = (
                f"quotes {witness.source} at {witness.confidence}, stronger than the copy's own ({copy.confidence})"
            )
        else:
            continue
        found.append(Finding(changeset.path, witness.line, reason))
    return found


def _vouched(values: dict[str, Any]) -> list[str]:
    """The values an operation states that a witness must show (not where the version puts them)."""
    return [str(v) for k, v in values.items() if k not in _STRUCTURAL and v not in ("", "unknown", None)]


@dataclass(frozen=True)
class Standing:
    """What vouches for an operation's values before its revision: the strongest witness's
    confidence and what it is, and whether the log (a clause, or an operation whose clause set
    the values, or a clause that states at least half their words) is among the witnesses."""

    level: str
    what: str
    by_log: bool


def standing(
    op: Operation, clause: str, ordered: list[ChangeSet], by_date: dict[date, Revision], changeset: ChangeSet
) -> Standing:
    """The strongest witness of ``op``'s values before its revision (see the module doc)."""
    if all(states_words(clause, v) for v in _vouched(op.before)):
        return Standing("high", f"clause #{op.clause} states it", True)
    partly = all(shares_words(clause, v) for v in _vouched(op.before))
    best = Standing(UNWITNESSED, "no clause, operation or copy shows it", partly)
    for earlier in (c for c in ordered if c.revision < changeset.revision):
        for setter in earlier.operations:
            if (setter.kind, setter.key) != (op.kind, op.key) or setter.action not in ("insert", "update"):
                continue
            after = _coerce(op.kind, setter.after)[0]
            if all(after.get(k) == v for k, v in _coerce(op.kind, op.before)[0].items() if k in setter.after):
                revision = by_date.get(earlier.revision)
                said = revision.clause_texts.get(setter.clause, "") if revision else ""
                level = "high" if all(states_words(said, str(v)) for v in _vouched(setter.after)) else setter.confidence
                if not stronger(best.level, level):
                    best = Standing(level, f"the operation of {earlier.revision:%m.%d.%y} that set it", True)
    text = _text(op.before) or ""
    for witness in (w for c in ordered for w in c.witnesses if (w.kind, w.key) == (op.kind, op.key)):
        if squeeze(witness.words) in squeeze(text) and stronger(witness.confidence, best.level):
            best = Standing(witness.confidence, f"{witness.source} shows “{witness.words}”", best.by_log)
    for copy in (copy for c in ordered for copy in c.sources):
        line = copy.line_of(op.kind, op.key)
        if line and line.cut and line.reading and meaning_of(line.reading) == meaning_of(text) and not best.by_log:
            best = Standing(UNSHOWN, f"the one reading of where {copy.source} stops", False)
    return best


def confidence_support(
    changeset: ChangeSet, op: Operation, clause: str, ordered: list[ChangeSet], by_date: dict[date, Revision]
) -> list[Finding]:
    """An operation's confidence in its values before must not exceed their strongest witness,
    and values the log does not state but a copy shows rest on the copy, not the log."""
    if op.source != Source.LOG or op.action not in ("update", "remove") or not _vouched(op.before):
        return []
    found = standing(op, clause, ordered, by_date, changeset)
    level, what = found.level, found.what
    if stronger(op.confidence, level):
        return [
            Finding(
                changeset.path, op.line, f"confidence {op.confidence}, but its values before rest on {what} ({level})"
            )
        ]
    if not found.by_log and not what.startswith("no "):
        return [Finding(changeset.path, op.line, f"cites the log, but no clause states its values before: {what}")]
    if level == UNWITNESSED and what.startswith("no ") and not op.note:
        return [Finding(changeset.path, op.line, f"confidence {op.confidence} with no witness and no note saying why")]
    return []

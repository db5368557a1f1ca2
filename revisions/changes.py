"""Change data: what each revision did to the document, as operations read from TOML.

Applying a revision's operations backwards turns the version after it into the version
before it; every operation states the values after the revision, and those are checked
against the document, so change data that has drifted from the text is an error.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, fields, replace
from datetime import date
from pathlib import Path
from typing import Any

from kb.errors import ChangeDataError
from kb.model import CONFIDENCE, RECORD_KINDS, Criterion, Logic, PolicyState, Provenance, Record, Source, Unknown
from revisions.copies import CopyDocument, load_copies

ACTIONS = ("insert", "remove", "update", "unknown")
UNKNOWN_VALUE = "unknown"
_KINDS = {kind.KIND: kind for kind in RECORD_KINDS}
_OP_KEYS = {"action", "kind", "key", "clause", "source", "confidence", "before", "after", "note", "quote"}
_FILE_KEYS = {"policy", "revision", "version", "unlogged", "change", "copy"}
_COPY_KEYS = {"source", "kind", "key", "words", "confidence", "note"}


@dataclass(frozen=True)
class Operation:
    action: str
    kind: str
    key: str
    clause: int
    source: str
    confidence: str
    before: dict[str, Any]
    after: dict[str, Any]
    note: str | None
    line: int
    quote: str | None = None
    """What the copy an operation cites reads of its record (an operation citing the log quotes nothing)."""


@dataclass(frozen=True)
class Witness:
    """What an older copy of the policy shows of the version a revision led to: the record
    ``kind``/``key`` reads ``words`` (a passage of its text) in that copy; ``path`` is the
    stored copy the words are a line of (empty: the change file quotes them)."""

    source: str
    kind: str
    key: str
    words: str
    confidence: str
    note: str | None
    line: int
    path: str = ""


@dataclass(frozen=True)
class ChangeSet:
    """The operations of one revision (identified by its Date) of one policy.

    ``unlogged`` is the confidence that what no clause of the revision names was left
    unchanged by it (the log may be incomplete); ``copies`` what the change data quotes of
    older copies of the version it led to; ``sources`` those copies themselves."""

    path: str
    policy: str
    revision: date
    version: str
    operations: tuple[Operation, ...]
    unlogged: str = "medium"
    copies: tuple[Witness, ...] = ()
    sources: tuple[CopyDocument, ...] = ()

    @property
    def witnesses(self) -> tuple[Witness, ...]:
        """What older copies show of the version the revision led to: the change data's quotes,
        then every line of a stored copy that shows a record (a cut line shows none)."""
        lines = tuple(
            Witness(copy.source, line.kind, line.key, line.text, copy.confidence, None, line.line, copy.path)
            for copy in self.sources
            for line in copy.lines
            if line.key and not line.cut
        )
        return self.copies + lines


def _op_lines(text: str, table: str = "change") -> list[int]:
    return [n for n, line in enumerate(text.splitlines(), start=1) if line.strip() == f"[[{table}]]"]


def parse_changeset(path: str, text: str) -> ChangeSet:
    """Read one change file strictly: unknown keys, bad values and bad dates name their line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line = int(m.group(1)) if (m := re.search(r"line (\d+)", str(error))) else None
        raise ChangeDataError(path, line, "valid TOML", found=str(error)) from None
    for key in data:
        if key not in _FILE_KEYS:
            raise ChangeDataError(path, _line_of(text, key), f"one of the keys {sorted(_FILE_KEYS)}", key)
    for key in ("policy", "revision", "version"):
        if key not in data:
            raise ChangeDataError(path, None, f"a top-level '{key}' key")
    revision = data["revision"]
    if not isinstance(revision, date):
        raise ChangeDataError(
            path, _line_of(text, "revision"), "revision as a TOML date, e.g. 2025-07-15", str(revision)
        )
    unlogged = data.get("unlogged", "medium")
    if unlogged not in CONFIDENCE:
        raise ChangeDataError(path, _line_of(text, "unlogged"), f"unlogged one of {CONFIDENCE}", str(unlogged))
    lines = _op_lines(text)
    operations = tuple(
        _operation(path, raw, lines[i] if i < len(lines) else None) for i, raw in enumerate(data.get("change", []))
    )
    copy_lines = _op_lines(text, "copy")
    copies = tuple(
        _witness(path, raw, copy_lines[i] if i < len(copy_lines) else None)
        for i, raw in enumerate(data.get("copy", []))
    )
    return ChangeSet(path, data["policy"], revision, data["version"], operations, unlogged, copies)


def _witness(path: str, raw: dict[str, Any], line: int | None) -> Witness:
    extra = set(raw) - _COPY_KEYS
    if extra:
        raise ChangeDataError(path, line, f"copy keys among {sorted(_COPY_KEYS)}", ", ".join(sorted(extra)))
    if raw.get("kind") not in _KINDS or not all(isinstance(raw.get(k), str) for k in ("source", "key", "words")):
        raise ChangeDataError(path, line, "a copy with 'source', a record 'kind', its 'key' and the 'words' it shows")
    if raw.get("confidence", "medium") not in CONFIDENCE:
        raise ChangeDataError(path, line, f"confidence one of {CONFIDENCE}", str(raw.get("confidence")))
    return Witness(
        raw["source"],
        raw["kind"],
        raw["key"],
        raw["words"],
        raw.get("confidence", "medium"),
        raw.get("note"),
        line or 0,
    )


def _line_of(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"\s*{re.escape(key)}\s*=", line):
            return number
    return None


def _operation(path: str, raw: dict[str, Any], line: int | None) -> Operation:
    def fail(expected: str, found: object = "") -> ChangeDataError:
        return ChangeDataError(path, line, expected, str(found))

    extra = set(raw) - _OP_KEYS
    if extra:
        raise fail(f"change keys among {sorted(_OP_KEYS)}", ", ".join(sorted(extra)))
    if raw.get("action") not in ACTIONS:
        raise fail(f"action one of {ACTIONS}", raw.get("action"))
    if raw.get("kind") not in _KINDS:
        raise fail(f"kind one of {sorted(_KINDS)}", raw.get("kind"))
    if raw.get("confidence", "high") not in CONFIDENCE:
        raise fail(f"confidence one of {CONFIDENCE}", raw.get("confidence"))
    if not isinstance(raw.get("clause"), int) or not isinstance(raw.get("key"), str):
        raise fail("a 'key' (text) and the 'clause' number it implements")
    if not isinstance(raw.get("quote", ""), str):
        raise fail("a 'quote' as text (the words of the copy the operation cites)", raw.get("quote"))
    if raw["action"] in ("remove", "update") and not raw.get("before"):
        raise fail(f"a [change.before] table for action {raw['action']}")
    if raw["action"] in ("insert", "update") and not raw.get("after"):
        raise fail(f"a [change.after] table for action {raw['action']}")
    kind = _KINDS[raw["kind"]]
    names = {f.name for f in fields(kind)} - {"provenance"}
    for table in ("before", "after"):
        unknown_fields = set(raw.get(table, {})) - names
        if unknown_fields:
            raise fail(f"fields of a {raw['kind']} ({', '.join(sorted(names))})", ", ".join(sorted(unknown_fields)))
    return Operation(
        raw["action"],
        raw["kind"],
        raw["key"],
        raw["clause"],
        raw.get("source", Source.LOG),
        raw.get("confidence", "high"),
        dict(raw.get("before", {})),
        dict(raw.get("after", {})),
        raw.get("note"),
        line or 0,
        raw.get("quote"),
    )


def load_changesets(folder: Path) -> list[ChangeSet]:
    """Every ``*.toml`` change file in a folder, in revision order, each with the stored copies
    (``copies/*.toml``) of the version its revision led to."""
    sets = [parse_changeset(str(path), path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.toml"))]
    by_revision = {changeset.revision: changeset for changeset in sets}
    for copy in load_copies(folder):
        changeset = by_revision.get(copy.revision)
        if changeset is None:
            raise ChangeDataError(copy.path, None, "a revision that has a change file", copy.revision.isoformat())
        by_revision[copy.revision] = replace(changeset, sources=(*changeset.sources, copy))
    return sorted(by_revision.values(), key=lambda s: s.revision)


def _coerce(kind: str, values: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """TOML values to model values, and the names of those that are unknown.

    TOML has no null: "" stands for none (the field is empty), "unknown" for unknown.
    """
    coerced = {k: (None if v in ("", UNKNOWN_VALUE) else v) for k, v in values.items()}
    if kind == Criterion.KIND and coerced.get("logic"):
        coerced["logic"] = Logic(coerced["logic"])
    return coerced, {k for k, v in values.items() if v == UNKNOWN_VALUE}


def _check_after(changeset: ChangeSet, op: Operation, record: Record | None) -> Record:
    if record is None:
        raise ChangeDataError(
            changeset.path, op.line, f"a {op.kind} {op.key!r} in the version after the revision", "none"
        )
    content = record.content()
    for name, value in _coerce(op.kind, op.after)[0].items():
        if content.get(name) != value:
            raise ChangeDataError(
                changeset.path, op.line, f"{op.key}.{name} = {value!r} after the revision", f"{content.get(name)!r}"
            )
    return record


def provenance_of(changeset: ChangeSet, op: Operation, clause_text: str) -> Provenance:
    return Provenance(
        source=op.source, revision=changeset.revision.isoformat(), clause=clause_text, confidence=op.confidence
    )


def apply_backwards(state: PolicyState, changeset: ChangeSet, clauses: dict[int, str]) -> PolicyState:
    """The version before ``changeset``'s revision, from the version after it."""
    earlier = state.copy()
    for op in reversed(changeset.operations):
        by_key = earlier.records[op.kind]
        provenance = provenance_of(changeset, op, clauses.get(op.clause, f"clause {op.clause}"))
        if op.action == "unknown":
            _forget(earlier, op, provenance)
            continue
        if op.action in ("insert", "update"):
            current = _check_after(changeset, op, by_key.get(op.key))
            if op.action == "insert":
                _remove(earlier, current)
            else:
                values, unknown = _coerce(op.kind, op.before)
                source = replace(provenance, source=Source.UNKNOWN) if unknown else provenance
                by_key[op.key] = replace(current, **values, provenance=source)
        else:  # remove: the revision deleted it, so the earlier version had it
            if op.key in by_key:
                raise ChangeDataError(changeset.path, op.line, f"no {op.kind} {op.key!r} after its removal", "one")
            _insert(earlier, changeset, op, provenance)
        renumber(earlier)
    return earlier


def _forget(state: PolicyState, op: Operation, provenance: Provenance) -> None:
    """Records of a kind (under a scope) that no source tells for the earlier version."""
    marker = Unknown(
        op.kind, op.key, op.note or provenance.clause or "", provenance=replace(provenance, source=Source.UNKNOWN)
    )
    by_key = state.records[op.kind]
    for key, record in list(by_key.items()):
        if marker.covers(record) and getattr(record, "item_id", None) != op.key:
            del by_key[key]
    state.records[Unknown.KIND][marker.key] = marker


def _remove(state: PolicyState, record: Record) -> None:
    """Remove a record, and a criterion's whole subtree with it."""
    for gone in [record, *_descendants(state, record)]:
        del state.records[gone.KIND][gone.key]


def _insert(state: PolicyState, changeset: ChangeSet, op: Operation, provenance: Provenance) -> None:
    kind = _KINDS[op.kind]
    values, unknown = _coerce(op.kind, op.before)
    if unknown:
        provenance = replace(provenance, source=Source.UNKNOWN)
    if kind is Criterion:
        parent = state.criteria().get(values.get("parent_id") or "")
        if parent is None:
            raise ChangeDataError(
                changeset.path,
                op.line,
                "a parent_id naming an item of the earlier version",
                str(values.get("parent_id")),
            )
        # Half a step ahead of the sibling now at that position; ``renumber`` makes it whole.
        position = values.pop("position", 1) - 0.5
        values = {
            "item_id": op.key,
            "section": parent.section,
            "indication": parent.indication,
            "label": "",
            "position": position,
            **values,
        }
    try:
        record = kind(**values, provenance=provenance)
    except TypeError as error:
        raise ChangeDataError(changeset.path, op.line, f"the fields of a {op.kind}", str(error)) from None
    if record.key != op.key:
        raise ChangeDataError(changeset.path, op.line, f"key {record.key!r} for these fields", op.key)
    state.records[kind.KIND][record.key] = record


_ROMAN = ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii", "xiii", "xiv", "xv")
_STYLES = {
    "upper": lambda n: chr(ord("A") + n - 1),
    "number": str,
    "letter": lambda n: chr(ord("a") + n - 1),
    "roman": lambda n: _ROMAN[n - 1] if n <= len(_ROMAN) else str(n),
}
_DEPTH_STYLES = ("upper", "number", "letter", "roman")
"""How a version numbers a level when its own labels do not say: A., 1., a., i., then i. again."""


def _style(labels: list[str], depth: int) -> tuple[str, str]:
    """The numbering style and delimiter siblings' own labels use ("a)" -> letter, ")").

    A lone "i." or "v." could be a letter or a roman numeral: the other labels, else the
    level's default, decide."""
    default = _DEPTH_STYLES[min(depth, len(_DEPTH_STYLES) - 1)]
    bodies = [label.rstrip(".)") for label in labels if label]
    if not bodies:
        return default, "."
    delimiter = ")" if labels[[bool(x) for x in labels].index(True)].endswith(")") else "."
    if all(b.isdigit() for b in bodies):
        return "number", delimiter
    if all(b.isupper() for b in bodies):
        return "upper", delimiter
    if any(len(b) > 1 for b in bodies) and all(b in _ROMAN for b in bodies):
        return "roman", delimiter
    if any(b not in _ROMAN for b in bodies):
        return "letter", delimiter
    return ("roman" if default == "roman" else "letter"), delimiter


def renumber(state: PolicyState) -> None:
    """Positions 1..n under each parent and labels in the style the siblings print (A., 1., a.,
    i., a), 1) ...; by depth for items that carry no label yet), as a version prints them."""
    criteria = state.criteria()
    by_parent: dict[str | None, list[Criterion]] = {}
    for criterion in criteria.values():
        by_parent.setdefault(criterion.parent_id, []).append(criterion)

    def walk(parent: str | None, depth: int) -> None:
        siblings = sorted(by_parent.get(parent, []), key=lambda c: (c.section, c.position))
        counters: dict[str, int] = {}
        style, delimiter = _style([c.label for c in siblings], depth)
        for criterion in siblings:
            scope = criterion.section if parent is None else ""
            counters[scope] = counters.get(scope, 0) + 1
            n = counters[scope]
            label = _STYLES[style](n) + delimiter
            if criterion.position != n or criterion.label != label:
                criteria[criterion.key] = replace(criterion, position=n, label=label)
            walk(criterion.item_id, depth + 1)

    walk(None, 0)


def apply_forwards(state: PolicyState, changeset: ChangeSet, after: PolicyState) -> PolicyState:
    """The version after ``changeset``'s revision, from the version before it.

    Operations restate only what they change; content they do not carry (an inserted
    item's children, a list that was unknown before) comes from ``after``, the version the
    revision led to as the knowledge base holds it.
    """
    later = state.copy()
    for op in changeset.operations:
        by_key = later.records[op.kind]
        target = after.records[op.kind].get(op.key)
        if op.action == "unknown":
            marker = f"{op.kind}:{op.key}"
            later.records[Unknown.KIND].pop(marker, None)
            if marker in after.records[Unknown.KIND]:  # still unknown after it: a later revision changed it too
                later.records[Unknown.KIND][marker] = after.records[Unknown.KIND][marker]
            for record in after.records[op.kind].values():
                if Unknown(op.kind, op.key, "").covers(record):
                    by_key[record.key] = record
        elif op.action == "remove":
            _remove(later, by_key[op.key])
        elif op.action == "insert" and target is not None:
            for record in _descendants(after, target):
                later.records[record.KIND][record.key] = record
            # Half a step ahead of the sibling now at that position; ``renumber`` makes it whole.
            ahead = replace(target, position=target.position - 0.5) if isinstance(target, Criterion) else target
            by_key[op.key] = ahead
        elif op.action == "update" and target is not None:
            values, _ = _coerce(op.kind, op.after)
            restated = {name: getattr(target, name) for name in op.before if name not in values}
            by_key[op.key] = replace(by_key[op.key], **values, **restated, provenance=target.provenance)
        renumber(later)
    return later


def _descendants(state: PolicyState, record: Record) -> list[Record]:
    if not isinstance(record, Criterion):
        return []
    found: list[Record] = []
    for child in state.children(record.item_id):
        found += [child, *_descendants(state, child)]
    return found

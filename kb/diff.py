"""Structured diffs of two versions of a policy: items matched by identity, values named.

Records are matched by ``record_key`` (a criterion's ``item_id`` survives renumbering), so a
renumbered item is "renumbered", not removed and added. A change whose text differs only in
formatting is kept but flagged non-substantive; a change touching what one version does not
know (an ``unknown`` record covers it) is neither substantive nor not: ``substantive`` is None.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from kb.asof import Answer
from kb.model import in_scope
from kb.schema import RECORD_TABLES, Temporal

META_COLUMNS = frozenset(Temporal.model_fields) | {"raw_text", "predicate", "predicate_rule", "footnote_predicate"}
"""Stored columns that say where and when a row holds, or what was read from it, not what it says."""

TEXT_FIELDS = {"criterion": "text", "duration": "text", "statement": "text", "reference": "citation"}

VALUE_PATTERNS: dict[str, re.Pattern[str]] = {
    "age": re.compile(r"\bage\s*[≥≤<>=]+\s*\d+\s*(?:years?|months?)(?:\s+(?:or|and)\s+[^;,.()]+)?", re.IGNORECASE),
    "duration": re.compile(
        r"\b\d+\s*(?:months?|weeks?|days?)(?:\s+or\s+to\s+[^()]*?whichever\s+is\s+(?:longer|shorter))?", re.IGNORECASE
    ),
    "dose": re.compile(r"\b\d+(?:\.\d+)?\s*mg/m²(?:\s+per\s+(?:cycle|dose))?"),
    "cycles": re.compile(r"\b\d+\s+cycles?\b"),
}

_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"'})
_PUNCTUATION = re.compile(r"[;,:!?\"'()\[\]*]|(?<!\d)\.|\.(?!\d)")
_TOKENS = re.compile(r"\s+|[^\s]+")


def normalise(text: str | None) -> str | None:
    """Text with formatting removed: what two renderings of the same words share."""
    if text is None:
        return None
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    text = text.replace("\\geq", "≥").replace("\\leq", "≤")
    text = _PUNCTUATION.sub(" ", text)
    text = re.sub(r"\s+(?:or|and)\s*$", "", text.strip())
    return re.sub(r"\s+", " ", text).strip().casefold()


def word_diff(before: str, after: str) -> list[tuple[str, str]]:
    """``[(op, text)]`` with op ``=``, ``-`` or ``+``, over words and the spaces between them."""
    old, new = _TOKENS.findall(before), _TOKENS.findall(after)
    ops: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            ops.append(("=", "".join(old[i1:i2])))
            continue
        if i2 > i1:
            ops.append(("-", "".join(old[i1:i2])))
        if j2 > j1:
            ops.append(("+", "".join(new[j1:j2])))
    return ops


def value_phrases(text: str | None) -> list[tuple[str, str]]:
    """The values a text carries, as ``(kind, phrase)``: age thresholds, durations, doses, cycles."""
    if not text:
        return []
    text = text.replace("\\geq", "≥").replace("\\leq", "≤")
    found = [
        (match.start(), kind, match.group(0).strip())
        for kind, pattern in VALUE_PATTERNS.items()
        for match in pattern.finditer(text)
    ]
    return [(kind, phrase) for _, kind, phrase in sorted(found)]


def value_changes(before: str | None, after: str | None) -> list[str]:
    """Name the values that moved: ``age ≥ 15 years -> age ≥ 18 years``, ``+ Age ≥ 1 year``."""
    old, new = value_phrases(before), value_phrases(after)
    gone = [v for v in old if v not in new]
    came = [v for v in new if v not in old]
    named: list[str] = []
    for kind in dict.fromkeys(k for k, _ in gone + came):
        was = [p for k, p in gone if k == kind]
        now = [p for k, p in came if k == kind]
        for a, b in zip(was, now):
            named.append(f"{a} -> {b}")
        named += [f"- {p}" for p in was[len(now) :]]
        named += [f"+ {p}" for p in now[len(was) :]]
    return named


@dataclass
class Change:
    """One difference between two versions, about one record (or one replaced item)."""

    table: str
    key: str
    kind: str
    substantive: bool | None
    summary: str
    where_before: str | None = None
    where_after: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    fields: list[str] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    words: list[tuple[str, str]] = field(default_factory=list)
    subtree_before: list[str] = field(default_factory=list)
    subtree_after: list[str] = field(default_factory=list)
    source_before: str | None = None
    source_after: str | None = None
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["words"] = [{"op": op, "text": text} for op, text in self.words]
        return data


@dataclass
class Diff:
    """Every change between the versions in force on two dates of one policy; ``notices`` say
    what a reader must know first (a date not covered: nothing compared; dates swapped)."""

    before: Answer
    after: Answer
    changes: list[Change]
    audit: Any = None
    notices: list[str] = field(default_factory=list)

    @property
    def policy_id(self) -> str:
        return self.before.policy_id

    def shown(self, everything: bool = False) -> list[Change]:
        """The changes a reader sees: all of them, or all but formatting-only ones."""
        return self.changes if everything else [c for c in self.changes if c.kind != "formatting"]

    def substantive(self) -> list[Change]:
        return [c for c in self.changes if c.substantive]

    def to_json(self, everything: bool = True) -> dict[str, Any]:
        return {
            "policy": self.policy_id,
            "from": {"date": self.before.as_of.isoformat(), "version": self.before.version},
            "to": {"date": self.after.as_of.isoformat(), "version": self.after.version},
            "notices": self.notices,
            "effective_date_rule": self.before.rule,
            "knowledge": {"known_at": self.after.known_at, "latest_load": self.after.loaded_at},
            "rule_dependent": {"from": self.before.rule_dependent, "to": self.after.rule_dependent},
            "changes": [c.to_json() for c in self.shown(everything)],
            "audit": self.audit.to_json() if self.audit else None,
        }


@dataclass(frozen=True)
class Skipped:
    """A policy a diff of every policy left out, and why (it lacks a version named)."""

    policy_id: str
    reason: str


def document_text(row: dict[str, Any], documents: dict[str, dict[str, Any]] | None = None) -> str | None:
    """The document a row cites: its Last Review, short hash and lines ("document 11.25 (ebedc22fcfb2) line 33")."""
    sha = row.get("document_sha256")
    if not sha:
        return None
    review = (documents or {}).get(sha, {}).get("last_review")
    name = f"{review[5:7]}.{review[2:4]} ({sha[:12]})" if review else sha[:12]
    first, last = row.get("first_line"), row.get("last_line")
    lines = "" if not first else f" line {first}" if first == last else f" lines {first}-{last}"
    return f"document {name}{lines}"


def provenance_text(row: dict[str, Any] | None, documents: dict[str, dict[str, Any]] | None = None) -> str | None:
    """One line saying what a stored row rests on: the document (Last Review, hash, lines), the
    clause, the copy, or what carries it across revisions ("unlogged = unchanged"), with its confidence."""
    if row is None:
        return None
    document = document_text(row, documents)
    if row["source"] == "document":
        return document or "document"
    confidence = f"{row['confidence']} confidence" if row.get("confidence") else None
    if row["source"] == "carried":
        detail = ", ".join(p for p in (row.get("clause"), confidence) if p)
        return f"carried from {document or 'an older copy'} ({detail})"
    said = ", ".join(p for p in (f"“{row['clause']}”" if row.get("clause") else None, confidence) if p)
    return " ".join(p for p in (row["source"], row.get("revision")) if p) + (f" ({said})" if said else "")


def content(row: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in row.items() if name not in META_COLUMNS}


class CriteriaTree:
    """A version's criteria by item_id, with label paths as the version numbers them."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = {row["item_id"]: row for row in rows}
        self.children: dict[str | None, list[dict[str, Any]]] = {}
        for row in sorted(rows, key=lambda r: r["position"]):
            self.children.setdefault(row["parent_id"], []).append(row)

    def where(self, item_id: str) -> str:
        labels: list[str] = []
        row: dict[str, Any] | None = self.rows[item_id]
        while row is not None:
            labels.append(row["label"].rstrip(".)"))
            row = self.rows.get(row["parent_id"]) if row["parent_id"] else None
        return ".".join([self.rows[item_id]["section"], *reversed(labels)])

    def outline(self, parent: str | None = None, depth: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(depth, row)`` in reading order: section I before II, items by position."""
        rows = self.children.get(parent, [])
        if parent is None:
            rows = sorted(rows, key=lambda r: (r["section"], r["indication"]))
        for row in rows:
            yield depth, row
            yield from self.outline(row["item_id"], depth + 1)

    def subtree(self, item_id: str, depth: int = 0) -> Iterator[str]:
        for row in self.children.get(item_id, []):
            yield f"{'  ' * depth}{row['label']} {row['text'] if row['text'] is not None else '[unknown]'}"
            yield from self.subtree(row["item_id"], depth + 1)

    def descendants(self, item_id: str) -> set[str]:
        found: set[str] = set()
        for row in self.children.get(item_id, []):
            found |= {row["item_id"], *self.descendants(row["item_id"])}
        return found


def _unknown_side(
    unknowns: tuple[list[dict[str, Any]], list[dict[str, Any]]],
    table: str,
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
) -> tuple[str | None, str | None]:
    """Which side of a change is unknown ("before", "after", or None: neither, but a marker
    covers it) and why; ``(None, None)`` when both sides are known."""
    for side, row in (("before", old), ("after", new)):
        if row is not None and row["source"] == "unknown":
            return side, f"the {'earlier' if side == 'before' else 'later'} {table} rests on no source"
    row = old or new
    assert row is not None
    anchor = row.get("item_id") or row["record_key"]
    for side, markers, missing in (("before", unknowns[0], old is None), ("after", unknowns[1], new is None)):
        for unknown in markers:
            if unknown["kind"] == table and in_scope(unknown["scope"], anchor):
                return (side if missing else None), str(unknown["reason"])
    return None, None


def not_covered(before: Answer, after: Answer) -> list[str]:
    """Why two answers cannot be compared: a date no version covers."""
    return [
        f"{name} {answer.as_of} is not covered ({answer.reason}); nothing is compared"
        for name, answer in (("FROM", before), ("TO", after))
        if not answer.covered
    ]


def diff_answers(before: Answer, after: Answer) -> Diff:
    """The changes from ``before`` to ``after`` (two answers about the same policy).

    A date that is not covered compares nothing (an unknown version is not an empty one); a
    record that one side does not know is "became known" / "became unknown", never a value
    that changed, and is neither substantive nor not (``substantive`` None)."""
    notices = not_covered(before, after)
    if notices:
        return Diff(before, after, [], notices=notices)
    changes: list[Change] = []
    trees = (CriteriaTree(before.criteria()), CriteriaTree(after.criteria()))
    unknowns = (before.records.get("unknown", []), after.records.get("unknown", []))
    documents = {**before.documents, **after.documents}
    sides: dict[int, str] = {}
    for table in RECORD_TABLES:
        if table == "unknown":
            continue
        old = {row["record_key"]: row for row in before.records.get(table, [])}
        new = {row["record_key"]: row for row in after.records.get(table, [])}
        for key in [*old, *(k for k in new if k not in old)]:
            change = _compare(table, key, old.get(key), new.get(key), trees, documents)
            if change is None:
                continue
            side, reason = _unknown_side(unknowns, table, old.get(key), new.get(key))
            if reason is not None:
                change.substantive = None
                change.note = f"cannot be compared: {reason}"
            if side is not None:
                sides[id(change)] = side
            changes.append(change)
    changes = _fold_subtrees(changes, trees)
    for change in changes:
        if id(change) in sides:
            _as_unknown(change, sides[id(change)])
    changes = _fold_unknown(changes, trees)
    changes += _unknown_changes(*unknowns, documents)
    return Diff(before, after, changes)


def _fold_unknown(changes: list[Change], trees: tuple[CriteriaTree, CriteriaTree]) -> list[Change]:
    """Items that became known (or unknown) with their parent are shown in the parent's subtree."""
    folded: set[int] = set()
    for kind, tree in (("became known", trees[1]), ("became unknown", trees[0])):
        tops = {c.key for c in changes if c.table == "criterion" and c.kind == kind}
        inner = set().union(*(tree.descendants(key) for key in tops if key in tree.rows))
        folded |= {id(c) for c in changes if c.table == "criterion" and c.kind == kind and c.key in inner}
        for top in (c for c in changes if c.table == "criterion" and c.kind == kind and c.key not in inner):
            scope = {top.key, *tree.descendants(top.key)} if top.key in tree.rows else {top.key}
            refs = [
                c for c in changes if c.table == "cross_reference" and c.kind == kind and c.key.split(":")[0] in scope
            ]
            folded |= {id(c) for c in refs}
            if refs:
                top.note = f"{top.note or ''}; its {len(refs)} cross-reference(s) {kind} with it".lstrip("; ")
    return [c for c in changes if id(c) not in folded]


def _as_unknown(change: Change, side: str) -> None:
    """Say a change with one unknown side as what it is: something became known or unknown."""
    known = change.after if side == "before" else change.before
    text = describe(change.table, known) if known else "[none]"
    lines = change.subtree_after if side == "before" else change.subtree_before
    change.kind = "became known" if side == "before" else "became unknown"
    change.summary = f"[unknown] -> {text}" if side == "before" else f"{text} -> [unknown]"
    change.values, change.words = [], []
    if side == "before":
        change.subtree_after = lines
    else:
        change.subtree_before = lines


def _compare(
    table: str,
    key: str,
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
    trees: tuple[CriteriaTree, CriteriaTree],
    documents: dict[str, dict[str, Any]],
) -> Change | None:
    text_field = TEXT_FIELDS.get(table)
    where = (
        trees[0].where(key) if old and table == "criterion" else None,
        trees[1].where(key) if new and table == "criterion" else None,
    )
    base = {
        "table": table,
        "key": key,
        "where_before": where[0],
        "where_after": where[1],
        "before": content(old) if old else None,
        "after": content(new) if new else None,
        "source_before": provenance_text(old, documents),
        "source_after": provenance_text(new, documents),
    }
    if old is None or new is None:
        row = new or old
        assert row is not None
        text = describe(table, row)
        sign = "+" if new else "-"
        values = [f"{sign} {phrase}" for _, phrase in value_phrases(text)]
        return Change(
            **base,
            kind="added" if new else "removed",
            substantive=True,
            summary=f"{sign} {text}",
            values=values,
        )
    a, b = content(old), content(new)
    differing = [name for name in a if a[name] != b.get(name)]
    if not differing:
        return None
    if table == "criterion":
        return _compare_criterion(base, old, new, differing, trees)
    substantive = any(
        name != text_field or normalise(a[name]) != normalise(b[name]) for name in differing if name != "ordinal"
    )
    old_text, new_text = describe(table, old), describe(table, new)
    values = value_changes(old_text, new_text)
    words = word_diff(old_text, new_text)
    kind = "changed" if substantive else ("reordered" if differing == ["ordinal"] else "formatting")
    return Change(
        **base,
        kind=kind,
        substantive=substantive,
        summary="; ".join(values) or _changed_words(words),
        fields=differing,
        values=values,
        words=words,
    )


def _compare_criterion(
    base: dict[str, Any],
    old: dict[str, Any],
    new: dict[str, Any],
    differing: list[str],
    trees: tuple[CriteriaTree, CriteriaTree],
) -> Change:
    text_changed = normalise(old["text"]) != normalise(new["text"])
    logic_changed = old["logic"] != new["logic"] or normalise(old["logic_text"]) != normalise(new["logic_text"])
    moved = old["parent_id"] != new["parent_id"]
    footnote_changed = normalise(old["footnote_text"]) != normalise(new["footnote_text"])
    values = value_changes(old["text"], new["text"])
    words = word_diff(old["text"] or "", new["text"] or "")
    if moved:
        kind, summary = "moved", f"moved from {base['where_before']} to {base['where_after']}"
    elif logic_changed:
        kind = "logic changed"
        summary = (
            f"logic {old['logic'] or '(no logic word)'} -> {new['logic'] or '(no logic word)'}: {_changed_words(words)}"
        )
    elif text_changed:
        kind = "text changed"
        summary = "; ".join(values) or _changed_words(words)
    elif footnote_changed:
        kind, summary = "footnote changed", f"footnote: {old['footnote_text']} -> {new['footnote_text']}"
    elif "label" in differing:
        kind, summary = "renumbered", f"renumbered {base['where_before']} -> {base['where_after']}"
    else:
        kind, summary = "formatting", f"formatting only: {old['text']!r} -> {new['text']!r}"
    return Change(
        **base,
        kind=kind,
        substantive=kind not in ("renumbered", "formatting"),
        summary=summary,
        fields=differing,
        values=values,
        words=words,
        subtree_before=list(trees[0].subtree(old["item_id"])) if logic_changed else [],
        subtree_after=list(trees[1].subtree(new["item_id"])) if logic_changed else [],
    )


def _changed_words(words: list[tuple[str, str]]) -> str:
    """The changed passages of a word diff: ``'both' -> 'one'; + 'Age'``."""
    passages: list[str] = []
    pending: dict[str, str] = {}
    for op, text in [*words, ("=", "")]:
        if op != "=":
            pending[op] = pending.get(op, "") + text
            continue
        if text and not text.strip() and pending:
            pending = {side: passage + text for side, passage in pending.items()}
            continue
        removed, added = pending.get("-", "").strip(), pending.get("+", "").strip()
        if removed and added:
            passages.append(f"{removed!r} -> {added!r}")
        elif removed or added:
            passages.append(f"- {removed!r}" if removed else f"+ {added!r}")
        pending = {}
    return "; ".join(passages)


def describe(table: str, row: dict[str, Any]) -> str:
    """A record's content in one line, whatever its kind."""
    text_field = TEXT_FIELDS.get(table)
    if text_field and row.get(text_field) is not None:
        return str(row[text_field])
    if table == "cross_reference":
        return f"{row['item_id']} {row['line_of_business']} ({row['role']}): {row['policy_ref'] or '[unknown]'}"
    if table == "code":
        return f"{row['system']} {row['code'] or '[no code]'}: {row['description']}"
    if table == "dosing":
        return f"{row['indication']}: {row['regimen']} (max {row['max_dose']})"
    if table == "unknown":
        return f"{row['kind']} {row['scope']}: {row['reason']}"
    return "[unknown]"


def _fold_subtrees(changes: list[Change], trees: tuple[CriteriaTree, CriteriaTree]) -> list[Change]:
    """Fold added/removed descendants into their top item, and pair a removal with an
    addition at the same place as one "replaced" change."""
    criteria = {(c.kind, c.key): c for c in changes if c.table == "criterion"}
    folded: set[tuple[str, str]] = set()
    for (kind, key), change in criteria.items():
        if kind not in ("added", "removed"):
            continue
        tree = trees[1] if kind == "added" else trees[0]
        lines = list(tree.subtree(key))
        if kind == "added":
            change.subtree_after = lines
        else:
            change.subtree_before = lines
        for child in tree.descendants(key):
            if (kind, child) in criteria:
                folded.add((kind, child))
                change.values += criteria[(kind, child)].values
    for (kind, key), removed in criteria.items():
        if kind != "removed" or (kind, key) in folded:
            continue
        if _merge_into_parent(removed, trees[1]):
            continue
        for (other_kind, other_key), added in criteria.items():
            if other_kind == "added" and (other_kind, other_key) not in folded and _same_place(removed, added):
                _replace(removed, added)
                folded.add((other_kind, other_key))
                break
    return [c for c in changes if (c.kind, c.key) not in folded]


def _merge_into_parent(removed: Change, after: CriteriaTree) -> bool:
    """A removed item whose words now stand in its parent's text was merged, not dropped."""
    assert removed.before is not None
    parent = after.rows.get(removed.before["parent_id"])
    words = normalise(removed.before["text"])
    if parent is None or not words or words not in (normalise(parent["text"]) or ""):
        return False
    removed.kind = "merged"
    removed.substantive = False
    removed.where_after = after.where(parent["item_id"])
    removed.summary = f"merged into {removed.where_after}: {removed.before['text']}"
    return True


def _same_place(removed: Change, added: Change) -> bool:
    assert removed.before is not None and added.after is not None
    return (removed.before["parent_id"], removed.before["label"]) == (added.after["parent_id"], added.after["label"])


def _replace(removed: Change, added: Change) -> None:
    """Turn ``removed`` into the replacement of its item by ``added``."""
    old_text = " ".join([removed.before["text"] or "", *removed.subtree_before])  # type: ignore[index]
    new_text = " ".join([added.after["text"] or "", *added.subtree_after])  # type: ignore[index]
    removed.kind = "replaced"
    removed.key = f"{removed.key} -> {added.key}"
    removed.where_after = added.where_after
    removed.after = added.after
    removed.subtree_after = added.subtree_after
    removed.source_after = added.source_after
    removed.values = value_changes(old_text, new_text)
    removed.words = word_diff(old_text, new_text)
    removed.summary = (
        f"option {removed.where_before} replaced ({'; '.join(removed.values) or 'no value named'}): "
        f"{removed.before['text']!r} -> {added.after['text']!r}"  # type: ignore[index]
    )


def _unknown_changes(
    before: list[dict[str, Any]], after: list[dict[str, Any]], documents: dict[str, dict[str, Any]]
) -> list[Change]:
    """What became known, or unknown, between the versions: never substantive, always shown."""
    old = {row["record_key"]: row for row in before}
    new = {row["record_key"]: row for row in after}
    changes = []
    for key in [*old, *(k for k in new if k not in old)]:
        if key in old and key in new:
            continue
        row = old.get(key) or new[key]
        became = "known" if key in old else "unknown"
        changes.append(
            Change(
                table="unknown",
                key=key,
                kind=f"became {became}",
                substantive=None,
                summary=f"{row['kind']} {row['scope']} became {became}: {row['reason']}",
                before=content(old[key]) if key in old else None,
                after=content(new[key]) if key in new else None,
                source_before=provenance_text(old.get(key), documents),
                source_after=provenance_text(new.get(key), documents),
            )
        )
    return changes

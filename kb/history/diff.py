"""Structured diffs of two versions of a policy: items matched by identity, values named.

Records are matched by ``record_key`` (a criterion's ``item_id`` survives renumbering), so a
renumbered item is "renumbered", not removed and added. A change whose text differs only in
formatting is kept but flagged non-substantive; a change touching what one version does not
know (an ``unknown`` record covers it) is neither substantive nor not: ``substantive`` is None.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from kb.history.textdiff import changed_words, normalise, value_changes, value_phrases, word_diff
from kb.model import in_scope
from kb.store.asof import Answer
from kb.store.schema import RECORD_TABLES, Temporal
from kb.store.sources import provenance_text
from kb.store.tree import CriteriaTree

META_COLUMNS = frozenset(Temporal.model_fields) | {"raw_text", "predicate", "predicate_rule", "footnote_predicate"}
"""Stored columns that say where and when a row holds, or what was read from it, not what it says."""

TEXT_FIELDS = {"criterion": "text", "duration": "text", "statement": "text", "reference": "citation"}


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
            "knowledge": {"known_at": self.after.known_at_text, "latest_load": self.after.loaded_at},
            "rule_dependent": {"from": self.before.rule_dependent, "to": self.after.rule_dependent},
            "changes": [c.to_json() for c in self.shown(everything)],
            "audit": self.audit.to_json() if self.audit else None,
        }


@dataclass(frozen=True)
class Skipped:
    """A policy a diff of every policy left out, and why (it lacks a version named)."""

    policy_id: str
    reason: str


def content(row: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in row.items() if name not in META_COLUMNS}


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
        summary="; ".join(values) or changed_words(words),
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
            f"logic {old['logic'] or '(no logic word)'} -> {new['logic'] or '(no logic word)'}: {changed_words(words)}"
        )
    elif text_changed:
        kind = "text changed"
        summary = "; ".join(values) or changed_words(words)
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

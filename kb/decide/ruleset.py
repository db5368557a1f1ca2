"""The executable rules of one version of a policy, and the three-valued logic they use.

``RuleSet`` is one version of one policy made executable: its criteria with their stored
predicates, durations and referrals, and a content hash of all of them. Truth is three-valued
(True met, False not met, None unknown; Kleene logic over all/any/none/at least N).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from kb.concepts.facts import Request
from kb.decide.courses import course_of
from kb.predicates import Predicate, facts_read
from kb.store.asof import Answer
from kb.store.sources import provenance_text
from kb.store.tree import CriteriaTree

Truth = bool | None
RESULT_WORDS = {True: "met", False: "not met", None: "unknown"}
SECTIONS = {"initial": "I", "continuation": "II"}


def kleene_all(values: list[Truth] | tuple[Truth, ...]) -> Truth:
    return False if False in values else (None if None in values else True)


def kleene_any(values: list[Truth] | tuple[Truth, ...]) -> Truth:
    return True if True in values else (None if None in values else False)


def kleene_none(values: list[Truth] | tuple[Truth, ...]) -> Truth:
    """ "None of the following": not met once one is met, met once all are not met."""
    return False if True in values else (None if None in values else True)


def kleene_at_least(values: list[Truth] | tuple[Truth, ...], count: int) -> Truth:
    """ "Two of the following": met once ``count`` are met, not met once too few can be."""
    met, open_ = sum(v is True for v in values), sum(v is None for v in values)
    return True if met >= count else (False if met + open_ < count else None)


def kleene_not(value: Truth) -> Truth:
    return None if value is None else not value


def combine(logic: str, values: list[Truth] | tuple[Truth, ...], count: int | None = None) -> Truth:
    """Children's results combined by their parent's logic (all, any, none, at_least)."""
    if logic == "at_least":
        return kleene_at_least(values, count or 1)
    return {"all": kleene_all, "any": kleene_any, "none": kleene_none}[logic](values)


def conditional(context: str, condition_: Truth, then: Truth) -> Truth:
    """ "If X, Y": in a must-meet-all list (not X) or Y; as an option of any other list
    (one of, none of, at least N of) X and Y."""
    if context != "all":
        return kleene_all([condition_, then])
    return kleene_any([kleene_not(condition_), then])


@dataclass
class Node:
    """One criterion of a rule set, with its predicate read back from the knowledge base."""

    row: dict[str, Any]
    where: str
    predicate: Predicate
    footnote: Predicate | None
    source: str | None
    children: list[Node] = field(default_factory=list)

    @property
    def logic(self) -> str:
        return self.row["logic"] or "all"

    @property
    def count(self) -> int | None:
        return self.row.get("logic_count")

    def is_referral(self) -> bool:
        """A referral to other policies ("Other diagnoses"), or a top-level set whose text is unknown."""
        if self.row["parent_id"] is None and self.row["text"] is None:
            return True
        return self.predicate["op"] == "refer" or (
            self.predicate["op"] == "children" and bool(self.children) and all(c.is_referral() for c in self.children)
        )


@dataclass
class RuleSet:
    """The executable rules of one version of one policy."""

    answer: Answer
    sets: dict[str, list[Node]]
    rules_hash: str
    _deciding: dict[str, list[Node]] = field(default_factory=dict, repr=False)
    on_diagnosis: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, answer: Answer) -> RuleSet:
        tree = CriteriaTree(answer.criteria())
        nodes: dict[str, Node] = {}
        sets: dict[str, list[Node]] = {}
        for _, row in tree.outline():
            node = Node(
                row,
                tree.where(row["item_id"]),
                json.loads(row["predicate"]),
                json.loads(row["footnote_predicate"]) if row["footnote_predicate"] else None,
                provenance_text(row, answer.documents),
            )
            nodes[row["item_id"]] = node
            if row["parent_id"] is None:
                sets.setdefault(row["section"], []).append(node)
            else:
                nodes[row["parent_id"]].children.append(node)
        rules = {
            table: [
                {
                    k: v
                    for k, v in row.items()
                    if k not in ("id", "recorded_at", "superseded_at", "valid_from", "valid_to")
                }
                for row in answer.records.get(table, [])
            ]
            for table in ("criterion", "duration", "cross_reference")
        }
        digest = hashlib.sha256(json.dumps(rules, sort_keys=True, default=str).encode()).hexdigest()
        return cls(answer, sets, digest)

    def deciding(self, section: str) -> list[Node]:
        """The criteria sets of a section that can approve (not the "Other diagnoses" referrals)."""
        if section not in self._deciding:
            self._deciding[section] = [node for node in self.sets.get(section, []) if not node.is_referral()]
        return self._deciding[section]

    def facts_read(self, section: str | None = None) -> set[str]:
        """The facts this version's criteria read (of one section, or all), and those its approval
        durations count a course total with: what a request needs."""
        found: set[str] = set()
        for row in self.answer.records.get("duration", []):
            if section in (None, row["section"]) and (course := course_of(row["text"])):
                found |= set(course.needs({}))
        stack = [node for key, nodes in self.sets.items() if section in (None, key) for node in nodes]
        while stack:
            node = stack.pop()
            found |= facts_read(node.predicate) | (facts_read(node.footnote) if node.footnote else set())
            stack += node.children
        return found

    @property
    def label(self) -> str:
        return self.answer.version["label"] if self.answer.version else "none"


@dataclass
class Decision:
    """A decision with everything needed to read it, audit it and replay it: ``known_at`` is the
    knowledge it was made with (the knowledge time asked for, else the latest load its rules
    reflect), ``evaluated_at`` when it was made."""

    request: Request
    decision: str
    reasons: list[str]
    policy: str
    version: dict[str, Any] | None
    rules_hash: str | None
    effective_date_rule: str | None
    known_at: str | None
    criteria: list[dict[str, Any]] = field(default_factory=list)
    needed: list[str] = field(default_factory=list)
    duration: dict[str, Any] | None = None
    referral: list[dict[str, Any]] = field(default_factory=list)
    rule_dependent: list[dict[str, Any]] = field(default_factory=list)
    evaluated_as_of: str | None = None
    other_rule: list[dict[str, Any]] = field(default_factory=list)
    evaluated_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "request": self.request.to_json(),
            "decision": self.decision,
            "reasons": self.reasons,
            "policy": self.policy,
            "version": self.version,
            "rules_hash": self.rules_hash,
            "effective_date_rule": self.effective_date_rule,
            "known_at": self.known_at,
            "evaluated_at": self.evaluated_at,
            "evaluated_as_of": self.evaluated_as_of,
            "needed": self.needed,
            "duration": self.duration,
            "referral": self.referral,
            "rule_dependent": self.rule_dependent,
            "other_rule": self.other_rule,
            "criteria": self.criteria,
        }

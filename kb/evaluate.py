"""Evaluate a request against the rules in force on its date of service, with a trace.

``RuleSet`` is one version of one policy made executable: its criteria with their stored
predicates, durations and referrals, and a content hash of all of them. Evaluation is
three-valued (True met, False not met, None unknown; Kleene logic over all/any). ``evaluate``
walks the tree and records a trace; ``RuleSet.compiled`` is the same rules generated as one
Python function for batch work without traces (a test holds the two to the same answers).
"""

from __future__ import annotations

import calendar
import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from kb.asof import Answer
from kb.diff import CriteriaTree, provenance_text
from kb.facts import Request
from kb.predicates import Predicate

Truth = bool | None
RESULT_WORDS = {True: "met", False: "not met", None: "unknown"}
SECTIONS = {"initial": "I", "continuation": "II"}


def kleene_all(values: list[Truth]) -> Truth:
    return False if False in values else (None if None in values else True)


def kleene_any(values: list[Truth]) -> Truth:
    return True if True in values else (None if None in values else False)


def kleene_none(values: list[Truth]) -> Truth:
    """ "None of the following": not met once one is met, met once all are not met."""
    return False if True in values else (None if None in values else True)


def kleene_at_least(values: list[Truth], count: int) -> Truth:
    """ "Two of the following": met once ``count`` are met, not met once too few can be."""
    met, open_ = sum(v is True for v in values), sum(v is None for v in values)
    return True if met >= count else (False if met + open_ < count else None)


def combine(logic: str, values: list[Truth], count: int | None = None) -> Truth:
    """Children's results combined by their parent's logic (all, any, none, at_least)."""
    if logic == "at_least":
        return kleene_at_least(values, count or 1)
    return {"all": kleene_all, "any": kleene_any, "none": kleene_none}[logic](values)


def fact_word(value: Any) -> Any:
    """A request's word as predicates hold theirs: one space, lower case (other values as given)."""
    return " ".join(value.split()).casefold() if isinstance(value, str) else value


def _compare(op: str, value: Any, expected: Any) -> bool:
    if op == "in":
        return fact_word(value) in expected
    if op == "has":
        return expected in [fact_word(v) for v in value]
    if op in ("is", "=="):
        return fact_word(value) == expected
    return {">=": value >= expected, ">": value > expected, "<=": value <= expected, "<": value < expected}[op]


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
                provenance_text(row),
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

    @property
    def label(self) -> str:
        return self.answer.version["label"] if self.answer.version else "none"


@dataclass
class Decision:
    """A decision with everything needed to read it, audit it and replay it."""

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
            "evaluated_as_of": self.evaluated_as_of,
            "needed": self.needed,
            "duration": self.duration,
            "referral": self.referral,
            "rule_dependent": self.rule_dependent,
            "criteria": self.criteria,
        }


class Evaluation:
    """One walk of a rule set over one request, collecting the trace as it goes."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.trace: list[dict[str, Any]] = []

    def predicate(self, predicate: Predicate, context: str, read: dict[str, Any], needs: list[str]) -> Truth:
        op = predicate["op"]
        if "fact" in predicate:
            value = self.request.fact(predicate["fact"])
            read[predicate["fact"]] = value
            if value is None:
                needs.append(predicate["fact"])
                return None
            return _compare(op, value, predicate["value"])
        if op in ("all", "any"):
            values = [self.predicate(p, op, read, needs) for p in predicate["args"]]
            return kleene_all(values) if op == "all" else kleene_any(values)
        if op == "if":
            condition = self.predicate(predicate["cond"], "all", read, needs)
            return conditional(context, condition, self.predicate(predicate["then"], context, read, needs))
        if op == "review":
            needs.append(f"clinical review: {predicate['reason']}")
        return None

    def node(self, node: Node, context: str, depth: int = 0) -> Truth:
        """The node's result; its trace entry precedes its children's."""
        read: dict[str, Any] = {}
        needs: list[str] = []
        entry: dict[str, Any] = {
            "item": node.row["item_id"],
            "where": node.where,
            "depth": depth,
            "text": node.row["text"],
        }
        self.trace.append(entry)
        body = node.predicate["then"] if node.predicate["op"] == "if" else node.predicate
        if body["op"] == "children":
            values = [self.node(child, node.logic, depth + 1) for child in node.children]
            result = combine(node.logic, values, node.count)
            if node.predicate["op"] == "if":
                result = conditional(context, self.predicate(node.predicate["cond"], "all", read, needs), result)
        else:
            result = self.predicate(node.predicate, context, read, needs)
        if node.footnote is not None:
            result = kleene_all([result, self.predicate(node.footnote, "all", read, needs)])
        entry.update(
            result=RESULT_WORDS[result],
            facts=read,
            needs=list(dict.fromkeys(needs)),
            source=node.source,
        )
        if node.predicate["op"] == "if":
            entry["reading"] = "condition: (not X) or Y" if context == "all" else "option: X and Y"
        return result


def conditional(context: str, condition: Truth, then: Truth) -> Truth:
    """ "If X, Y": in a must-meet-all list (not X) or Y; as an option of any other list
    (one of, none of, at least N of) X and Y."""
    if context != "all":
        return kleene_all([condition, then])
    return kleene_any([None if condition is None else not condition, then])


def evaluate(
    rules: RuleSet, request: Request, known_at: str | None = None, pending: list[dict[str, Any]] | None = None
) -> Decision:
    """Decide ``request`` under ``rules``: approve, deny or pend, with the trace and its reasons."""
    answer = rules.answer
    decision = Decision(
        request,
        "pend",
        [],
        answer.policy_id,
        answer.version,
        rules.rules_hash if answer.covered else None,
        answer.rule,
        known_at,
        rule_dependent=pending or [],
    )
    if not answer.covered:
        decision.reasons.append(f"no version in force: {answer.reason}")
        return decision
    section = SECTIONS[request.request_type]
    run = Evaluation(request)
    results = {node.row["item_id"]: (node, run.node(node, "all")) for node in rules.deciding(section)}
    decision.criteria = run.trace
    met = [node for node, result in results.values() if result is True]
    unknown = [node for node, result in results.values() if result is None]
    if met:
        decision.decision = "approve"
        decision.reasons.append(f"{met[0].where} {met[0].row['text']} met")
        decision.duration = approval_duration(answer, met[0].row, request)
    elif unknown:
        decision.reasons += [f"{node.where} {node.row['text']} unknown" for node in unknown]
        decision.needed = needed(run.trace)

    else:
        decision.decision = "deny"
        decision.reasons += [
            f"{entry['where']} {entry['text']} not met"
            for entry in run.trace
            if entry["result"] == "not met" and entry["depth"]
        ]
        if all(_other_diagnosis(run.trace, item) for item in results):
            decision.reasons.append("the diagnosis is not one this policy's criteria cover")
            decision.referral = referral(rules, section, request)
            if len({ref["role"] for ref in decision.referral}) > 1:
                decision.reasons.append("which referral applies depends on recent_label_change and on_formulary")
    return decision


def needed(trace: list[dict[str, Any]]) -> list[str]:
    """The facts (or reviews) that would settle an unknown outcome: those of unknown criteria
    whose every enclosing criterion is unknown too (an unknown option of a met list settles nothing)."""
    found: list[str] = []
    path: list[str] = []
    for entry in trace:
        del path[entry["depth"] :]
        path.append(entry["result"])
        if all(result == "unknown" for result in path):
            found += entry["needs"]
    return list(dict.fromkeys(found))


def _other_diagnosis(trace: list[dict[str, Any]], set_id: str) -> bool:
    """Did the set fail on its diagnosis criterion (the request is for another diagnosis)?"""
    return any(
        entry["item"].startswith(set_id + ".") and "diagnosis" in entry["facts"] and entry["result"] == "not met"
        for entry in trace
    )


def add_months(start: date, months: int) -> tuple[date, str | None]:
    """``start`` plus whole months; where the day does not exist, the month's last day and a note."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    if start.day <= last:
        return date(year, month, start.day), None
    return date(year, month, last), (
        f"{start.isoformat()} + {months} months is ambiguous: {year}-{month:02d} has no day {start.day}; "
        f"{date(year, month, last).isoformat()} (the month's last day) is given, the next day is another reading"
    )


def approval_duration(answer: Answer, criteria_set: dict[str, Any], request: Request) -> dict[str, Any]:
    """The approval duration for the member's line of business, and its end date."""
    line = request.fact("line_of_business")
    rows = [
        r
        for r in answer.records.get("duration", [])
        if (r["section"], r["indication"]) == (criteria_set["section"], criteria_set["indication"])
    ]
    row = next((r for r in rows if r["line_of_business"] == line), None)
    if row is None:
        return {
            "line_of_business": line,
            "text": None,
            "end_date": None,
            "note": f"no duration for line of business {line!r}; known: {', '.join(r['line_of_business'] for r in rows)}",
        }
    start = request.date_of_service
    result = {
        "line_of_business": line,
        "text": row["text"],
        "source": provenance_text(row),
        "start_date": start.isoformat(),
        "cycle_cap": row["cycle_cap"],
        "end_date": None,
        "note": None,
    }
    if row["months"]:
        end, note = add_months(start, row["months"])
    elif row["weeks"]:
        end, note = start + timedelta(weeks=row["weeks"]), None
    else:
        result["note"] = "the duration is unknown in this version" if row["text"] is None else "no length in the text"
        return result
    if row["rule"] and "renewal" in row["rule"]:
        renewal = request.fact("renewal_date")
        if renewal is None:
            note = "; ".join(
                filter(
                    None,
                    [
                        note,
                        f"at least {end.isoformat()}; later if the member's renewal date is later (renewal_date needed)",
                    ],
                )
            )
        else:
            end = max(end, date.fromisoformat(renewal))
    result.update(end_date=end.isoformat(), note=note)
    return result


def referral(rules: RuleSet, section: str, request: Request) -> list[dict[str, Any]]:
    """The policy to refer to for the member's line of business, from the "Other diagnoses" set."""
    referral_sets = [node for node in rules.sets.get(section, []) if node.is_referral()]
    if not referral_sets:
        return []
    prefix = referral_sets[0].row["item_id"] + "."
    label_change, formulary = request.fact("recent_label_change"), request.fact("on_formulary")
    if label_change is False:
        roles = {"off-label use"}
    elif label_change is True and formulary is not None:
        roles = {"no coverage criteria" if formulary else "non-formulary"}
    else:
        roles = {"off-label use", "no coverage criteria", "non-formulary"}
    line = request.fact("line_of_business")
    return [
        {
            "item": row["item_id"],
            "role": row["role"],
            "line_of_business": row["line_of_business"],
            "policy": row["policy_ref"],
            "source": provenance_text(row),
        }
        for row in rules.answer.records.get("cross_reference", [])
        if row["item_id"].startswith(prefix)
        and row["role"] in roles
        and (line is None or row["line_of_business"] == line)
    ]

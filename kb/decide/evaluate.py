"""Evaluate a request against the rules in force on its date of service, with a trace.

``RuleSet`` is one version of one policy made executable: its criteria with their stored
predicates, durations and referrals, and a content hash of all of them. Evaluation is
three-valued (True met, False not met, None unknown; Kleene logic over all/any/none/at
least N). ``evaluate`` walks the tree and records a trace; ``kb.decide.outcomes`` turns the results
into a decision (approve, deny, pend or refer); ``RuleSet.compiled`` is the same rules
generated as one Python function for batch work without traces (a test holds the two to the
same answers).
"""

from __future__ import annotations

from typing import Any

from kb.concepts.facts import DERIVED, Request
from kb.decide.calendar import add_months
from kb.decide.compiled import diagnosis_only
from kb.decide.conditions import condition
from kb.decide.outcomes import decide
from kb.decide.ruleset import (
    RESULT_WORDS,
    SECTIONS,
    Decision,
    Node,
    RuleSet,
    Truth,
    combine,
    conditional,
    kleene_all,
    kleene_any,
    kleene_not,
)
from kb.predicates import Predicate

__all__ = [
    "SECTIONS",
    "Decision",
    "Node",
    "RuleSet",
    "add_months",
    "combine",
    "evaluate",
    "kleene_all",
    "kleene_any",
    "kleene_not",
]


class Evaluation:
    """One walk of a rule set over one request, collecting the trace as it goes."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.day = request.date_of_service
        self.values = request.values
        self.trace: list[dict[str, Any]] = []

    def predicate(self, p: Predicate, context: str, read: dict[str, Any], needs: list[str]) -> Truth:
        name = p.get("fact")
        if name is not None:
            parts = DERIVED.get(name)
            if parts is None:
                read[name] = self.request.facts.get(name)
            else:
                read.update((part, self.request.facts.get(part)) for part in parts)
            truth, missing = condition(p)(self.values, self.day)
            if missing:
                needs += missing
            return truth
        op = p["op"]
        if op in ("all", "any", "at_least"):
            values = [self.predicate(arg, op, read, needs) for arg in p["args"]]
            return combine(op, values, p.get("count"))
        if op == "not":
            return kleene_not(self.predicate(p["arg"], "all", read, needs))
        if op == "if":
            cond = self.predicate(p["cond"], "all", read, needs)
            return conditional(context, cond, self.predicate(p["then"], context, read, needs))
        if op == "never":
            return False
        if op == "review":
            needs.append(f"clinical review: {p['reason']}")
        return None

    def node(self, node: Node, context: str, depth: int = 0) -> Truth:
        """The node's result; its trace entry precedes its children's."""
        read: dict[str, Any] = {}
        needs: list[str] = []
        extra: dict[str, Any] = {}
        index = len(self.trace)
        self.trace.append({})
        footnote = node.footnote if node.footnote is not None and node.footnote["op"] != "note" else None
        predicate = node.predicate
        if footnote is None:
            result = self.body(node, predicate, context, depth, read, needs)
        elif predicate["op"] == "if":
            # a footnote binds what the item asks, not its condition
            cond = self.predicate(predicate["cond"], "all", read, needs)
            then = self.with_footnote(node, predicate["then"], footnote, context, depth, read, needs, extra)
            result = conditional(context, cond, then)
        else:
            result = self.with_footnote(node, predicate, footnote, context, depth, read, needs, extra)
        entry = {
            "item": node.row["item_id"],
            "where": node.where,
            "depth": depth,
            "text": node.row["text"],
            "result": RESULT_WORDS[result],
            "facts": read,
            "needs": list(dict.fromkeys(needs)) if needs and result is None else [],  # a settled item needs nothing
            "source": node.source,
            **extra,
        }
        if predicate["op"] == "if":
            entry["reading"] = (
                "read as: where its condition holds, the rest must be met"
                if context == "all"
                else "read as: an option met when its condition and the rest both hold"
            )
        self.trace[index] = entry
        return result

    def with_footnote(
        self,
        node: Node,
        p: Predicate,
        footnote: Predicate,
        context: str,
        depth: int,
        read: dict[str, Any],
        needs: list[str],
        extra: dict[str, Any],
    ) -> Truth:
        """The item's own result, bound by its footnote: a further condition, or (unless) an exemption."""
        result = self.body(node, p, context, depth, read, needs)
        extra["body"] = RESULT_WORDS[result]
        if footnote["op"] == "unless":
            return kleene_any([result, self.predicate(footnote["cond"], "all", read, needs)])
        met = self.predicate(footnote, "all", read, needs)
        extra["footnote"] = {"text": node.row["footnote_text"], "result": RESULT_WORDS[met]}
        return kleene_all([result, met])

    def body(self, node: Node, p: Predicate, context: str, depth: int, read: dict[str, Any], needs: list[str]) -> Truth:
        """A node's own predicate, where ``{"op": "children"}`` stands for its sub-items."""
        if p["op"] == "children":
            values = [self.node(child, node.logic, depth + 1) for child in node.children]
            return combine(node.logic, values, node.count)
        if p["op"] == "if":
            cond = self.predicate(p["cond"], "all", read, needs)
            return conditional(context, cond, self.body(node, p["then"], context, depth, read, needs))
        if p["op"] in ("all", "any") and {"op": "children"} in p["args"]:
            return combine(p["op"], [self.body(node, arg, p["op"], depth, read, needs) for arg in p["args"]])
        return self.predicate(p, context, read, needs)


def evaluate(
    rules: RuleSet, request: Request, known_at: str | None = None, pending: list[dict[str, Any]] | None = None
) -> Decision:
    """Decide ``request`` under ``rules``: approve, deny, pend or refer, with the trace and its reasons."""
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
    run = Evaluation(request)
    results = [(node, run.node(node, "all")) for node in rules.deciding(SECTIONS[request.request_type])]
    decision.criteria = run.trace
    section = SECTIONS[request.request_type]
    alone: dict[int, Truth] = {}

    def on_diagnosis(node: Node) -> Truth:
        """The set with nothing but the diagnosis known (computed once, and only for a denial)."""
        if not alone:
            if section not in rules.on_diagnosis:
                rules.on_diagnosis[section] = diagnosis_only(rules, section)
            values = rules.on_diagnosis[section](request.values, request.date_of_service)
            alone.update(zip((id(set_node) for set_node, _ in results), values))
        return alone[id(node)]

    decide(decision, rules, results, on_diagnosis)
    return decision

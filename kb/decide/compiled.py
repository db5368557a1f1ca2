"""A rule set generated as Python functions, for batch decisions without traces.

The generated code follows ``kb.decide.evaluate`` exactly (Kleene logic, "If X, Y" read by where it
stands, footnotes as further conditions or exemptions); facts are tested by the same
``kb.decide.conditions`` the traced walk uses (plain booleans, numbers and choices inline). The
outcome follows ``kb.decide.outcomes``: a met set approves (under a cycle cap or a course total only
with cycles or days left),
an unknown one pends, and when every set fails, the request is referred if each fails on the
diagnosis alone (the sets evaluated with nothing but the diagnosis known), else denied. A
property test holds the two paths to the same decision on random requests; the generated
source is kept on the function for inspection.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from kb.concepts.facts import DERIVED, FACTS
from kb.decide.conditions import condition
from kb.decide.courses import Course, course_of, verdict
from kb.decide.ruleset import SECTIONS, Node, RuleSet, combine, kleene_all, kleene_any, kleene_not
from kb.predicates import Predicate

Decide = Callable[[dict[str, Any], date], str]
INLINE = ("boolean", "number", "integer", "choice")


class Generator:
    """Python source for one rule set; ``only`` = a fact name restricts it to that fact."""

    def __init__(self, table: str, only: str | None = None) -> None:
        self.table = table
        self.only = only
        self.conditions: list[Any] = []
        self.names = 0

    def name(self) -> str:
        self.names += 1
        return f"t{self.names}"

    def kleene(self, op: str, parts: list[str]) -> str:
        """Kleene all/any as one short-circuiting expression: the first False (all) or True (any) decides."""
        if len(parts) == 1:
            return parts[0]
        decisive, otherwise = ("False", "True") if op == "all" else ("True", "False")
        names = [self.name() for _ in parts]
        code = f"(None if None in ({', '.join(names)},) else {otherwise})"
        for part, name in zip(reversed(parts), reversed(names)):
            code = f"({decisive} if ({name} := {part}) is {decisive} else {code})"
        return code

    def fact(self, p: Predicate) -> str:
        name, op = p["fact"], p["op"]
        if self.only is not None and name != self.only:
            return "None"
        kind = "integer" if name in DERIVED else FACTS[name].type
        if kind in ("concept", "concepts", "quantity") and op != "known":
            test = condition(p)
            cache: dict[Any, Any] = {}

            def fill(x: Any, test: Any = test, cache: dict[Any, Any] = cache, name: str = name) -> Any:
                cache[x] = truth = test({name: x}, None)[0]
                return truth

            self.conditions.append((cache, fill))
            index = len(self.conditions) - 1
            return (
                f"(None if (x := v.get({name!r})) is None else "
                f"(y if (y := {self.table}[{index}][0].get(x, 2)) != 2 else {self.table}[{index}][1](x)))"
            )
        if kind not in INLINE or op == "known":
            self.conditions.append(condition(p))
            return f"{self.table}[{len(self.conditions) - 1}](v, d)[0]"
        if name in DERIVED:
            first, second = DERIVED[name]
            value = f"(None if (a := v.get({first!r})) is None or (b := v.get({second!r})) is None else a + b)"
        else:
            value = f"v.get({name!r})"
        if op == "in":
            test = f"x in {tuple(p['value'])!r}"
        else:
            test = f"x == {p['value']!r}" if op == "is" else f"x {op} {p['value']!r}"
        return f"(None if (x := {value}) is None else {test})"

    def predicate(self, p: Predicate, context: str) -> str:
        op = p["op"]
        if "fact" in p:
            return self.fact(p)
        if op in ("all", "any"):
            return self.kleene(op, [self.predicate(a, op) for a in p["args"]])
        if op == "at_least":
            return f"_combine('at_least', ({', '.join(self.predicate(a, op) for a in p['args'])},), {p['count']})"
        if op == "not":
            return f"_not({self.predicate(p['arg'], 'all')})"
        if op == "if":
            return self.conditional(context, self.predicate(p["cond"], "all"), self.predicate(p["then"], context))
        if op == "never" and self.only is None:
            return "False"
        return "None"

    def conditional(self, context: str, cond: str, then: str) -> str:
        if context != "all":
            return self.kleene("all", [cond, then])
        return self.kleene("any", [f"_not({cond})", then])

    def body(self, node: Node, p: Predicate, context: str) -> str:
        if p["op"] == "children":
            children = ", ".join(self.node(child, node.logic) for child in node.children)
            if node.logic in ("all", "any"):
                return self.kleene(node.logic, [self.node(child, node.logic) for child in node.children])
            return f"_combine({node.logic!r}, ({children},), {node.count!r})"
        if p["op"] == "if":
            return self.conditional(context, self.predicate(p["cond"], "all"), self.body(node, p["then"], context))
        if p["op"] in ("all", "any") and {"op": "children"} in p["args"]:
            return self.kleene(p["op"], [self.body(node, a, p["op"]) for a in p["args"]])
        return self.predicate(p, context)

    def node(self, node: Node, context: str) -> str:
        footnote = node.footnote if node.footnote is not None and node.footnote["op"] != "note" else None
        if footnote is not None and node.predicate["op"] == "if":
            then = self.bound(node, node.predicate["then"], footnote, context)
            return self.conditional(context, self.predicate(node.predicate["cond"], "all"), then)
        return self.bound(node, node.predicate, footnote, context)

    def bound(self, node: Node, p: Predicate, footnote: Predicate | None, context: str) -> str:
        code = self.body(node, p, context)
        if footnote is not None and footnote["op"] == "unless":
            return self.kleene("any", [code, self.predicate(footnote["cond"], "all")])
        if footnote is not None:
            return self.kleene("all", [code, self.predicate(footnote, "all")])
        return code


def _caps(rules: RuleSet, sets: list[Node]) -> list[dict[str, tuple[int | None, Course | None]]]:
    """Per criteria set: line of business -> (cycle cap, course total) of its approval duration."""
    rows = rules.answer.records.get("duration", [])
    return [
        {
            r["line_of_business"]: (r["cycle_cap"], course_of(r["text"]))
            for r in rows
            if (r["section"], r["indication"]) == (node.row["section"], node.row["indication"])
            and (r["cycle_cap"] or course_of(r["text"]))
        }
        for node in sets
    ]


def _function(source: str, name: str, namespace: dict[str, Any]) -> Callable[..., Any]:
    exec(compile(source, name, "exec"), namespace)
    function = namespace["decide"]
    function.source = source
    return function


def diagnosis_only(rules: RuleSet, section: str) -> Callable[[dict[str, Any], date], tuple[Any, ...]]:
    """The section's deciding sets evaluated with nothing but the diagnosis known, as one function
    of the request's values (False for a set: the request is for another diagnosis)."""
    generator = Generator("_d", "diagnosis")
    sets = "".join(f"{generator.node(node, 'all')}, " for node in rules.deciding(section))
    source = f"def decide(v, d):\n    v = {{'diagnosis': v.get('diagnosis')}}\n    return ({sets})\n"
    namespace = {"_not": kleene_not, "_combine": combine, "_d": generator.conditions}
    return _function(source, f"<diagnosis of {rules.answer.policy_id} {rules.label} {section}>", namespace)


def compile_rules(rules: RuleSet) -> dict[str, Decide]:
    """One decide(values, date_of_service) -> "approve" | "deny" | "pend" | "refer" per request type."""
    functions: dict[str, Decide] = {}
    for request_type, section in SECTIONS.items():
        sets = rules.deciding(section) if rules.answer.covered else []
        full, diagnosis = Generator("_c"), Generator("_d", "diagnosis")
        results = "".join(f"{full.node(node, 'all')}, " for node in sets)
        on_diagnosis = "".join(f"{diagnosis.node(node, 'all')}, " for node in sets)
        source = (
            "def decide(v, d):\n"
            f"    r = ({results})\n"
            "    if True in r:\n"
            "        cap, course = _caps[r.index(True)].get(v.get('line_of_business'), (None, None))\n"
            "        if course and (verdict := _course(course, v)) != 'approve':\n"
            "            return verdict\n"
            "        if not cap:\n"
            "            return 'approve'\n"
            "        received = v.get('cycles_received')\n"
            "        return 'pend' if received is None else ('approve' if cap - received > 0 else 'deny')\n"
            "    if None in r or not r:\n"
            "        return 'pend'\n"
            "    v = {'diagnosis': v.get('diagnosis')}\n"
            f"    dx = ({on_diagnosis})\n"
            "    return 'refer' if all(x is False for x in dx) else 'deny'\n"
        )
        namespace: dict[str, Any] = {
            "_all": kleene_all,
            "_any": kleene_any,
            "_not": kleene_not,
            "_combine": combine,
            "_c": full.conditions,
            "_d": diagnosis.conditions,
            "_caps": _caps(rules, sets),
            "_course": verdict,
        }
        name = f"<rules {rules.answer.policy_id} {rules.label} {request_type}>"
        functions[request_type] = _function(source, name, namespace)
    return functions

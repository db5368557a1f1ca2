"""A rule set generated as one Python function, for batch decisions without traces.

The generated code follows ``kb.evaluate`` exactly (Kleene all/any, "If X, Y" read by where
it stands, footnotes as further conditions); a property test holds the two to the same
decision on random requests. The source is kept on the function for inspection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kb.evaluate import SECTIONS, Node, RuleSet, combine, fact_word, kleene_all, kleene_any
from kb.facts import DERIVED
from kb.predicates import Predicate

Decide = Callable[[dict[str, Any]], str]


def _if(context: str, condition: str, then: str) -> str:
    if context != "all":
        return f"_all(({condition}, {then}))"
    return f"_any(((None if (c := {condition}) is None else not c), {then}))"


def _fact(predicate: Predicate) -> str:
    name, op, expected = predicate["fact"], predicate["op"], predicate["value"]
    if name in DERIVED:
        first, second = DERIVED[name]
        value = f"(None if (a := f.get({first!r})) is None or (b := f.get({second!r})) is None else a + b)"
    else:
        value = f"f.get({name!r})"
    if op == "in":
        test = f"_word(v) in {tuple(expected)!r}"
    elif op == "has":
        test = f"{expected!r} in [_word(x) for x in v]"
    elif op in ("is", "=="):
        test = f"_word(v) == {expected!r}"
    else:
        test = f"v {op} {expected!r}"
    return f"(None if (v := {value}) is None else {test})"


def _predicate(predicate: Predicate, context: str) -> str:
    op = predicate["op"]
    if "fact" in predicate:
        return _fact(predicate)
    if op in ("all", "any"):
        return f"_{op}(({', '.join(_predicate(p, op) for p in predicate['args'])},))"
    if op == "if":
        return _if(context, _predicate(predicate["cond"], "all"), _predicate(predicate["then"], context))
    return "None"


def _node(node: Node, context: str) -> str:
    body = node.predicate["then"] if node.predicate["op"] == "if" else node.predicate
    if body["op"] == "children":
        logic = node.logic
        children = ", ".join(_node(child, logic) for child in node.children)
        code = (
            f"_{logic}(({children},))"
            if logic in ("all", "any")
            else f"_combine({logic!r}, ({children},), {node.count!r})"
        )
        if node.predicate["op"] == "if":
            code = _if(context, _predicate(node.predicate["cond"], "all"), code)
    else:
        code = _predicate(node.predicate, context)
    if node.footnote is not None:
        code = f"_all(({code}, {_predicate(node.footnote, 'all')}))"
    return code


def compile_rules(rules: RuleSet) -> dict[str, Decide]:
    """One decide(facts) -> "approve" | "deny" | "pend" per request type."""
    functions: dict[str, Decide] = {}
    for request_type, section in SECTIONS.items():
        sets = rules.deciding(section) if rules.answer.covered else []
        results = ", ".join(_node(node, "all") for node in sets)
        source = (
            "def decide(f):\n"
            f"    r = ({results}{',' if sets else ''})\n"
            "    return 'approve' if True in r else ('pend' if None in r or not r else 'deny')\n"
        )
        namespace: dict[str, Any] = {"_all": kleene_all, "_any": kleene_any, "_combine": combine, "_word": fact_word}
        exec(compile(source, f"<rules {rules.answer.policy_id} {rules.label} {request_type}>", "exec"), namespace)
        decide = namespace["decide"]
        decide.source = source
        functions[request_type] = decide
    return functions

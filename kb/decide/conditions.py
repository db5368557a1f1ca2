"""A fact predicate tested against a request's facts, three-valued, with what would settle it.

``condition(predicate)`` turns one ``{"fact": ...}`` predicate into a function of the request's
read facts (``Request.values``) that returns ``(truth, needs)``: True, False, or None with the
facts (and the questions) that would settle it. The traced walk and the compiled rules both
use it, so the two cannot read a fact differently. Every need names a fact of the vocabulary
(``kb facts``): a derived fact (``cycles_total``) names the facts it is made of.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from kb.concepts.facts import DERIVED, FACTS
from kb.concepts.match import match, match_any
from kb.concepts.quantity import Quantity, compare
from kb.decide.calendar import months_before
from kb.predicates import Predicate

Truth = bool | None
Outcome = tuple[Truth, list[str]]
Condition = Callable[[dict[str, Any], date], Outcome]
COMPARE = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt, "==": operator.eq}


def _derived(name: str) -> Callable[[dict[str, Any]], tuple[Any, list[str]]]:
    parts = DERIVED[name]

    def value(values: dict[str, Any]) -> tuple[Any, list[str]]:
        missing = [part for part in parts if values.get(part) is None]
        return (None, missing) if missing else (sum(values[part] for part in parts), [])

    return value


def _quantity(p: Predicate) -> Callable[[Any], Outcome]:
    limit = Quantity.of({key: p[key] for key in ("value", "unit", "per", "of", "phase") if key in p})

    def test(given: tuple[Quantity, ...]) -> Outcome:
        results = {compare(p["op"], quantity, limit) for quantity in given} - {None}
        if results:
            return False not in results, []
        component = f" of {limit.component}" if limit.component else ""
        phase = f" in the {limit.phase} phase" if limit.phase else ""
        return None, [f"{p['fact']}: a dose{component} in {limit.unit} per {limit.per}{phase}"]

    return test


def _measurement(p: Predicate) -> Callable[[Any, date], Outcome]:
    fact = FACTS[p["fact"]]
    bound = p["value"] * fact.units[p.get("unit", fact.unit)]
    within = p.get("within")
    compare_op = COMPARE[p["op"]]

    def test(given: Any, day: date) -> Outcome:
        if within:
            if given.taken is None:
                return None, [f"{fact.name}: the date it was taken"]
            unit, count = next(iter(within.items()))
            oldest = (
                months_before(day, count)
                if unit == "months"
                else day - timedelta(days=count * (7 if unit == "weeks" else 1))
            )
            if given.taken < oldest:
                return None, [f"{fact.name}: a value taken within the {count} {unit} before {day.isoformat()}"]
        return compare_op(given.value, bound), []

    return test


@lru_cache(maxsize=1 << 12)
def _compiled(key: str) -> Condition:
    import json

    return condition_of(json.loads(key))


_BY_ID: dict[int, tuple[Predicate, Condition]] = {}


def condition(p: Predicate) -> Condition:
    """The test of one fact predicate (cached by the predicate object, then by its JSON text)."""
    found = _BY_ID.get(id(p))
    if found is not None and found[0] is p:
        return found[1]
    import json

    test = _compiled(json.dumps(p, sort_keys=True))
    if len(_BY_ID) > 1 << 16:
        _BY_ID.clear()
    _BY_ID[id(p)] = (p, test)
    return test


def condition_of(p: Predicate) -> Condition:
    name, op = p["fact"], p["op"]
    kind = "integer" if name in DERIVED else FACTS[name].type
    get: Callable[[dict[str, Any]], tuple[Any, list[str]]] = (
        _derived(name) if name in DERIVED else (lambda values: (values.get(name), [name]))
    )
    if name == "date_of_service":
        bound = date.fromisoformat(p["value"])
        return lambda values, day: (COMPARE[op](day, bound), [])
    if op == "known":
        return lambda values, day: (True, []) if values.get(name) is not None else (None, [name])
    if kind in ("concept", "concepts"):
        accepted, count = tuple(p["value"]), p.get("count", 1)

        def concept(values: dict[str, Any], day: date) -> Outcome:
            given = values.get(name)
            if given is None:
                return None, [name]
            if kind == "concept":
                truth, question = match(given, accepted)
                return truth, [f"{name}: {question}"] if question else []
            truth, questions = match_any(given, accepted, count)
            return truth, [f"{name}: {q}" for q in questions]

        return concept
    if kind == "quantity":
        test = _quantity(p)
        return lambda values, day: test(values[name]) if values.get(name) is not None else (None, [name])
    if kind == "measurement":
        lab = _measurement(p)
        return lambda values, day: lab(values[name], day) if values.get(name) is not None else (None, [name])
    expected = date.fromisoformat(p["value"]) if kind == "date" else p["value"]
    test_value = (
        (lambda v: v in expected)
        if op == "in"
        else (lambda v: v == expected)
        if op == "is"
        else (lambda v: COMPARE[op](v, expected))
    )

    def plain(values: dict[str, Any], day: date) -> Outcome:
        value, missing = get(values)
        return (None, missing) if value is None else (test_value(value), [])

    return plain

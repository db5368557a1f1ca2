"""The predicate language: what a criterion's condition may say, checked and made canonical.

See ``kb/concepts/README.md`` for the language as a reader writes it. ``check`` refuses a
predicate that does not follow it, naming the place; ``canonical`` gives the one form two
equal predicates share (nested all/any flattened, value lists and arguments sorted, units and
intervals spelled one way), so that a hand-written predicate compares with a read one.
"""

from __future__ import annotations

import json
from typing import Any

from kb.concepts.facts import FACTS, Fact
from kb.concepts.match import kind_of
from kb.concepts.quantity import PHASES, QuantityError, period_of, unit_of

Predicate = dict[str, Any]
COMPARISONS = ("<=", "<", ">=", ">", "==")
OPS_BY_TYPE = {
    "boolean": ("is",),
    "number": COMPARISONS,
    "integer": COMPARISONS,
    "choice": ("in",),
    "concept": ("in",),
    "concepts": ("has",),
    "quantity": COMPARISONS,
    "measurement": COMPARISONS,
    "date": COMPARISONS,
}
DERIVED_FACTS = {"cycles_total": "integer"}
WITHIN_UNITS = ("days", "weeks", "months")
KEYS = {
    "all": {"args"},
    "any": {"args"},
    "at_least": {"count", "args"},
    "not": {"arg"},
    "if": {"cond", "then"},
    "unless": {"cond"},
    "children": set(),
    "refer": set(),
    "note": set(),
    "review": {"reason"},
    "never": {"reason"},
}


class PredicateError(ValueError):
    """A predicate that does not follow the language; the message names where."""


def _fact_type(name: str) -> tuple[str, Fact | None]:
    if name in DERIVED_FACTS:
        return DERIVED_FACTS[name], None
    if name not in FACTS:
        raise PredicateError(f"unknown fact {name!r} (see `kb facts`)")
    return FACTS[name].type, FACTS[name]


def _check_fact(p: Predicate, where: str) -> None:
    kind, fact = _fact_type(p["fact"])
    op = p.get("op")
    if op == "known":
        if set(p) != {"fact", "op"}:
            raise PredicateError(f"{where}: 'known' takes no value")
        return
    if op not in OPS_BY_TYPE[kind]:
        raise PredicateError(f"{where}: fact {p['fact']!r} ({kind}) takes op {' '.join(OPS_BY_TYPE[kind])} or known")
    value = p.get("value")
    allowed = {"fact", "op", "value"} | {
        "quantity": {"unit", "per", "of", "phase"},
        "measurement": {"unit", "within"},
    }.get(kind, set())
    allowed |= {"count"} if kind == "concepts" else set()
    if set(p) - allowed or "value" not in p:
        raise PredicateError(f"{where}: fact {p['fact']!r} takes keys {sorted(allowed)}")
    if kind == "boolean" and not isinstance(value, bool):
        raise PredicateError(f"{where}: 'is' takes true or false")
    if kind in ("choice", "concept", "concepts"):
        known = fact.values if kind == "choice" else kind_of(fact.kind).concepts  # type: ignore[union-attr]
        if not isinstance(value, list) or not value or any(v not in known for v in value):
            raise PredicateError(
                f"{where}: {p['fact']!r} takes a list of {fact.kind or 'values'} from {sorted(known)[:8]}..."
            )  # type: ignore[union-attr]
    if kind in ("number", "integer", "quantity", "measurement") and (
        isinstance(value, bool) or not isinstance(value, (int, float))
    ):
        raise PredicateError(f"{where}: {p['fact']!r} compares with a number")
    try:
        if kind == "quantity":
            unit_of(p["unit"]), period_of(p["per"])
    except (KeyError, QuantityError) as error:
        raise PredicateError(f"{where}: a dose needs unit and per ({error})") from error
    bad_phase = "phase" in p and p["phase"] not in PHASES
    if bad_phase or ("of" in p and p["of"] not in kind_of("drug").concepts):
        raise PredicateError(f"{where}: a dose's phase is one of {PHASES}, its component ('of') a drug concept id")
    if kind == "measurement" and p.get("unit", fact.unit) not in fact.units:  # type: ignore[union-attr]
        raise PredicateError(f"{where}: {p['fact']!r} takes a unit of {sorted(fact.units)}")  # type: ignore[union-attr]
    within = p.get("within")
    if within is not None and (len(within) != 1 or next(iter(within)) not in WITHIN_UNITS):
        raise PredicateError(f'{where}: within is {{"days"|"weeks"|"months": N}}')


def check(p: Any, where: str = "predicate") -> None:
    """Raise ``PredicateError`` where ``p`` does not follow the language."""
    if not isinstance(p, dict) or "op" not in p:
        raise PredicateError(f"{where}: expected an object with 'op'")
    if "fact" in p:
        _check_fact(p, where)
        return
    op = p["op"]
    if op not in KEYS or set(p) - {"op"} != KEYS[op]:
        raise PredicateError(f"{where}: op {op!r} takes keys {sorted(KEYS.get(op, {'?'}))}")
    if op in ("all", "any", "at_least"):
        if not isinstance(p["args"], list) or len(p["args"]) < 2:
            raise PredicateError(f"{where}: {op} takes a list of two or more predicates")
        for index, arg in enumerate(p["args"]):
            check(arg, f"{where}.{op}[{index}]")
    for key in ("arg", "cond", "then"):
        if key in p:
            check(p[key], f"{where}.{key}")


def canonical(p: Predicate) -> Predicate:
    """The one form of a predicate: flattened, sorted, units and intervals spelled one way."""
    if "fact" in p:
        out = dict(p)
        if isinstance(out.get("value"), list):
            out["value"] = sorted(out["value"])
        if "unit" in out and FACTS.get(p["fact"], Fact("", "", "")).type == "quantity":
            out["unit"], out["per"] = unit_of(out["unit"])[2], period_of(out["per"])
        if out.get("count") == 1:
            del out["count"]
        return out
    op = p["op"]
    if op in ("all", "any"):
        args: list[Predicate] = []
        for arg in (canonical(a) for a in p["args"]):
            args += arg["args"] if arg["op"] == op and "fact" not in arg else [arg]
        if op == "any":
            args = _merge_lists(args)
        return args[0] if len(args) == 1 else {"op": op, "args": sorted(args, key=_key)}
    if op == "at_least":
        return {"op": op, "count": p["count"], "args": sorted((canonical(a) for a in p["args"]), key=_key)}
    return {key: canonical(value) if key in ("arg", "cond", "then") else value for key, value in p.items()}


def _merge_lists(args: list[Predicate]) -> list[Predicate]:
    """Options of one list fact or one concept fact merge: any[has a, has b] is has [a, b]."""
    merged: dict[tuple[str, str], Predicate] = {}
    rest: list[Predicate] = []
    for arg in args:
        if "fact" in arg and arg["op"] in ("in", "has") and "count" not in arg:
            key = (arg["fact"], arg["op"])
            if key in merged:
                merged[key] = merged[key] | {"value": sorted(set(merged[key]["value"]) | set(arg["value"]))}
                continue
            merged[key] = arg
        else:
            rest.append(arg)
    return [*merged.values(), *rest]


def _key(p: Predicate) -> str:
    return json.dumps(p, sort_keys=True, ensure_ascii=False)


def facts_read(p: Predicate) -> set[str]:
    """The facts a predicate reads."""
    if "fact" in p:
        return {p["fact"]}
    found: set[str] = set()
    for key in ("args", "arg", "cond", "then"):
        for item in p.get(key, []) if key == "args" else ([p[key]] if key in p else []):
            found |= facts_read(item)
    return found


def needs_review(p: Predicate) -> bool:
    """Does any part of the predicate need clinical review?"""
    if p["op"] == "review":
        return True
    return any(needs_review(a) for a in p.get("args", [])) or any(
        needs_review(p[k]) for k in ("arg", "cond", "then") if k in p
    )

"""The fact vocabulary of a prior-authorization request (JSON in, typed here).

The facts are data (``kb/concepts/facts.toml``): each has a type, a meaning and, where it
applies, its concept kind (with the code systems that code it), its unit or its range. Every
fact may be missing: a missing fact is unknown, and a criterion that needs it is unknown,
never guessed. ``Request.from_json`` refuses, naming the fact, a key it does not know, a value
of the wrong type, a number out of range (age > 130, NaN, Infinity, negative counts or doses),
a malformed date, an unknown code system or a code that does not exist. A phrase the
vocabulary does not know is accepted: the criteria that need it pend, naming it.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, fields, replace
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from kb.concepts.codes import CodeError
from kb.concepts.match import KIND_SYSTEMS, Value, kind_of, read_value
from kb.concepts.quantity import Quantity, QuantityError
from kb.dates import to_date
from kb.errors import KBError

FACTS_FILE = Path(__file__).parent / "facts.toml"
DERIVED = {"cycles_total": ("cycles_requested", "cycles_received")}
"""Facts computed from others: cycles_total = cycles_requested + cycles_received."""
REQUEST_TYPES = ("initial", "continuation")


@dataclass(frozen=True)
class Fact:
    """One fact of the vocabulary."""

    name: str
    type: str
    meaning: str
    kind: str | None = None
    values: tuple[str, ...] = ()
    unit: str | None = None
    units: dict[str, float] = field(default_factory=dict)
    min: float | None = None
    max: float | None = None
    phrases: tuple[str, ...] = ()
    negations: tuple[str, ...] = ()

    def accepts(self) -> str:
        """What a request may give, for ``kb facts`` and for error messages."""
        if self.type in ("concept", "concepts"):
            systems = ", ".join(KIND_SYSTEMS.get(self.kind or "", ())) or "none"
            shape = "a list of " if self.type == "concepts" else ""
            return f"{shape}{self.kind} phrases or codes (code systems: {systems})"
        if self.type == "choice":
            return "one of " + ", ".join(self.values)
        if self.type in ("number", "integer"):
            return f"{'a whole number' if self.type == 'integer' else 'a number'} {self.min:g}..{self.max:g}"
        if self.type == "measurement":
            return f"a number in {self.unit}, or {{value, unit ({', '.join(self.units)}), date}}"
        if self.type == "quantity":
            return "{value, unit, per} (optional: of a kit component, phase initiation|maintenance) or a list of them"
        return {"boolean": "true or false", "date": "a date YYYY-MM-DD"}[self.type]


@cache
def vocabulary(path: Path = FACTS_FILE) -> dict[str, Fact]:
    """Every fact, by name (read once)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {
        name: Fact(
            name,
            entry["type"],
            entry["meaning"],
            entry.get("kind"),
            tuple(entry.get("values", ())),
            entry.get("unit"),
            dict(entry.get("units", {})),
            entry.get("min"),
            entry.get("max"),
            tuple(entry.get("phrases", ())),
            tuple(entry.get("negations", ())),
        )
        for name, entry in data.items()
    }


FACTS = vocabulary()


class RequestError(KBError):
    """A request that does not follow the vocabulary."""

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Measurement:
    """A laboratory value in its fact's unit, with the date it was taken (None: not given)."""

    value: float
    taken: date | None


def _number(fact: Fact, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected {fact.accepts()}")
    if not math.isfinite(value) or (fact.type == "integer" and not float(value).is_integer()):
        raise ValueError(f"expected {fact.accepts()}")
    if (fact.min is not None and value < fact.min) or (fact.max is not None and value > fact.max):
        raise ValueError(f"out of range; expected {fact.accepts()}")
    return value


def _measurement(fact: Fact, value: Any) -> Measurement:
    if not isinstance(value, dict):
        return Measurement(_number(Fact(fact.name, "number", "", min=0, max=1e12), value), None)
    unknown = set(value) - {"value", "unit", "date"}
    if unknown or "value" not in value or value.get("unit", fact.unit) not in fact.units:
        raise ValueError(f"expected {fact.accepts()}")
    number = _number(Fact(fact.name, "number", "", min=0, max=1e12), value["value"])
    taken = to_date(value["date"]) if value.get("date") is not None else None
    return Measurement(number * fact.units[value.get("unit", fact.unit)], taken)


def _concept(fact: Fact, value: Any) -> Value:
    if isinstance(value, dict):
        if set(value) - {"system", "code", "display"} or not {"system", "code"} <= set(value):
            raise ValueError('a code is {"system": ..., "code": ...}')
        return read_value(fact.kind or "", value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected {fact.accepts()}")
    return read_value(fact.kind or "", value)


def read_fact(fact: Fact, value: Any) -> Any:
    """A JSON value as the evaluator reads it, or ValueError / CodeError saying what is wrong."""
    if fact.type == "boolean":
        if not isinstance(value, bool):
            raise ValueError("expected true or false")
        return value
    if fact.type in ("number", "integer"):
        return _number(fact, value)
    if fact.type == "choice":
        found = next(
            (v for v in fact.values if isinstance(value, str) and v.casefold() == value.strip().casefold()), None
        )
        if found is None:
            raise ValueError(f"expected {fact.accepts()}")
        return found
    if fact.type == "date":
        return to_date(value)
    if fact.type == "concept":
        return _concept(fact, value)
    if fact.type == "concepts":
        if not isinstance(value, list):
            raise ValueError(f"expected {fact.accepts()}")
        return tuple(_concept(fact, item) for item in value)
    if fact.type == "quantity":
        return tuple(_dose(item) for item in (value if isinstance(value, list) else [value]))
    return _measurement(fact, value)


def _dose(item: Any) -> Quantity:
    """One dose; the kit component it names (``of``) read as a drug concept of the vocabulary."""
    if not isinstance(item, dict):
        raise ValueError('expected {"value", "unit", "per"} with optional "of" (a kit component) and "phase"')
    quantity = Quantity.of(item)
    if quantity.component is None:
        return quantity
    component = read_value("drug", quantity.component).concept
    if component is None:
        raise ValueError(f"of {quantity.component!r}: not a drug of the vocabulary (see `kb facts requested_drug`)")
    return replace(quantity, component=component)


@dataclass(frozen=True)
class Request:
    """A prior-authorization request: policy, date of service, type and facts (as given, and as read)."""

    policy: str
    date_of_service: date
    request_type: str = "initial"
    facts: dict[str, Any] = field(default_factory=dict)
    request_id: str | None = None
    values: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.facts and not self.values:
            object.__setattr__(self, "values", read_facts(self.facts, "request"))

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str = "request") -> Request:
        if not isinstance(data, dict):
            raise RequestError(where, "expected a JSON object")
        known = {f.name for f in fields(cls)} - {"values"}
        unknown = set(data) - known - set(FACTS)
        if unknown:
            raise RequestError(
                where, f"unknown field(s) {', '.join(sorted(unknown))}; expected {', '.join(sorted(FACTS))}"
            )
        for name in ("policy", "date_of_service"):
            if name not in data:
                raise RequestError(where, f"missing {name!r}")
        request_type = data.get("request_type", "initial")
        if request_type not in REQUEST_TYPES:
            raise RequestError(where, f"request_type {request_type!r}: expected one of {', '.join(REQUEST_TYPES)}")
        if not isinstance(data.get("facts", {}), dict):
            raise RequestError(where, "facts: expected an object of fact names and values")
        facts = dict(data.get("facts", {})) | {
            name: value for name, value in data.items() if name in FACTS and name not in known
        }
        try:
            when = to_date(data["date_of_service"])
        except (ValueError, TypeError) as error:
            raise RequestError(where, f"date_of_service {data['date_of_service']!r}: expected YYYY-MM-DD") from error
        return cls(str(data["policy"]), when, request_type, facts, data.get("request_id"), read_facts(facts, where))

    def to_json(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "policy": self.policy,
            "date_of_service": self.date_of_service.isoformat(),
            "request_type": self.request_type,
            "facts": self.facts,
        }

    def fact(self, name: str) -> Any:
        """A fact as read (a concept fact as ``Value``s), derived facts computed; None if not given."""
        if name in DERIVED:
            parts = [self.values.get(part) for part in DERIVED[name]]
            return None if None in parts else sum(parts)
        return self.values.get(name)


def fact_vocabulary() -> dict[str, dict[str, Any]]:
    """Every fact as ``kb facts`` shows it: type, meaning, what it accepts, its concepts and code systems."""
    rows: dict[str, dict[str, Any]] = {}
    for name, fact in FACTS.items():
        row: dict[str, Any] = {"type": fact.type, "meaning": fact.meaning, "accepts": fact.accepts()}
        if fact.kind:
            row["code_systems"] = list(KIND_SYSTEMS.get(fact.kind, ()))
            row["values"] = [{"id": c.id, "label": c.label} for c in kind_of(fact.kind).concepts.values()]
        if fact.type == "choice":
            row["values"] = [{"id": value, "label": value} for value in fact.values]
        if fact.unit:
            row["unit"] = fact.unit
        rows[name] = row
    return rows


def read_facts(facts: dict[str, Any], where: str) -> dict[str, Any]:
    """Every fact read by its vocabulary entry; a bad one raises ``RequestError`` naming it."""
    values: dict[str, Any] = {}
    for name, value in facts.items():
        if name not in FACTS or name == "date_of_service":
            raise RequestError(where, f"unknown fact {name!r}; see `kb facts` (date_of_service is given at the top)")
        if value is None:
            continue
        try:
            values[name] = read_fact(FACTS[name], value)
        except (ValueError, TypeError, KeyError, CodeError, QuantityError) as error:
            raise RequestError(where, f"fact {name!r} = {value!r}: {error}") from error
    return values

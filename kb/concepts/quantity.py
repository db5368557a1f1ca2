"""Doses as quantities: an amount in a unit, per an interval, compared three-valued.

A dose is ``{"value": 75, "unit": "mg", "per": "1 day"}``. Units of one dimension convert (mg,
mcg, g; mL, L; IU; mg/kg; mg/m2; tablets, vials, pens ... each a dimension of its own). ``per``
is ``dose`` (one administration), ``cycle``, ``course``, or ``N day(s)|week(s)|month(s)|year(s)``.
Two doses per intervals of days and weeks compare exactly as rates; a month is 28 to 31 days,
so a rate per month against a rate per day is decided only where every month length agrees,
and is unknown otherwise. A dose per administration never compares with a dose per interval.

A dose may name the component of a kit it is (``"of": "cabotegravir"``, a drug concept id) and
the phase of a schedule it belongs to (``"phase": "initiation"`` or ``"maintenance"``). A
component's dose compares only with a limit on that component; a dose of one phase only with a
limit on that phase, and a dose with no phase holds throughout, so it compares with every phase.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction

Truth = bool | None

UNITS: dict[str, tuple[str, float]] = {
    "mg": ("mass", 1),
    "mcg": ("mass", 0.001),
    "µg": ("mass", 0.001),
    "ug": ("mass", 0.001),
    "g": ("mass", 1000),
    "ml": ("volume", 1),
    "l": ("volume", 1000),
    "iu": ("iu", 1),
    "units": ("iu", 1),
    "mg/kg": ("mass/kg", 1),
    "mcg/kg": ("mass/kg", 0.001),
    "iu/kg": ("iu/kg", 1),
    "mg/m2": ("mass/m2", 1),
    "mg/m²": ("mass/m2", 1),
    "injection": ("injection", 1),
    "injections": ("injection", 1),
    "pen": ("injection", 1),
    "pens": ("injection", 1),
    "syringe": ("injection", 1),
    "syringes": ("injection", 1),
    "penorsyringe": ("injection", 1),
}
"""Unit (lower case) -> (dimension, factor to the dimension's first unit)."""

COUNTS = ("tablet", "capsule", "vial", "kit", "inhalation", "actuation")
PERIODS = {"day": 1, "week": 7, "month": None, "year": None}
SINGLE = ("dose", "cycle", "course")
PHASES = ("initiation", "maintenance")


class QuantityError(ValueError):
    """A unit or interval that the dose vocabulary does not know."""


def unit_of(text: str) -> tuple[str, float, str]:
    """(dimension, factor, canonical spelling) of a unit: 'tablets' -> ('tablet', 1, 'tablet')."""
    key = text.strip().casefold().replace(" ", "")
    if key in UNITS:
        dimension, factor = UNITS[key]
        spelled = (
            "injection" if dimension == "injection" else key.replace("²", "2").replace("µg", "mcg").replace("ug", "mcg")
        )
        return dimension, factor, spelled
    single = key[:-1] if key.endswith("s") and key[:-1] in COUNTS else key
    if single in COUNTS:
        return single, 1, single
    raise QuantityError(f"unit {text!r}; expected one of {', '.join([*UNITS, *COUNTS])}")


def period_of(text: str) -> str:
    """The canonical interval: 'day' -> '1 day', 'every 14 days' -> '14 days', 'monthly' -> '1 month'."""
    key = re.sub(r"\s+", " ", text.strip().casefold()).removeprefix("every ").removeprefix("per ")
    key = {"daily": "1 day", "weekly": "1 week", "monthly": "1 month", "yearly": "1 year", "once": "dose"}.get(key, key)
    if key in SINGLE:
        return key
    match = re.match(r"^(\d+)?\s*(day|week|month|year)s?$", key)
    if not match:
        raise QuantityError(f"interval {text!r}; expected dose, cycle, course or 'N days|weeks|months|years'")
    count = int(match[1] or 1)
    return f"{count} {match[2]}{'s' if count != 1 else ''}"


@dataclass(frozen=True)
class Quantity:
    value: float
    unit: str
    per: str
    component: str | None = None
    phase: str | None = None
    dimension: str = field(init=False, compare=False, repr=False)
    base: float = field(init=False, compare=False, repr=False)

    key: int = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        dimension, factor, _ = unit_of(self.unit)
        object.__setattr__(self, "dimension", dimension)
        object.__setattr__(self, "base", self.value * factor)
        object.__setattr__(self, "key", hash((self.value, self.unit, self.per, self.component, self.phase)))

    def __hash__(self) -> int:
        return self.key

    @classmethod
    def of(cls, data: dict[str, object]) -> Quantity:
        value = data.get("value")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise QuantityError(f"value {value!r}; expected a finite number >= 0")
        phase = data.get("phase")
        if phase is not None and phase not in PHASES:
            raise QuantityError(f"phase {phase!r}; expected one of {', '.join(PHASES)}")
        of = data.get("of")
        if of is not None and not isinstance(of, str):
            raise QuantityError(f"of {of!r}; expected the component's name")
        return cls(
            float(value),
            unit_of(str(data.get("unit", "")))[2],
            period_of(str(data.get("per", "dose"))),
            of,
            phase,  # type: ignore[arg-type]
        )

    def days(self) -> tuple[Fraction, Fraction] | None:
        """The interval's length in days, as a range (a month is 28..31 days); None for dose/cycle/course."""
        if self.per in SINGLE:
            return None
        count, unit = self.per.split()
        n = int(count)
        unit = unit.rstrip("s")
        if unit in ("day", "week"):
            length = Fraction(n * PERIODS[unit])
            return length, length
        months = n * (12 if unit == "year" else 1)
        return Fraction(months * 28), Fraction(months * 31)


def compare(op: str, given: Quantity, limit: Quantity) -> Truth:
    """``given op limit`` for doses of one dimension, component and phase (None if they cannot be compared)."""
    if given.dimension != limit.dimension or given.component != limit.component:
        return None
    if given.phase is not None and limit.phase is not None and given.phase != limit.phase:
        return None
    if given.per == limit.per:
        return _holds(op, given.base, limit.base)
    if given.per in SINGLE or limit.per in SINGLE:
        return None
    (g_count, g_unit), (l_count, l_unit) = given.per.split(), limit.per.split()
    if g_unit.rstrip("s") == l_unit.rstrip("s"):
        return _holds(op, given.base / int(g_count), limit.base / int(l_count))
    amount, bound = Fraction(given.base), Fraction(limit.base)
    outcomes = {_holds(op, amount / g, bound / l) for g in given.days() or () for l in limit.days() or ()}
    return outcomes.pop() if len(outcomes) == 1 else None


def _holds(op: str, left: float | Fraction, right: float | Fraction) -> bool:
    return {"<=": left <= right, "<": left < right, ">=": left >= right, ">": left > right, "==": left == right}[op]

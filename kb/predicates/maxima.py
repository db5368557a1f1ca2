"""The FDA maxima of a policy's own dosing section (V), as data linked to the criteria that cite it.

A criterion "Dose is within FDA maximum limit for any FDA-approved indication" is read by the
rules as the fact ``dose_within_fda_maximum``. Where ``kb/data/dosing/<policy>.toml`` gives the
section's maxima (``[[maximum]]``: product, indication, quote of the table's words, dose as a
list of limits that all hold), the fact is resolved through them: for each product, the
requested dose is within one of its rows (``if requested_drug in [product] then any[row ...]``).
Where the file gives none, the fact stays as it is and asks the requester.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from kb.errors import ChangeDataError
from kb.predicates.language import Predicate, PredicateError, check
from kb.predicates.rules import fact

DOSING = Path(__file__).resolve().parents[1] / "data" / "dosing"
CITED = fact("dose_within_fda_maximum", "is", True)
EXPECTED = "[[maximum]] entries with product (a drug concept id), indication, quote and dose (a list of limits)"


@dataclass(frozen=True)
class Maximum:
    """One row of a policy's dosing section: the product, the indication, its words and its maximum."""

    product: str
    indication: str
    quote: str
    limits: tuple[tuple[tuple[str, Any], ...], ...]

    def predicate(self) -> Predicate:
        limits = [{"fact": "dose", "op": "<=", **dict(limit)} for limit in self.limits]
        return limits[0] if len(limits) == 1 else {"op": "all", "args": limits}


@cache
def maxima(policy_id: str, folder: Path = DOSING) -> tuple[Maximum, ...]:
    """The policy's section V maxima (none when it has no dosing file)."""
    path = folder / f"{policy_id}.toml"
    if not path.exists():
        return ()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        rows = tuple(
            Maximum(
                entry["product"],
                entry["indication"],
                entry["quote"],
                tuple(tuple(sorted(limit.items())) for limit in entry["dose"]),
            )
            for entry in data["maximum"]
        )
        for index, row in enumerate(rows):
            check(fact("requested_drug", "in", [row.product]), f"maximum {index + 1}")
            check(row.predicate(), f"maximum {index + 1}")
    except (tomllib.TOMLDecodeError, KeyError, TypeError, AttributeError, PredicateError) as error:
        raise ChangeDataError(str(path), 0, EXPECTED, str(error)) from error
    return rows


def within_maxima(rows: tuple[Maximum, ...]) -> Predicate:
    """For each product, the dose is within one of its rows."""
    products = list(dict.fromkeys(row.product for row in rows))
    parts: list[Predicate] = []
    for product in products:
        options = [row.predicate() for row in rows if row.product == product]
        then = options[0] if len(options) == 1 else {"op": "any", "args": options}
        parts.append({"op": "if", "cond": fact("requested_drug", "in", [product]), "then": then})
    return parts[0] if len(parts) == 1 else {"op": "all", "args": parts}


def resolve(predicate: Predicate, policy_id: str) -> Predicate | None:
    """The predicate with ``dose_within_fda_maximum`` read through the policy's maxima, or None
    when it cites no maximum or the policy's dosing section gives none."""
    rows = maxima(policy_id)
    resolved = _replace(predicate, within_maxima(rows)) if rows else predicate
    return resolved if resolved != predicate else None


def _replace(p: Predicate, by: Predicate) -> Predicate:
    if p == CITED:
        return by
    if "fact" in p:
        return p
    out = dict(p)
    if "args" in p:
        out["args"] = [_replace(a, by) for a in p["args"]]
    for key in ("arg", "cond", "then"):
        if key in p:
            out[key] = _replace(p[key], by)
    return out

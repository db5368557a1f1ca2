"""Dose limits as the text states them: per eye, per kit component, initiation then maintenance.

| text | predicate |
|---|---|
| "15 mg (...) in each affected eye every 25 days" | ``dose_per_eye <= 15 mg per 25 days`` |
| "400 mg cabotegravir and 600 mg rilpivirine (1 kit of 2 vials) every month" | one dose limit per component (``"of"``) |
| "X initiation dose, followed by Y every month thereafter" | X per dose in the ``initiation`` phase, Y per month in the ``maintenance`` phase |
| "X 1 month apart for 2 consecutive months (initial dose), followed by Y every 2 months thereafter" | X per 1 month (initiation), Y per 2 months (maintenance) |

A schedule's label ("Monthly schedule:", "Every 2-month schedule:") restates the intervals its
text gives, and a kit in parentheses ("1 kit of 2 vials") restates that one kit holds the
components: neither is a further limit. How many initiation doses a schedule allows ("for 2
consecutive months") is not a dose limit and is not read here.
"""

from __future__ import annotations

import re

from kb.concepts.quantity import QuantityError, period_of, unit_of
from kb.predicates.language import Predicate
from kb.predicates.phrases import NUMBER, UNIT, concept, dose, number

KIT = re.compile(r" \(\d+ kits? of [^()]*\)$")
AMOUNT = re.compile(
    rf"^(?:a |an |single )?{NUMBER} ?{UNIT}(?: (?P<drug>[a-z]+))?"
    r"(?: (?:intramuscular|subcutaneous|intravenous) (?:injection|infusion))?$"
)
LIMIT = r"^(?:new )?dose does not exceed (?P<rest>.+)$"
SCHEDULE = re.compile(
    r"^(?:(?:monthly|every \d+-month) schedule: )?(?P<first>.+?),? (?:\* )?followed by (?P<then>.+?) thereafter$"
)
INITIATION = re.compile(
    r"^(?P<amount>.+?) (?:initiation dose|(?:given )?(?P<n>\d+) months? apart for \d+ consecutive months \(initial dose\))$"
)
INTERVAL = re.compile(r"^(?P<amount>.+?) (?:given )?(?P<per>every (?:\d+ )?(?:days?|weeks?|months?)|per \w+)$")


def amounts(text: str, per: str, phase: str | None = None) -> list[Predicate] | None:
    """ "600 mg" or "600 mg cabotegravir and 900 mg rilpivirine (1 kit of 2 vials)" per ``per``: one limit per component."""
    parts = KIT.sub("", text).split(" and ")
    found: list[Predicate] = []
    for part in parts:
        match = AMOUNT.match(part)
        if not match or bool(match["drug"]) != (len(parts) > 1):
            return None
        try:
            limit = {"fact": "dose", "op": "<=", "value": number(match["v"]), "unit": unit_of(match["u"])[2]}
            limit["per"] = period_of(per)
        except QuantityError:
            return None
        if match["drug"]:
            component = concept("drug", match["drug"])
            if component is None:
                return None
            limit["of"] = component
        found.append(limit | ({"phase": phase} if phase else {}))
    return found


def _interval(text: str, phase: str | None = None) -> list[Predicate] | None:
    match = INTERVAL.match(text)
    return amounts(match["amount"], match["per"], phase) if match else None


def _all(parts: list[Predicate] | None) -> Predicate | None:
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"op": "all", "args": parts}


def schedule(t: str, frame: str | None) -> Predicate | None:
    """An initiation dose followed by a maintenance dose, or a kit's components per interval."""
    limit = re.match(LIMIT, t)
    text = limit["rest"] if limit else t
    if match := SCHEDULE.match(text):
        first = INITIATION.match(match["first"])
        if not first:
            return None
        per = f"{first['n']} months" if first["n"] else "dose"
        initiation = amounts(first["amount"], per, "initiation")
        maintenance = _interval(match["then"], "maintenance")
        return _all([*initiation, *maintenance]) if initiation and maintenance else None
    interval = INTERVAL.match(text) if limit or frame == "dose" else None
    if interval and KIT.search(interval["amount"]):
        return _all(amounts(interval["amount"], interval["per"]))
    return None


def per_eye(t: str, frame: str | None) -> Predicate | None:
    """ "Dose does not exceed 15 mg (...) in each affected eye every 25 days": a limit on each eye's dose."""
    limit = re.match(LIMIT, t)
    text = limit["rest"] if limit else (t if frame == "dose" else None)
    if text is None or not re.search(r" in each (?:affected )?eye\b", text):
        return None
    found = dose(re.sub(r" in each (?:affected )?eye\b", "", text))
    return found | {"fact": "dose_per_eye"} if found else None

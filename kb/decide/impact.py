"""The impact of a revision on requests: those two versions decide differently, and the criteria
whose results differ (``kb impact``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kb.concepts.facts import Request
from kb.decide.evaluate import evaluate
from kb.decide.ruleset import Decision, RuleSet


def decided_differently(
    old_rules: RuleSet, new_rules: RuleSet, requests: Iterable[Request], known_at: str
) -> list[dict[str, Any]]:
    """Each request the two rule sets decide differently, with both decisions and the criteria
    whose results differ ("absent" where a version has no such criterion)."""
    changed = []
    for request in requests:
        old, new = evaluate(old_rules, request, known_at), evaluate(new_rules, request, known_at)
        if old.decision != new.decision:
            changed.append(
                {
                    "request_id": request.request_id,
                    "before": old.decision,
                    "after": new.decision,
                    "versions": [old_rules.label, new_rules.label],
                    "criteria": differing_criteria(old, new),
                }
            )
    return changed


def differing_criteria(old: Decision, new: Decision) -> list[dict[str, Any]]:
    """The criteria whose results differ between two decisions on one request."""
    before = {entry["item"]: entry for entry in old.criteria}
    after = {entry["item"]: entry for entry in new.criteria}

    def row(entry: dict[str, Any], was: str, now: str) -> dict[str, Any]:
        return {"item": entry["item"], "where": entry["where"], "text": entry["text"], "before": was, "after": now}

    found = [
        row(entry, before[item]["result"] if item in before else "absent", entry["result"])
        for item, entry in after.items()
        if item not in before or before[item]["result"] != entry["result"]
    ]
    return found + [row(entry, entry["result"], "absent") for item, entry in before.items() if item not in after]

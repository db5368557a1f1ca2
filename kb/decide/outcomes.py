"""What a decision says: approve (with the duration for the member's line of business and,
under a cycle cap or a course total, the cycles or days that remain), deny (naming only the criteria that decided it,
a failed footnote included), refer (another diagnosis: the policy for the member's line of
business), or pend (naming the facts, or the clinical review, that would settle it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from kb.concepts.facts import Request
from kb.concepts.match import match
from kb.decide.calendar import add_months
from kb.decide.courses import course_of
from kb.decide.ruleset import Decision, Node, RuleSet, Truth
from kb.predicates.phrases import concepts
from kb.store.asof import Answer
from kb.store.sources import provenance_text

INJECTIONS = re.compile(r"\((?P<count>\d+) injections?\)")


def decide(
    decision: Decision, rules: RuleSet, results: list[tuple[Node, Truth]], on_diagnosis: Callable[[Node], Truth]
) -> None:
    """Fill in the decision from the results of the deciding criteria sets; ``on_diagnosis``
    evaluates a set with nothing but the diagnosis known (False: another diagnosis: refer)."""
    trace = decision.criteria
    met = [node for node, result in results if result is True]
    unknown = [node for node, result in results if result is None]
    if met:
        approve(decision, rules.answer, met[0])
        return
    if unknown:
        decision.decision = "pend"
        decision.reasons += [f"{node.where} {node.row['text']} unknown" for node in unknown]
        decision.needed = needed(trace)
        return
    if not results:
        decision.reasons.append(f"the policy has no criteria for a {decision.request.request_type} request")
        return
    own = [node for node, _ in results if on_diagnosis(node) is not False]
    if not own:
        refer(decision, rules, results[0][0].row["section"])
        return
    decision.decision = "deny"
    entries = {entry["item"]: entry for entry in trace}
    for node in own:
        decision.reasons += failing(node, entries)


def failing(node: Node, entries: dict[str, dict[str, Any]]) -> list[str]:
    """The criteria that decided a not-met node: its own failed footnote, the failed items of a
    must-meet-all list (recursively), or the node itself (a one-of list whose options all failed,
    or a leaf)."""
    entry = entries.get(node.row["item_id"])
    if entry is None or entry["result"] != "not met":
        return []
    reasons = []
    footnote = entry.get("footnote")
    if footnote and footnote["result"] == "not met":
        reasons.append(
            f"{node.where} footnote {node.row['footnote_marker'] or ''} {footnote['text']} not met".replace("  ", " ")
        )
        if entry.get("body") != "not met":
            return reasons
    body = node.predicate["then"] if node.predicate["op"] == "if" else node.predicate
    lists_children = body["op"] == "children" or (body["op"] in ("all", "any") and {"op": "children"} in body["args"])
    if lists_children and node.logic == "all":
        below = [reason for child in node.children for reason in failing(child, entries)]
        if below:
            return reasons + below
    if lists_children and node.children:
        options = "; ".join(f"{child.where} {child.row['text'].rstrip(';')}" for child in node.children)
        return reasons + [f"{node.where} {node.row['text']} not met (none of: {options})"]
    return reasons + [f"{node.where} {node.row['text']} not met"]


def needed(trace: list[dict[str, Any]]) -> list[str]:
    """The facts (or reviews) that would settle an unknown outcome: those of unknown criteria
    whose every enclosing criterion is unknown too (an unknown option of a met list settles nothing)."""
    found: list[str] = []
    path: list[str] = []
    for entry in trace:
        del path[entry["depth"] :]
        path.append(entry["result"])
        if all(result == "unknown" for result in path):
            found += entry["needs"]
    return list(dict.fromkeys(found))


def approve(decision: Decision, answer: Answer, criteria_set: Node) -> None:
    """Approve with the duration; under a cycle cap, only the cycles that remain."""
    decision.decision = "approve"
    decision.reasons.append(f"{criteria_set.where} {criteria_set.row['text']} met")
    duration = approval_duration(answer, criteria_set.row, decision.request)
    decision.duration = duration
    course_days(decision, duration)
    cap = duration.get("cycle_cap")
    if not cap or decision.decision != "approve":
        return
    received = decision.request.fact("cycles_received")
    if received is None:
        decision.decision = "pend"
        decision.needed = ["cycles_received"]
        decision.reasons.append(f"the approval is capped at {cap} cycles in all: cycles_received is needed")
        return
    remaining = cap - received
    if remaining <= 0:
        decision.decision = "deny"
        decision.reasons.append(f"the approval is capped at {cap} cycles in all and {received} were received")
        return
    requested = decision.request.fact("cycles_requested")
    duration["cycles_remaining"] = remaining
    duration["cycles_approved"] = min(requested, remaining) if requested else remaining
    if requested and requested > remaining:
        decision.reasons.append(
            f"{requested} cycles requested; {remaining} remain under the cap of {cap}: {remaining} approved"
        )


def course_days(decision: Decision, duration: dict[str, Any]) -> None:
    """Count the course's days against its total and the request's length; approve what remains (a
    count of injections the approval covers, "12 months (7 injections)", is carried on the duration)."""
    if injections := INJECTIONS.search(duration.get("text") or ""):
        duration["injections_approved"] = int(injections["count"])
    course = course_of(duration.get("text"))
    if course is None:
        return
    values = decision.request.values
    if missing := course.needs(values):
        decision.decision, decision.needed = "pend", missing
        decision.reasons.append(f"the course is capped at {course.days} days in all: {', '.join(missing)} needed")
        return
    received, approved = values["days_on_therapy"], course.approved(values)
    if approved <= 0:
        decision.decision = "deny"
        decision.reasons.append(f"the course is capped at {course.days} days in all and {received} were received")
        return
    end = decision.request.date_of_service + timedelta(days=approved)
    duration.update(days_remaining=course.days - received, days_approved=approved, end_date=end.isoformat())
    asked = f" ({values['course_days_requested']} requested)" if course.of_request else ""
    decision.reasons.append(f"{received} of {course.days} days received; {approved} approved{asked}")


def approval_duration(answer: Answer, criteria_set: dict[str, Any], request: Request) -> dict[str, Any]:
    """The approval duration for the member's line of business, and its end date."""
    line = request.fact("line_of_business")
    rows = [
        r
        for r in answer.records.get("duration", [])
        if (r["section"], r["indication"]) == (criteria_set["section"], criteria_set["indication"])
    ]
    row = _for_condition([r for r in rows if r["line_of_business"] == line], request)
    if row is None:
        known = ", ".join(f"{r['line_of_business']}: {r['text']}" for r in rows)
        return {
            "line_of_business": line,
            "text": None,
            "end_date": None,
            "note": f"line_of_business needed for the duration ({known})",
        }
    result = {
        "line_of_business": line,
        "text": row["text"],
        "source": provenance_text(row, answer.documents),
        "start_date": request.date_of_service.isoformat(),
        "cycle_cap": row["cycle_cap"],
        "end_date": None,
        "note": None,
    }
    end, note = _end(row, request.date_of_service)
    if end is None:
        result["note"] = note
        return result
    if row["rule"] and "renewal" in row["rule"]:
        renewal: date | None = request.fact("renewal_date")
        if renewal is None:
            note = "; ".join(
                filter(
                    None,
                    [
                        note,
                        f"at least {end.isoformat()}; later if the member's renewal date is later (renewal_date needed)",
                    ],
                )
            )
        else:
            end = max(end, renewal)
    result.update(end_date=end.isoformat(), note=note)
    return result


def _for_condition(rows: list[dict[str, Any]], request: Request) -> dict[str, Any] | None:
    """The duration row for the member's condition where lengths differ by condition
    ("Hepatitis C-associated thrombocytopenia – 6 months, All other indications – 12 months")."""
    if len(rows) <= 1:
        return rows[0] if rows else None
    diagnosis = request.fact("diagnosis")
    other = None
    for row in rows:
        condition = (row.get("condition") or "").casefold()
        if condition.startswith("all other") or not condition:
            other = row
            continue
        named = concepts("diagnosis", condition)
        if named and diagnosis is not None and match(diagnosis, tuple(named))[0] is True:
            return row
    return other


def _end(row: dict[str, Any], start: date) -> tuple[date | None, str | None]:
    try:
        if row["months"]:
            return add_months(start, row["months"])
        if row["weeks"]:
            return start + timedelta(weeks=row["weeks"]), None
        if row.get("days"):
            return start + timedelta(days=row["days"]), None
    except OverflowError:
        return None, f"the end date would fall after {date.max.isoformat()}, the calendar's last day"
    return None, "the duration is unknown in this version" if row["text"] is None else "no length in the text"


def refer(decision: Decision, rules: RuleSet, section: str) -> None:
    """Another diagnosis: refer to the policy for the member's line of business."""
    decision.decision = "refer"
    decision.reasons.append("the diagnosis is not one this policy's criteria cover")
    decision.referral = referral(rules, section, decision.request)
    if decision.request.fact("line_of_business") is None:
        decision.reasons.append("line_of_business is needed to name one policy")
    if len({ref["role"] for ref in decision.referral}) > 1:
        decision.reasons.append("which referral applies depends on recent_label_change and on_formulary")


def referral(rules: RuleSet, section: str, request: Request) -> list[dict[str, Any]]:
    """The policy to refer to for the member's line of business, from the "Other diagnoses" set."""
    referral_sets = [node for node in rules.sets.get(section, []) if node.is_referral()]
    if not referral_sets:
        return []
    prefix = referral_sets[0].row["item_id"] + "."
    label_change, formulary = request.fact("recent_label_change"), request.fact("on_formulary")
    if label_change is False:
        roles = {"off-label use"}
    elif label_change is True and formulary is not None:
        roles = {"no coverage criteria" if formulary else "non-formulary"}
    else:
        roles = {"off-label use", "no coverage criteria", "non-formulary"}
    line = request.fact("line_of_business")
    return [
        {
            "item": row["item_id"],
            "role": row["role"],
            "line_of_business": row["line_of_business"],
            "policy": row["policy_ref"],
            "source": provenance_text(row, rules.answer.documents),
        }
        for row in rules.answer.records.get("cross_reference", [])
        if row["item_id"].startswith(prefix)
        and row["role"] in roles
        and (line is None or row["line_of_business"] == line)
    ]

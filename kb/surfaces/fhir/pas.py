"""Da Vinci PAS: a prior-authorization request Bundle answered with a PAS response Bundle.

Each Claim item is read into a request (``kb.surfaces.fhir.facts``), decided by the knowledge base, and
answered in the ClaimResponse with an ``extension-reviewAction`` carrying the X12 306 review
action and the authorization number:

| decision | review action | meaning |
|---|---|---|
| approve | A1 certified in total | ``itemPreAuthPeriod`` = the approval duration from the date of service |
| deny | A3 not certified | the criteria not met are named |
| pend | A4 pended | each unknown fact named with the documentation that would settle it |
| refer | A4 pended | the policy does not decide this use: the policies it refers to are named |
| no policy | A4 pended | no drug policy of the knowledge base covers the item: for the plan's own review |

A refer is pended, not denied: the request is decided under another policy (off-label use,
no coverage criteria, non-formulary), which this knowledge base does not hold; a payer's
reviewer takes it from there. An item no policy covers (a referral, home oxygen) is pended for
the same reason: this service decides drug policies only and never denies what it cannot read.

``ClaimResponse.outcome`` is ``complete``: the request was processed, a pended item included
(PAS 2.2.1 binds the outcome to complete | error | partial; its own pended example answers
``complete`` with A4). The response Bundle carries the request Bundle's ``identifier`` and each
entry's ``fullUrl`` (both 1..1 in PAS); a request without them is answered with an identifier and
``urn:uuid`` full URLs of the response's own, derived from the Claim, and a note saying so. Notes (``processNote``, linked from each item's
``noteNumber``) name the policy, its version label, the knowledge time, the criteria (printed
label and text) and the source each rests on.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.claimresponse import ClaimResponse

from kb.concepts.facts import Request, RequestError
from kb.decide.ruleset import Decision
from kb.errors import KBError
from kb.surfaces.api import KnowledgeBase
from kb.surfaces.fhir.facts import PAS, ItemFacts, PasRequest, documentation, item_facts, need_fact, read_pas, settles
from kb.surfaces.fhir.resources import FhirError, Issue

X12_306 = "https://codesystem.x12.org/005010/306"
REVIEW = {
    "approve": ("A1", "Certified in total"),
    "deny": ("A3", "Not Certified"),
    "pend": ("A4", "Pended"),
    "refer": ("A4", "Pended"),
}


@dataclass
class ItemAnswer:
    """The answer to one Claim item: review action, authorization number, period and notes."""

    sequence: int
    decision: str
    number: str
    summary: str
    notes: list[str] = field(default_factory=list)
    period: tuple[str, str] | None = None
    service_date: str | None = None
    """The date of service read from the item (None when no policy read it)."""


def _number(*parts: object) -> str:
    """A deterministic authorization number: the same request under the same rules, the same number."""
    return "PA-" + hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:12].upper()


def _header(decision: Decision) -> str:
    version = decision.version or {}
    window = f"{version.get('valid_from')}..{version.get('valid_to') or ''}"
    return (
        f"Decided under policy {decision.policy} version {version.get('label')} (in force {window}, "
        f"{version.get('basis')}; effective-date rule {decision.effective_date_rule}), knowledge as of "
        f"{decision.known_at}, rules {str(decision.rules_hash)[:16]}."
    )


def _criteria(decision: Decision) -> list[str]:
    """The criteria that carry the decision: met (approve), not met (deny), unknown (pend)."""
    wanted = {"approve": "met", "deny": "not met", "pend": "unknown"}.get(decision.decision)
    needed = {need_fact(need) for need in decision.needed}
    lines = []
    for entry in decision.criteria:
        if entry["result"] != wanted or entry["depth"] == 0:
            continue
        if decision.decision == "pend" and not needed & {need_fact(need) for need in entry["needs"]}:
            continue
        if decision.decision == "approve" and entry["depth"] > 1:
            continue
        lines.append(f"Criterion {entry['where']} {entry['text']} - {entry['result']} (source: {entry['source']})")
    return lines


def _needs(decision: Decision) -> list[str]:
    return [f"Needed: {need} - documentation: {settles(need)}" for need in decision.needed]


def _other_rules(decision: Decision) -> list[str]:
    return [
        f"Under the {other['rule']} effective-date rule, version {other['version']} applies and decides "
        f"{other['decision']}{' (differs)' if other['differs'] else ''}."
        for other in decision.other_rule
    ]


def _undecided(item: ItemFacts, claim_id: str | None, why: str) -> ItemAnswer:
    """Pended: the policy cannot decide the item (no version in force on its date)."""
    assert item.request is not None
    summary = f"Pended: {item.policy} cannot decide {item.product} on {item.request['date_of_service']}: {why}"
    return ItemAnswer(item.sequence, "pend", _number(claim_id, item.sequence, item.policy), summary, [summary])


def answer_item(kb: KnowledgeBase, item: ItemFacts, claim_id: str | None, source: str, path: str) -> ItemAnswer:
    """Decide one item under its policy (a request the vocabulary refuses is a ``FhirError``)."""
    if item.request is None or item.policy is None:
        summary = f"Pended: no drug policy in this knowledge base covers {item.product}; for the plan's review."
        return ItemAnswer(item.sequence, "pend", _number(claim_id, item.sequence, item.product), summary, [summary])
    try:
        decision = kb.evaluate(Request.from_json(item.request, path))
    except RequestError as error:
        raise FhirError(source, [Issue(path, str(error), "value")]) from None
    except KBError as error:
        return _undecided(item, claim_id, str(error))
    if decision.version is None:  # no version in force on the date of service
        return _undecided(item, claim_id, "; ".join(decision.reasons))
    label = decision.version["label"]
    number = _number(claim_id, item.sequence, decision.policy, label, decision.rules_hash, json.dumps(item.request))
    notes = [_header(decision), *(f"Reason: {reason}" for reason in decision.reasons)]
    notes += _criteria(decision) + _needs(decision) + _other_rules(decision)
    period = None
    duration = decision.duration or {}
    outcome = decision.decision
    if outcome == "approve" and duration.get("end_date"):
        period = (duration["start_date"], duration["end_date"])
        notes.append(
            f"Approval duration ({duration['line_of_business']}): {duration['text']} (source: {duration['source']})"
        )
        if duration.get("note"):
            notes.append(f"Approval duration: {duration['note']}")
    elif outcome == "approve":
        # criteria met, but no authorization period can be issued without its duration
        outcome = "pend"
        why = duration.get("note") or "the policy gives no approval duration for this request; for the plan's review"
        notes.append(f"Criteria met; {why}")
        if "line_of_business" in why:
            notes.append(f"Needed: line_of_business - documentation: {documentation('line_of_business')}")
    if decision.decision == "refer":
        notes += [
            f"Refer to {r['policy']} ({r['role']}, {r['line_of_business']}; criterion {r['item']}, source: {r['source']})"
            for r in decision.referral
        ]
    word = {"approve": "Certified", "deny": "Not certified", "pend": "Pended", "refer": "Pended (referral)"}
    summary = f"{word[outcome]}: {item.product} under {decision.policy} {label}"
    if period:
        summary += f", {period[0]} to {period[1]}"
    if outcome == "pend":
        summary += "; needed: " + ", ".join(decision.needed or ["the approval duration (see the notes)"])
    if outcome == "refer":
        summary += "; refer to " + ", ".join(dict.fromkeys(r["policy"] for r in decision.referral))
    return ItemAnswer(item.sequence, outcome, number, summary, notes, period, item.request["date_of_service"])


def _item(answer: ItemAnswer, notes: list[int], issued: str) -> dict[str, Any]:
    """An item of the ClaimResponse: its review action, and its dates (service, issue, period) where known."""
    code, display = REVIEW[answer.decision]
    extension: list[dict[str, Any]] = []
    if answer.service_date:
        extension.append({"url": PAS + "extension-itemRequestedServiceDate", "valueDateTime": answer.service_date})
    if answer.period:
        extension.append({"url": PAS + "extension-itemPreAuthIssueDate", "valueDate": issued})
        extension.append(
            {
                "url": PAS + "extension-itemPreAuthPeriod",
                "valuePeriod": {"start": answer.period[0], "end": answer.period[1]},
            }
        )
    review = {
        "url": PAS + "extension-reviewAction",
        "extension": [
            {"url": "number", "valueString": answer.number},
            {
                "url": PAS + "extension-reviewActionCode",
                "valueCodeableConcept": {"coding": [{"system": X12_306, "code": code, "display": display}]},
            },
        ],
    }
    return {
        "extension": extension or None,
        "itemSequence": answer.sequence,
        "noteNumber": notes,
        "adjudication": [
            {
                "extension": [review],
                "category": {
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/adjudication", "code": "submitted"}]
                },
            }
        ],
    }


RESPONSE_IDENTIFIER = "urn:policy-as-data:pas-response"
"""The system of the identifier a response gets when its request Bundle has none."""


def _urn(key: str) -> str:
    """A stable ``urn:uuid`` full URL for an entry that has none."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, key)}"


def _missing_tracking(bundle: Bundle) -> str | None:
    """The note for a request Bundle without its identifier or entry full URLs (1..1 in PAS), or None."""
    missing = ["Bundle.identifier"] if bundle.identifier is None else []
    missing += [f"Bundle.entry[{i}].fullUrl" for i, entry in enumerate(bundle.entry or []) if not entry.fullUrl]
    if not missing:
        return None
    return (
        f"The request lacks {', '.join(missing)} (required by PAS): this response gives its own identifier"
        " and full URLs; the request's own are needed to match it to this response."
    )


def _reference(pas: PasRequest) -> str:
    return f"Claim/{pas.claim.id}" if pas.claim.id else "Claim"


def response(pas: PasRequest, answers: list[ItemAnswer], now: datetime) -> Bundle:
    """The PAS response Bundle: a ClaimResponse answering every item, and the resources it names."""
    claim = pas.claim
    notes: list[dict[str, Any]] = []
    items = []
    for answer in answers:
        first = len(notes) + 1
        notes += [{"number": first + i, "type": "display", "text": text} for i, text in enumerate(answer.notes)]
        items.append(_item(answer, list(range(first, len(notes) + 1)), now.date().isoformat()))
    missing = _missing_tracking(pas.bundle)
    if missing:
        notes.append({"number": len(notes) + 1, "type": "display", "text": missing})
    approved = [a.period for a in answers if a.period]
    stamp = now.isoformat(timespec="seconds")
    claim_response = ClaimResponse.model_validate(
        {
            "resourceType": "ClaimResponse",
            "id": f"{claim.id or 'claim'}-response",
            "meta": {"profile": [PAS + "profile-claimresponse"]},
            "identifier": [i.model_dump(mode="json", exclude_none=True) for i in claim.identifier or []] or None,
            "status": "active",
            "type": claim.type.model_dump(mode="json", exclude_none=True),
            "use": "preauthorization",
            "patient": claim.patient.model_dump(mode="json", exclude_none=True),
            "created": stamp,
            "insurer": claim.insurer.model_dump(mode="json", exclude_none=True),
            "requestor": claim.provider.model_dump(mode="json", exclude_none=True) if claim.provider else None,
            "request": {"reference": _reference(pas)},
            "outcome": "complete",
            "disposition": " ".join(a.summary for a in answers),
            "preAuthRef": _number(*(a.number for a in answers)) if len(answers) > 1 else answers[0].number,
            "preAuthPeriod": (
                {"start": min(p[0] for p in approved), "end": max(p[1] for p in approved)}
                if approved and len(approved) == len(answers)
                else None
            ),
            "item": items,
            "processNote": notes or None,
        }
    )
    named = [pas.resolve(reference) for reference in (claim.patient, claim.insurer, claim.provider)]
    entries = [{"fullUrl": _urn(claim_response.id), "resource": claim_response}]
    entries += [
        {"fullUrl": entry.fullUrl or _urn(f"{claim_response.id}|{index}"), "resource": entry.resource}
        for index, entry in enumerate(pas.bundle.entry or [])
        if any(entry.resource is resource for resource in named if resource is not None)
    ]
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "id": f"{claim.id or 'claim'}-pas-response",
            "meta": {"profile": [PAS + "profile-pas-response-bundle"]},
            "identifier": pas.bundle.identifier.model_dump(mode="json", exclude_none=True)
            if pas.bundle.identifier
            else {"system": RESPONSE_IDENTIFIER, "value": str(uuid.uuid5(uuid.NAMESPACE_URL, claim_response.id))},
            "type": "collection",
            "timestamp": stamp,
            "entry": entries,
        }
    )


def answer(kb: KnowledgeBase, data: Any, source: str, now: datetime | None = None) -> Bundle:
    """The PAS response Bundle to a PAS request Bundle given as JSON data (``FhirError`` if defective)."""
    pas = read_pas(data, source)
    answers = [
        answer_item(kb, item, pas.claim.id, source, f"{pas.claim_path}.item[{index}]")
        for index, item in enumerate(item_facts(pas, kb.connection))
    ]
    return response(pas, answers, now or datetime.now(UTC))


def answer_json(kb: KnowledgeBase, data: Any, source: str) -> str:
    """The PAS round trip: request JSON data in, response Bundle JSON text out."""
    return answer(kb, data, source).model_dump_json(indent=2, exclude_none=True)

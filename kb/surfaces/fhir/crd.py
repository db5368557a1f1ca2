"""Da Vinci CRD: a CDS Hooks service that tells an EHR, when a drug is ordered, whether prior
authorization is needed and what documentation the policy asks for.

The hook request is read leniently, resource by resource (``kb.surfaces.fhir.hooks``): what the
service does not evaluate is ignored with a note, and only a request unusable as a whole gets
HTTP 400. For each MedicationRequest ordered (for ``order-select``, each one selected) the
service finds the policy for the drug (``kb.surfaces.fhir.drugs``: HCPCS, RxNorm or NDC through
the payer's crosswalk, a contained Medication, or the drug's name in the text, said on the card),
decides the order as a request dated on the order's ``authoredOn`` (else today, said in the card)
with what the hook carries (the patient's age, the order's ICD-10-CM ``reasonCode``, the
requester's NUCC taxonomy, the Coverage's line of business); a value it cannot read is left
unknown with a note. It answers with a ``systemActions`` update of the MedicationRequest carrying
``ext-coverage-information`` (CRD 2.0.1 profile, CRD 2.2.1 invariants) and a ``guideline`` card
with the criteria:

| decision | covered | pa-needed | doc-needed | doc-purpose | info-needed | questionnaire |
|---|---|---|---|---|---|---|
| approve | covered | auth-needed | - | - | - | - |
| pend | conditional | auth-needed | clinical | withpa | OTH (the reasons name it) | the version's DTR Questionnaire |
| refer | conditional | auth-needed | clinical | withpa | OTH (another policy decides) | - |
| deny | not-covered | - | - | - | - | - |

Deny needs a criterion the order's own facts fail (an infant for an adult-only drug): what the
hook does not carry stays unknown and makes the answer conditional. The coverage-information
extension needs the member's Coverage (1..1): the one the order's ``insurance`` names (resolved
or not) or the active prefetched one. Without a Coverage, for an order that is not a draft, for an
order whose reading dropped an element (an update would drop it in the EHR), or when the request's
``davinci-crd.configuration`` turns ``coverage-info`` off, the same assertion goes on a
``coverage-info`` card instead. Cards name the payer (the Coverage's payor, else the publisher of
the policies). The coverage-assertion-id is derived from the policy, version and knowledge time
(the latest load), so the same knowledge gives the same assertion. Nothing is written.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import date
from typing import Any

from fhir.resources.R4B.coverage import Coverage
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.resource import Resource

from kb.concepts.facts import Request, RequestError
from kb.concepts.match import Value, kind_of
from kb.decide.ruleset import Decision
from kb.errors import KBError
from kb.surfaces.api import KnowledgeBase
from kb.surfaces.fhir.drugs import crosswalked, policy_by_name, policy_for_drug
from kb.surfaces.fhir.facts import (
    Resources,
    age_at,
    diagnosis_of,
    drug_of,
    full_date,
    line_of_business,
    settles,
    specialty_of,
    value_json,
)
from kb.surfaces.fhir.hooks import HookError, HookRequest, Order, read_hook
from kb.surfaces.fhir.questionnaire import canonical_reference
from kb.surfaces.fhir.resources import FhirError, Issue

__all__ = ["HookError", "answer", "discovery"]

CRD = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/"
COVERAGE_INFORMATION = CRD + "ext-coverage-information"
CARD_TYPE = "http://terminology.hl7.org/CodeSystem/cdshooks-card-type"
TOPICS = {"coverage-info": "Coverage Information", "guideline": "Guideline"}
PUBLISHER = "Centene Corporation"
"""The publisher of every policy loaded (the loaders read Centene's clinical-policy template only:
``kb.errors.NotCenteneTemplate``); a card names it when the Coverage names no payer."""
CRD_VERSIONS = ["2.0", "2.2"]
SERVICES = {
    "policy-as-data-order-sign": "order-sign",
    "policy-as-data-order-select": "order-select",
}
OBSOLETE = {"medication-prescribe": "CDS Hooks 1.0 replaced it with order-select and order-sign"}
PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "coverage": "Coverage?patient={{context.patientId}}&status=active",
}
OPTIONS = [
    {
        "code": "coverage-info",
        "type": "boolean",
        "name": "Coverage Information",
        "description": "Return coverage information as systemActions updating the orders (else on cards).",
        "default": True,
    },
    {
        "code": "max-cards",
        "type": "integer",
        "name": "Maximum cards",
        "description": "Return at most this many cards (one per medication order, in their order).",
        "default": 10,
    },
]
COVERAGE = {
    "approve": {"covered": "covered", "pa-needed": "auth-needed"},
    "pend": {"covered": "conditional", "pa-needed": "auth-needed", "doc-needed": "clinical", "doc-purpose": "withpa"},
    "refer": {"covered": "conditional", "pa-needed": "auth-needed", "doc-needed": "clinical", "doc-purpose": "withpa"},
    "deny": {"covered": "not-covered"},
}
INFO_NEEDED = "OTH"
"""info-needed for a conditional answer: v3-NullFlavor OTH, other information (the reasons name it)."""


def discovery(authentication: str) -> dict[str, Any]:
    """The CDS Hooks discovery document: one service per hook, for MedicationRequest orders;
    ``authentication`` says in a sentence how callers are checked."""
    return {
        "services": [
            {
                "hook": hook,
                "id": service,
                "title": f"Drug prior-authorization requirements ({hook})",
                "description": (
                    "Da Vinci CRD for MedicationRequest: the drug's policy and version in force on the order's "
                    "date, whether prior authorization is needed and what documentation its criteria ask for. "
                    + authentication
                ),
                "prefetch": PREFETCH,
                "extension": {"davinci-crd.version": CRD_VERSIONS, "davinci-crd.configuration-options": OPTIONS},
            }
            for service, hook in SERVICES.items()
        ]
    }


def as_json(model: Resource) -> dict[str, Any]:
    return json.loads(model.model_dump_json(exclude_none=True))


def _hook_of(service: str, body: Any) -> str:
    """The hook a service answers; an unknown service (404) or an obsolete hook (400) is a ``HookError``."""
    if service not in SERVICES:
        raise HookError(f"no CDS service {service!r}; see /cds-services", status=404)
    hook = body.get("hook") if isinstance(body, dict) else None
    if hook in OBSOLETE:
        raise HookError(f"hook {hook!r} is obsolete: {OBSOLETE[hook]}", [Issue("hook", SERVICES[service])])
    return SERVICES[service]


def _selected(read: HookRequest) -> list[Order]:
    selections = read.context.get("selections") if read.hook == "order-select" else None
    if not isinstance(selections, list) or not selections:
        return read.orders
    chosen = {choice for choice in selections if isinstance(choice, str)}
    return [o for o in read.orders if f"MedicationRequest/{o.resource.id}" in chosen]


def answer(kb: KnowledgeBase, service: str, body: Any, today: date) -> dict[str, Any]:
    """The CDS Hooks response (cards and systemActions) to a hook request, or a ``HookError``."""
    read = read_hook(_hook_of(service, body), body)
    orders = _selected(read)
    actions_wanted = read.configuration.get("coverage-info", True) is not False
    limit = read.configuration.get("max-cards")
    if not orders:
        summary = "No medication order to check: this service answers for MedicationRequest orders"
        detail = "\n".join([f"Draft orders found: {', '.join(read.kinds)}.", *_notes(read.notes)])
        return {"cards": [_card(summary, detail, PUBLISHER, read.instance, "coverage-info")], "systemActions": []}
    cards, actions = [], []
    for index, order in enumerate(orders):
        own = [n for n in read.notes if n.startswith(order.path)]
        others = [n for n in read.notes if not any(n.startswith(o.path) for o in orders)] if index == 0 else []
        card, action = _order(kb, order, read.resources, today, own + others)
        if action and actions_wanted:
            actions.append(action)
            card["source"]["topic"] = _topic("guideline")
        elif action:
            card["detail"] += (
                "\n\nCoverage information (coverage-info is off for this request): " + action["description"]
            )
        cards.append(card)
    if isinstance(limit, int) and not isinstance(limit, bool) and limit >= 0:
        cards = cards[:limit]
    return {"cards": cards, "systemActions": actions}


def _notes(notes: list[str]) -> list[str]:
    return ["", "Read from the request:", *(f"- {note}" for note in notes)] if notes else []


def _topic(code: str) -> dict[str, str]:
    return {"system": CARD_TYPE, "code": code, "display": TOPICS[code]}


def _card(summary: str, detail: str, label: str, key: str, topic: str, indicator: str = "info") -> dict[str, Any]:
    return {
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:policy-as-data:card:{key}")),
        "summary": summary if len(summary) < 140 else summary[:138] + "…",
        "indicator": indicator,
        "detail": detail,
        "source": {"label": label, "topic": _topic(topic)},
    }


def _coverage(order: MedicationRequest, resources: Resources) -> tuple[Coverage | None, Reference | None]:
    """The member's Coverage (resolved, or None) and the reference to it (None: no Coverage known)."""
    for reference in order.insurance or []:
        found = resources.resolve(reference)
        if isinstance(found, Coverage) or (found is None and reference.reference):
            return (found if isinstance(found, Coverage) else None), reference
    active = [c for c in resources.of_type("Coverage") if isinstance(c, Coverage) and c.status == "active"]
    if active and active[0].id:
        return active[0], Reference(reference=f"Coverage/{active[0].id}")
    return None, None


def _payer(coverage: Coverage | None, resources: Resources) -> str:
    """The payer a card names: the Coverage's payor (its name or display), else the policies' publisher."""
    for reference in (coverage.payor or []) if coverage else []:
        name = getattr(resources.resolve(reference), "name", None) or reference.display
        if isinstance(name, str) and name.strip():
            return name.strip()
    return PUBLISHER


def _lenient(read: Any, notes: list[str]) -> Any:
    """``read()``, or None with a note when the value cannot be read (the fact stays unknown)."""
    try:
        return read()
    except FhirError as error:
        notes.append(f"{error}: left unknown")
        return None


def _request(order: Order, resources: Resources, drug: Value, policy: str, day: date, notes: list[str]) -> Request:
    """The order as a request: the facts a hook carries; the rest stay unknown."""
    mr, path = order.resource, order.path
    patient = resources.resolve(mr.subject) or next(iter(resources.of_type("Patient")), None)
    coverage, _ = _coverage(mr, resources)
    reasons = [
        _lenient(lambda c=c, i=i: diagnosis_of(c, f"{path}.reasonCode[{i}]", "context.draftOrders"), notes)
        for i, c in enumerate(mr.reasonCode or [])
    ]
    payors = [p for p in map(resources.resolve, coverage.payor or []) if p] if coverage else []
    facts = {
        "age_years": age_at(getattr(patient, "birthDate", None), day),
        "line_of_business": line_of_business(coverage, payors) if coverage else None,
        "diagnosis": next((r for r in reasons if r is not None), None),
        "prescriber_specialty": _lenient(
            lambda: specialty_of(resources, resources.resolve(mr.requester), "prefetch"), notes
        ),
        "requested_drug": drug,
    }
    given = {name: value_json(value) for name, value in facts.items() if value is not None}
    data = {"request_id": mr.id, "policy": policy, "date_of_service": day.isoformat(), "facts": given}
    try:
        return Request.from_json(data, path)
    except RequestError as error:
        raise HookError(str(error), [Issue(path, str(error), "value")]) from None


def _medication(order: Order, resources: Resources) -> Any:
    """The CodeableConcept of the ordered drug: the order's own, or its (contained) Medication's code."""
    mr = order.resource
    if mr.medicationCodeableConcept is not None or mr.medicationReference is None:
        return mr.medicationCodeableConcept
    named = mr.medicationReference.reference or ""
    contained = [r for r in mr.contained or [] if named.startswith("#") and r.id == named[1:]]
    medication = contained[0] if contained else resources.resolve(mr.medicationReference)
    return getattr(medication, "code", None)


def _drug(
    kb: KnowledgeBase, order: Order, resources: Resources, notes: list[str]
) -> tuple[Value | None, str | None, str]:
    """The drug, its policy and how the drug is named on the card."""
    concept = _medication(order, resources)
    path = f"{order.path}.medication[x]"
    coded = _lenient(lambda: drug_of(concept, path, "context.draftOrders"), notes)
    drug, pairing = crosswalked(coded)
    if pairing is not None:
        notes.append(
            f"{pairing.system} {pairing.code} read as HCPCS {pairing.hcpcs} through the payer's crosswalk ({pairing.source})"
        )
    policy = policy_for_drug(kb.connection, drug)
    texts = [
        t for t in [getattr(concept, "text", None), *(c.display for c in getattr(concept, "coding", None) or [])] if t
    ]
    if policy is None and texts:
        found = policy_by_name(kb.connection, texts)
        if found:
            policy = found[0]
            notes.append(
                f"matched by name: the medication text names {found[1]!r}, a drug of {policy} (no code named it)"
            )
    named = drug.text if drug else (texts[0] if texts else "the ordered medication (no HCPCS, NDC or RxNorm code)")
    return drug, policy, named


def _order(
    kb: KnowledgeBase, order: Order, resources: Resources, today: date, notes: list[str]
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The card and the system action for one MedicationRequest."""
    mr = order.resource
    notes = list(notes)
    drug, policy, named = _drug(kb, order, resources, notes)
    key = f"{mr.id}|{named}"
    payer = _payer(_coverage(mr, resources)[0], resources)
    if policy is None:
        summary = f"No drug policy here covers {named}"
        detail = f"No policy of this knowledge base lists {named}: it states no prior-authorization requirement for it."
        return _card(summary, "\n".join([detail, *_notes(notes)]), payer, key, "coverage-info"), None
    day, dated = today, "today's date (the order has no authoredOn)"
    if mr.authoredOn:
        read = _lenient(lambda: full_date(mr.authoredOn, f"{order.path}.authoredOn", "context.draftOrders"), notes)
        day, dated = (
            (read, "the order's date (authoredOn)")
            if read
            else (today, "today's date (the order's authoredOn is not a full date)")
        )
    try:
        decision = kb.evaluate(_request(order, resources, drug, policy, day, notes))
        rules = kb.rules(policy, day)
    except HookError as error:
        notes.append(error.message)
        return _undecided(named, policy, day, dated, "the order's facts cannot be read", key, payer, notes), None
    except KBError as error:
        notes.append(str(error))
        return _undecided(named, policy, day, dated, "the policy cannot decide this order", key, payer, notes), None
    if decision.version is None:  # no version in force on the order's date
        why = "; ".join(decision.reasons)
        return _undecided(named, policy, day, dated, why, key, payer, notes, versionless=True), None
    label = (decision.version or {}).get("label")
    assertion = hashlib.sha256(f"{policy}|{label}|{rules.answer.loaded_at}".encode()).hexdigest()
    drug_label = kind_of("drug").concepts[drug.concept].label if drug and drug.concept else named
    detail = _detail(decision, dated, rules.answer.loaded_at) + "\n".join(["", *_notes(notes)])
    card = _card(
        _summary(decision, drug_label, label),
        detail,
        payer,
        f"{key}|{assertion}",
        "coverage-info",
        "warning" if decision.decision == "deny" else "info",
    )
    _, coverage = _coverage(mr, resources)
    held = _held_back(order, coverage)
    if held:
        card["detail"] += f"\n\nNo coverage-information update of the order: {held}."
        return card, None
    return card, _action(mr, decision, day, assertion, coverage)


def _held_back(order: Order, coverage: Reference | None) -> str | None:
    """Why the coverage information cannot update the order (it stays on the card), or None."""
    if coverage is None:
        return "the request names no Coverage of the member (CRD: coverage-information needs one)"
    if order.resource.status != "draft":
        return f"the order's status is {order.resource.status!r}, not a draft order"
    if order.altered:
        return "reading the order dropped an element R4 does not have; an update would remove it in the EHR"
    return None


def _undecided(
    named: str,
    policy: str,
    day: date,
    dated: str,
    why: str,
    key: str,
    payer: str,
    notes: list[str],
    versionless: bool = False,
) -> dict[str, Any]:
    """The card for an order its policy does not decide: no version in force, or facts it refuses."""
    detail = "\n".join([f"{policy} cannot be read on {day} ({dated}): {why}", *_notes(notes)])
    summary = f"{named}: {policy} " + (
        f"has no version in force on {day}" if versionless else "cannot decide this order; see the notes"
    )
    return _card(summary, detail, payer, key, "coverage-info")


def _summary(decision: Decision, drug: str, label: str | None) -> str:
    where = f"{decision.policy} {label}"
    return {
        "approve": f"{drug}: prior authorization required; the order meets {where}",
        "pend": f"{drug}: prior authorization required ({where}); documentation needed",
        "refer": f"{drug}: prior authorization under another policy ({where} refers)",
        "deny": f"{drug}: not covered for this order under {where}",
    }[decision.decision]


def _detail(decision: Decision, dated: str, loaded_at: str | None) -> str:
    version = decision.version or {}
    lines = [
        f"Policy **{decision.policy}**, version **{version.get('label')}** (in force {version.get('valid_from')}"
        f"..{version.get('valid_to') or ''}), read on {dated}: {decision.request.date_of_service}. "
        f"Knowledge as of the load of {loaded_at}.",
        "",
        "Criteria (initial authorization), with what this order shows:",
    ]
    lines += [
        f"{'  ' * entry['depth']}- {entry['where']} {entry['text']} ({entry['result']})" for entry in decision.criteria
    ]
    if decision.needed:
        lines += ["", "Documentation needed:"]
        lines += [f"- {need}: {settles(need)}" for need in decision.needed]
    if decision.referral:
        lines += ["", "Refer to:"]
        lines += [f"- {r['policy']} ({r['role']}, {r['line_of_business']})" for r in decision.referral]
    return "\n".join(lines)


def _reasons(decision: Decision, label: str | None) -> list[str]:
    head = f"{decision.policy} {label}: " + "; ".join(decision.reasons)
    return [head, *(f"needed: {need} - {settles(need)}" for need in decision.needed)]


def _action(
    order: MedicationRequest, decision: Decision, day: date, assertion: str, coverage: Reference
) -> dict[str, Any]:
    """The systemActions update: the MedicationRequest with ext-coverage-information."""
    label = (decision.version or {}).get("label")
    parts: list[dict[str, Any]] = [{"url": "coverage", "valueReference": as_json(coverage)}]
    parts += [{"url": name, "valueCode": code} for name, code in COVERAGE[decision.decision].items()]
    if "conditional" in COVERAGE[decision.decision].values():
        parts.append({"url": "info-needed", "valueCode": INFO_NEEDED})
    parts += [{"url": "reason", "valueCodeableConcept": {"text": text}} for text in _reasons(decision, label)]
    if decision.decision == "pend":
        parts.append({"url": "questionnaire", "valueCanonical": canonical_reference(decision.policy, label)})
    parts += [
        {"url": "date", "valueDate": day.isoformat()},
        {"url": "coverage-assertion-id", "valueString": assertion},
    ]
    data = as_json(order)
    data["extension"] = [*data.get("extension", []), {"url": COVERAGE_INFORMATION, "extension": parts}]
    return {
        "type": "update",
        "description": f"Added coverage information ({decision.policy} {label}) to MedicationRequest {order.id}.",
        "resource": as_json(MedicationRequest.model_validate(data)),
    }

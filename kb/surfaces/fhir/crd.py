"""Da Vinci CRD: a CDS Hooks service that tells an EHR, when a drug is ordered, whether prior
authorization is needed and what documentation the policy asks for.

CDS Hooks JSON is not a FHIR resource: the request's ``context.draftOrders`` and each
``prefetch`` entry are read one by one through the R4B models (``kb.surfaces.fhir.resources.parse``).
For each MedicationRequest ordered (for ``order-select``, each one selected) the service finds
the policy for the drug (``kb.surfaces.fhir.facts``), decides the order as a request dated on the order's
``authoredOn`` (else today, said in the card) with what the hook carries (the patient's age, the
order's ICD-10-CM ``reasonCode``, the requester's NUCC taxonomy, the Coverage's line of
business), and answers with a card and a ``systemActions`` update of the MedicationRequest
carrying ``ext-coverage-information``:

| decision | covered | pa-needed | doc-needed | questionnaire |
|---|---|---|---|---|
| approve | covered | auth-needed | no-doc | - |
| pend | conditional | auth-needed | clinical | the policy version's DTR Questionnaire |
| refer | conditional | auth-needed | clinical | - (another policy decides) |
| deny | not-covered | - | - | - |

Deny needs a criterion the order's own facts fail (an infant for an adult-only drug): what the
hook does not carry stays unknown and makes the answer conditional. The coverage-assertion-id
is derived from the policy, version and knowledge time (the latest load), so the same
knowledge gives the same assertion. Nothing is written to the knowledge base.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import date
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.coverage import Coverage
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.resource import Resource

from kb.concepts.facts import Request, RequestError
from kb.concepts.match import Value, kind_of
from kb.decide.ruleset import Decision
from kb.errors import KBError
from kb.surfaces.api import KnowledgeBase
from kb.surfaces.fhir.facts import (
    Resources,
    age_at,
    diagnosis_of,
    drug_of,
    full_date,
    line_of_business,
    policy_for_drug,
    settles,
    specialty_of,
    value_json,
)
from kb.surfaces.fhir.questionnaire import canonical_reference
from kb.surfaces.fhir.resources import FhirError, Issue, parse

CRD = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/"
COVERAGE_INFORMATION = CRD + "ext-coverage-information"
CARD_TYPE = "http://terminology.hl7.org/CodeSystem/cdshooks-card-type"
SERVICES = {
    "policy-as-data-order-sign": "order-sign",
    "policy-as-data-order-select": "order-select",
}
OBSOLETE = {"medication-prescribe": "CDS Hooks 1.0 replaced it with order-select and order-sign"}
PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "coverage": "Coverage?patient={{context.patientId}}&status=active",
}
COVERAGE = {
    "approve": {"covered": "covered", "pa-needed": "auth-needed", "doc-needed": "no-doc"},
    "pend": {"covered": "conditional", "pa-needed": "auth-needed", "doc-needed": "clinical"},
    "refer": {"covered": "conditional", "pa-needed": "auth-needed", "doc-needed": "clinical"},
    "deny": {"covered": "not-covered"},
}


class HookError(KBError):
    """A hook request this service cannot answer: HTTP status, message and the defects by path."""

    def __init__(self, message: str, issues: list[Issue] | None = None, status: int = 400) -> None:
        self.message = message
        self.issues = issues or []
        self.status = status
        super().__init__(message)

    @classmethod
    def of(cls, error: FhirError) -> HookError:
        return cls(str(error), error.issues)

    def to_json(self) -> dict[str, Any]:
        """The CDS Hooks-style error body."""
        return {
            "error": self.message,
            "status": self.status,
            "issues": [{"path": i.path, "expected": i.expected, "code": i.code} for i in self.issues],
        }


def discovery() -> dict[str, Any]:
    """The CDS Hooks discovery document: one service per hook, for MedicationRequest orders."""
    return {
        "services": [
            {
                "hook": hook,
                "id": service,
                "title": f"Drug prior-authorization requirements ({hook})",
                "description": (
                    "Da Vinci CRD for MedicationRequest: the drug's policy and version in force on the order's "
                    "date, whether prior authorization is needed and what documentation its criteria ask for."
                ),
                "prefetch": PREFETCH,
            }
            for service, hook in SERVICES.items()
        ]
    }


def as_json(model: Resource) -> dict[str, Any]:
    return json.loads(model.model_dump_json(exclude_none=True))


def _check(service: str, body: Any) -> tuple[str, dict[str, Any]]:
    """The hook and context of a hook request, or a ``HookError`` naming what is wrong."""
    if service not in SERVICES:
        raise HookError(f"no CDS service {service!r}; see /cds-services", status=404)
    if not isinstance(body, dict):
        raise HookError("expected a CDS Hooks request (a JSON object with hook, hookInstance and context)")
    hook = body.get("hook")
    if hook in OBSOLETE:
        raise HookError(f"hook {hook!r} is obsolete: {OBSOLETE[hook]}", [Issue("hook", SERVICES[service])])
    if hook != SERVICES[service]:
        raise HookError(
            f"service {service} answers the {SERVICES[service]} hook; found {hook!r}",
            [Issue("hook", SERVICES[service])],
        )
    missing = [name for name in ("hookInstance", "context") if not body.get(name)]
    if missing:
        raise HookError(
            f"missing {', '.join(missing)}", [Issue(name, "a value is required", "required") for name in missing]
        )
    context = body["context"]
    if not isinstance(context, dict) or not isinstance(context.get("draftOrders"), dict):
        raise HookError(
            "context.draftOrders: expected a FHIR Bundle of the draft orders",
            [Issue("context.draftOrders", "a Bundle", "required")],
        )
    return hook, context


def _read(body: dict[str, Any], context: dict[str, Any]) -> tuple[Bundle, Resources]:
    resources = Resources()
    try:
        orders = parse(context["draftOrders"], "context.draftOrders", ("Bundle",))
        resources.add(orders)
        prefetch = body.get("prefetch") or {}
        if not isinstance(prefetch, dict):
            raise HookError("prefetch: expected an object of FHIR resources", [Issue("prefetch", "a JSON object")])
        for key, value in prefetch.items():
            if value is not None:  # a prefetch the EHR could not fill
                resources.add(parse(value, f"prefetch.{key}"))
    except FhirError as error:
        raise HookError.of(error) from None
    assert isinstance(orders, Bundle)
    return orders, resources


def answer(kb: KnowledgeBase, service: str, body: Any, today: date) -> dict[str, Any]:
    """The CDS Hooks response (cards and systemActions) to a hook request, or a ``HookError``."""
    hook, context = _check(service, body)
    orders, resources = _read(body, context)
    found = [e.resource for e in orders.entry or [] if e.resource is not None]
    medication = [r for r in found if isinstance(r, MedicationRequest)]
    if hook == "order-select" and context.get("selections"):
        choices = context["selections"] if isinstance(context["selections"], list) else []
        selected = {choice for choice in choices if isinstance(choice, str)}
        medication = [r for r in medication if f"MedicationRequest/{r.id}" in selected]
    if not medication:
        kinds = ", ".join(r.get_resource_type() for r in found) or "none"
        summary = "No medication order to check: this service answers for MedicationRequest orders"
        return {
            "cards": [_card(summary, f"Draft orders found: {kinds}.", "policy-as-data", str(body["hookInstance"]))],
            "systemActions": [],
        }
    cards, actions = [], []
    for index, order in enumerate(medication):
        card, action = _order(kb, order, resources, today, f"context.draftOrders:MedicationRequest[{index}]")
        cards.append(card)
        if action:
            actions.append(action)
    return {"cards": cards, "systemActions": actions}


def _card(summary: str, detail: str, label: str, key: str, indicator: str = "info") -> dict[str, Any]:
    return {
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:policy-as-data:card:{key}")),
        "summary": summary[:140],
        "indicator": indicator,
        "detail": detail,
        "source": {
            "label": label,
            "topic": {"system": CARD_TYPE, "code": "coverage-info", "display": "Coverage Information"},
        },
    }


def _coverage(order: MedicationRequest, resources: Resources) -> Coverage | None:
    named = [resources.resolve(r) for r in order.insurance or []]
    found = [c for c in named if isinstance(c, Coverage)] or [
        c for c in resources.of_type("Coverage") if isinstance(c, Coverage) and c.status == "active"
    ]
    return found[0] if found else None


def _request(order: MedicationRequest, resources: Resources, drug: Value, policy: str, day: date, path: str) -> Request:
    """The order as a request: the facts a hook carries; the rest stay unknown."""
    patient = resources.resolve(order.subject) or next(iter(resources.of_type("Patient")), None)
    coverage = _coverage(order, resources)
    diagnosis = next(
        (
            value
            for index, concept in enumerate(order.reasonCode or [])
            if (value := diagnosis_of(concept, f"{path}.reasonCode[{index}]", "context.draftOrders"))
        ),
        None,
    )
    specialty = specialty_of(resources, resources.resolve(order.requester), "prefetch")
    facts = {
        "age_years": age_at(getattr(patient, "birthDate", None), day),
        "line_of_business": line_of_business(coverage, [p for p in map(resources.resolve, coverage.payor or []) if p])
        if coverage
        else None,
        "diagnosis": diagnosis,
        "prescriber_specialty": specialty,
        "requested_drug": drug,
    }
    given = {name: value_json(value) for name, value in facts.items() if value is not None}
    data = {"request_id": order.id, "policy": policy, "date_of_service": day.isoformat(), "facts": given}
    try:
        return Request.from_json(data, path)
    except RequestError as error:
        raise HookError(str(error), [Issue(path, str(error), "value")]) from None


def _order(
    kb: KnowledgeBase, order: MedicationRequest, resources: Resources, today: date, path: str
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The card and the system action for one MedicationRequest."""
    try:
        drug = drug_of(order.medicationCodeableConcept, f"{path}.medicationCodeableConcept", "context.draftOrders")
        if drug is None and order.medicationReference is not None:
            medication = resources.resolve(order.medicationReference)
            drug = drug_of(getattr(medication, "code", None), f"{path}.medicationReference", "prefetch")
    except FhirError as error:
        raise HookError.of(error) from None
    named = drug.text if drug else "the ordered medication (no HCPCS, NDC or RxNorm code)"
    policy = policy_for_drug(kb.connection, drug)
    key = f"{order.id}|{named}"
    if policy is None:
        summary = f"No drug policy here covers {named}"
        detail = f"No policy of this knowledge base lists {named}: it states no prior-authorization requirement for it."
        return _card(summary, detail, "policy-as-data", key), None
    try:
        day, dated = (
            (full_date(order.authoredOn, f"{path}.authoredOn", "context.draftOrders"), "the order's date (authoredOn)")
            if order.authoredOn
            else (today, "today's date (the order has no authoredOn)")
        )
        decision = kb.evaluate(_request(order, resources, drug, policy, day, path))
        rules = kb.rules(policy, day)
    except HookError:
        raise
    except FhirError as error:
        raise HookError.of(error) from None
    except KBError as error:
        return _undecided(named, policy, day, dated, str(error), key), None
    if decision.version is None:  # no version in force on the order's date
        return _undecided(named, policy, day, dated, "; ".join(decision.reasons), key), None
    label = (decision.version or {}).get("label")
    assertion = hashlib.sha256(f"{policy}|{label}|{rules.answer.loaded_at}".encode()).hexdigest()
    drug_label = kind_of("drug").concepts[drug.concept].label if drug and drug.concept else named
    card = _card(
        _summary(decision, drug_label, label),
        _detail(decision, dated, rules.answer.loaded_at),
        f"policy-as-data: {policy} {label}",
        f"{key}|{assertion}",
        "warning" if decision.decision == "deny" else "info",
    )
    return card, _action(order, decision, day, assertion, _coverage(order, resources))


def _undecided(named: str, policy: str, day: date, dated: str, why: str, key: str) -> dict[str, Any]:
    detail = f"{policy} cannot be read on {day} ({dated}): {why}"
    return _card(f"{named}: {policy} has no version in force on {day}", detail, "policy-as-data", key)


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
    order: MedicationRequest, decision: Decision, day: date, assertion: str, coverage: Coverage | None
) -> dict[str, Any]:
    """The systemActions update: the MedicationRequest with ext-coverage-information."""
    label = (decision.version or {}).get("label")
    parts: list[dict[str, Any]] = []
    if coverage is not None and coverage.id:
        parts.append({"url": "coverage", "valueReference": {"reference": f"Coverage/{coverage.id}"}})
    parts += [{"url": name, "valueCode": code} for name, code in COVERAGE[decision.decision].items()]
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

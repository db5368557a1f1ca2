"""Besponsa requests in the Da Vinci PAS and CRD shapes, built from the facts of a plain JSON request.

``pas_bundle(plain)`` carries each fact where a PAS request Bundle carries it (kb/fhir/facts.py):
the member's birth date for the age, ICD-10-CM in Claim.diagnosis (with its text), NUCC in the
care team's qualification, HCPCS J9229 as the item's product, the line of business in the
Coverage's type, the other facts in Claim.supportingInfo.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "fhir-examples"
FACT = "urn:policy-as-data:fact"
PAS = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
NUCC = "http://nucc.org/provider-taxonomy"
HCPCS = "https://bluebutton.cms.gov/resources/codesystem/hcpcs"
LINES = {
    "Commercial": "Commercial PPO",
    "HIM": "Ambetter health insurance marketplace",
    "Medicaid": "Medicaid managed care",
}
STRUCTURED = {"age_years", "diagnosis", "prescriber_specialty", "line_of_business", "requested_drug"}


def coverage_of(line: str | None) -> dict[str, Any]:
    """The member's Coverage; its type names the line of business when one is given."""
    coverage: dict[str, Any] = {
        "resourceType": "Coverage",
        "id": "coverage",
        "status": "active",
        "beneficiary": {"reference": "Patient/member"},
        "payor": [{"reference": "Organization/payer"}],
    }
    if line:
        coverage["type"] = {"text": LINES[line]}
    return coverage


def birth_date(age: int, day: date) -> str:
    """A birth date that makes the member ``age`` whole years old on ``day``."""
    return (day.replace(year=day.year - age) - timedelta(days=40)).isoformat()


def _supporting(sequence: int, name: str, value: Any) -> dict[str, Any]:
    info: dict[str, Any] = {
        "sequence": sequence,
        "category": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/claiminformationcategory", "code": "info"}]
        },
        "code": {"coding": [{"system": FACT, "code": name}]},
    }
    if isinstance(value, bool):
        info["valueBoolean"] = value
    elif isinstance(value, int | float):
        info["valueQuantity"] = {"value": value}
    elif isinstance(value, str):
        info["valueString"] = value
    else:
        info["valueString"] = json.dumps(value)
    return info


def pas_bundle(
    plain: dict[str, Any],
    icd: str | None = "C91.02",
    nucc: str | None = "207RH0003X",
) -> dict[str, Any]:
    """The PAS request Bundle twin of a plain request: a phrase diagnosis is the text of ICD-10-CM
    ``icd``, a coded one its code; the specialty is NUCC ``nucc``."""
    facts = plain["facts"]
    day = date.fromisoformat(plain["date_of_service"])
    patient: dict[str, Any] = {"resourceType": "Patient", "id": "member", "name": [{"family": "Doe", "given": ["Sam"]}]}
    if "age_years" in facts:
        patient["birthDate"] = birth_date(facts["age_years"], day)
    coverage = coverage_of(facts.get("line_of_business"))
    claim: dict[str, Any] = {
        "resourceType": "Claim",
        "id": plain.get("request_id") or "besponsa",
        "meta": {"profile": [PAS + "profile-claim"]},
        "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
        "use": "preauthorization",
        "patient": {"reference": "Patient/member"},
        "created": f"{plain['date_of_service']}T09:00:00+00:00",
        "insurer": {"reference": "Organization/payer"},
        "provider": {"reference": "Organization/clinic"},
        "priority": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority", "code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/coverage"}}],
        "item": [
            {
                "extension": [
                    {
                        "url": PAS + "extension-certificationType",
                        "valueCodeableConcept": {
                            "coding": [
                                {
                                    "system": "http://codesystem.x12.org/005010/1322",
                                    "code": "I" if plain.get("request_type", "initial") == "initial" else "R",
                                }
                            ]
                        },
                    }
                ],
                "sequence": 1,
                "careTeamSequence": [1],
                "diagnosisSequence": [1],
                "productOrService": {
                    "coding": [
                        {"system": HCPCS, "code": "J9229", "display": "Injection, inotuzumab ozogamicin, 0.1 mg"}
                    ]
                },
                "servicedDate": plain["date_of_service"],
                "quantity": {"value": 1},
            }
        ],
    }
    if nucc and "prescriber_specialty" in facts:
        claim["careTeam"] = [
            {
                "sequence": 1,
                "provider": {"reference": "Practitioner/prescriber"},
                "qualification": {"coding": [{"system": NUCC, "code": nucc}]},
            }
        ]
    if icd and "diagnosis" in facts:
        given = facts["diagnosis"]
        concept = (
            {"coding": [{"system": ICD, "code": given["code"]}]}
            if isinstance(given, dict)
            else {"coding": [{"system": ICD, "code": icd}], "text": given}
        )
        claim["diagnosis"] = [{"sequence": 1, "diagnosisCodeableConcept": concept}]
    others = [(name, value) for name, value in facts.items() if name not in STRUCTURED]
    supporting = []
    for name, value in others:
        items = value if isinstance(value, list) and value and isinstance(value[0], str) else [value]
        supporting += [_supporting(len(supporting) + 1, name, item) for item in items]
    if supporting:
        claim["supportingInfo"] = supporting
    resources = [
        claim,
        patient,
        coverage,
        {"resourceType": "Organization", "id": "payer", "name": "Example Health Plan"},
        {"resourceType": "Organization", "id": "clinic", "name": "Example Cancer Center"},
        {"resourceType": "Practitioner", "id": "prescriber", "name": [{"family": "Smith"}]},
    ]
    return {
        "resourceType": "Bundle",
        "id": f"pas-{claim['id']}",
        "meta": {"profile": [PAS + "profile-pas-request-bundle"]},
        "identifier": {"system": "urn:example:pas", "value": claim["id"]},
        "type": "collection",
        "timestamp": f"{plain['date_of_service']}T09:00:00+00:00",
        "entry": [{"fullUrl": f"urn:example:{r['resourceType']}/{r['id']}", "resource": r} for r in resources],
    }


def order_sign(
    authored: str | None,
    age: int | None = 45,
    icd: str | None = "C91.02",
    text: str | None = "B-cell ALL",
    line: str | None = "Commercial",
    hook: str = "order-sign",
    medication: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A CDS Hooks order-sign (or order-select) request ordering Besponsa (HCPCS J9229), with the
    Patient and Coverage prefetched and the prescriber's PractitionerRole (NUCC 207RH0003X)."""
    day = date.fromisoformat(authored) if authored else date.today()
    order: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": "besponsa-order",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": medication
        or {"coding": [{"system": HCPCS, "code": "J9229", "display": "Injection, inotuzumab ozogamicin, 0.1 mg"}]},
        "subject": {"reference": "Patient/member"},
        "requester": {"reference": "PractitionerRole/prescriber"},
        "insurance": [{"reference": "Coverage/coverage"}],
    }
    if authored:
        order["authoredOn"] = authored
    if icd:
        order["reasonCode"] = [{"coding": [{"system": ICD, "code": icd}], **({"text": text} if text else {})}]
    patient: dict[str, Any] = {"resourceType": "Patient", "id": "member"}
    if age is not None:
        patient["birthDate"] = birth_date(age, day)
    coverage = coverage_of(line)
    role = {
        "resourceType": "PractitionerRole",
        "id": "prescriber",
        "code": [{"coding": [{"system": NUCC, "code": "207RH0003X"}]}],
    }
    return {
        "hook": hook,
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "fhirServer": "https://ehr.example.org/fhir",
        "context": {
            "userId": "PractitionerRole/prescriber",
            "patientId": "member",
            "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": order}]},
            **({"selections": ["MedicationRequest/besponsa-order"]} if hook == "order-select" else {}),
        },
        "prefetch": {
            "patient": patient,
            "coverage": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": coverage}]},
            "practitionerRoles": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": role}]},
        },
    }

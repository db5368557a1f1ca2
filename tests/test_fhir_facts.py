"""kb.surfaces.fhir.facts: FHIR resources read into the facts of a request, and the policy for a drug."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from fhir_payloads import EXAMPLES, HCPCS, pas_bundle

from kb.concepts.facts import Request
from kb.surfaces.fhir.facts import age_at, documentation, item_facts, read_pas
from kb.surfaces.fhir.resources import FhirError

PLAIN = json.loads((Path(__file__).parents[1] / "examples" / "request-ph-negative-16.json").read_text())


def read(bundle: dict, kb) -> list:
    return item_facts(read_pas(bundle, "test.json"), kb.connection)


def resource(bundle: dict, kind: str) -> dict:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind)


def test_structured_facts_come_from_their_resources(loaded_kb) -> None:
    (item,) = read(pas_bundle(PLAIN), loaded_kb)
    assert item.policy == "CP.PHAR.359" and item.drug.concept == "inotuzumab-ozogamicin"
    facts = item.request["facts"]
    assert facts["age_years"] == 16
    # C91.02 is ALL (B- or T-cell); its text "B-cell ALL" names the narrower concept
    assert facts["diagnosis"] == "B-cell ALL"
    assert facts["prescriber_specialty"] == {"system": "NUCC", "code": "207RH0003X"}
    assert facts["line_of_business"] == "Commercial"
    assert item.request["date_of_service"] == "2025-12-01" and item.request["request_type"] == "initial"
    # every other fact through Claim.supportingInfo, as the plain request gives it
    for name in ("ph_status", "cd22_positive", "line_of_therapy", "cycles_requested", "dose"):
        assert facts[name] == PLAIN["facts"][name]
    Request.from_json(item.request)


@pytest.mark.parametrize(
    "system",
    [
        "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
        "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
        "https://bluebutton.cms.gov/resources/codesystem/hcpcs",
    ],
)
def test_hcpcs_under_each_system_uri_finds_the_policy(loaded_kb, system: str) -> None:
    bundle = pas_bundle(PLAIN)
    resource(bundle, "Claim")["item"][0]["productOrService"]["coding"][0]["system"] = system
    assert read(bundle, loaded_kb)[0].policy == "CP.PHAR.359"


def test_drug_from_the_linked_medication_request(loaded_kb) -> None:
    bundle = pas_bundle(PLAIN)
    item = resource(bundle, "Claim")["item"][0]
    item["productOrService"] = {"coding": [{"system": "http://codesystem.x12.org/005010/1365", "code": "1"}]}
    item["extension"].append(
        {
            "url": "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-requestedService",
            "valueReference": {"reference": "MedicationRequest/order"},
        }
    )
    order = {
        "resourceType": "MedicationRequest",
        "id": "order",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/member"},
        "medicationCodeableConcept": {"coding": [{"system": HCPCS, "code": "J9229"}]},
    }
    bundle["entry"].append({"fullUrl": "urn:example:MedicationRequest/order", "resource": order})
    assert read(bundle, loaded_kb)[0].policy == "CP.PHAR.359"
    # an RxNorm code the vocabulary does not know names no policy: the item is not guessed into one
    order["medicationCodeableConcept"] = {
        "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1234567"}]
    }
    (unknown,) = read(bundle, loaded_kb)
    assert unknown.policy is None and unknown.request is None and unknown.drug.concept is None


def test_specialty_from_practitioner_role(loaded_kb) -> None:
    bundle = pas_bundle(PLAIN)
    del resource(bundle, "Claim")["careTeam"][0]["qualification"]
    role = {
        "resourceType": "PractitionerRole",
        "id": "role",
        "practitioner": {"reference": "Practitioner/prescriber"},
        "specialty": [{"coding": [{"system": "http://nucc.org/provider-taxonomy", "code": "207RX0202X"}]}],
    }
    bundle["entry"].append({"fullUrl": "urn:example:PractitionerRole/role", "resource": role})
    assert read(bundle, loaded_kb)[0].request["facts"]["prescriber_specialty"] == {
        "system": "NUCC",
        "code": "207RX0202X",
    }


@pytest.mark.parametrize(
    ("coverage_type", "line"),
    [
        ({"coding": [{"system": "https://nahdo.org/sopt", "code": "21"}]}, "Medicaid"),
        ({"text": "Ambetter health insurance marketplace"}, "HIM"),
        ({"text": "Commercial PPO"}, "Commercial"),
        ({"text": "Medicaid or commercial"}, None),  # two lines named: unknown, never guessed
        ({"coding": [{"system": "https://nahdo.org/sopt", "code": "5"}]}, None),  # private: which line?
        (None, None),
    ],
)
def test_line_of_business_from_coverage(loaded_kb, coverage_type, line) -> None:
    bundle = pas_bundle(PLAIN)
    coverage = resource(bundle, "Coverage")
    coverage.pop("type", None)
    if coverage_type:
        coverage["type"] = coverage_type
    assert read(bundle, loaded_kb)[0].request["facts"].get("line_of_business") == line


def test_age_needs_a_full_birth_date() -> None:
    from datetime import date

    assert age_at(date(2008, 12, 2), date(2025, 12, 1)) == 16
    assert age_at(date(2008, 12, 1), date(2025, 12, 1)) == 17
    assert age_at("2008", date(2025, 12, 1)) is None
    assert age_at(None, date(2025, 12, 1)) is None


def test_missing_facts_stay_unknown(loaded_kb) -> None:
    bundle = pas_bundle(PLAIN)
    del resource(bundle, "Patient")["birthDate"]
    del resource(bundle, "Claim")["diagnosis"]
    facts = read(bundle, loaded_kb)[0].request["facts"]
    assert "age_years" not in facts and "diagnosis" not in facts
    assert "Patient.birthDate" in documentation("age_years")
    assert "supportingInfo" in documentation("single_agent")


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda c: c.update(use="claim"), "Bundle.entry[0].resource.use"),
        (lambda c: c.pop("patient"), "Bundle.entry[0].resource.patient"),
        (lambda c: c["item"][0].pop("servicedDate"), "Bundle.entry[0].resource.item[0].serviced[x]"),
        (lambda c: c["item"][0].update(servicedDate="2025-12"), "Bundle.entry[0].resource.item[0].servicedDate"),
        (
            lambda c: c["diagnosis"][0]["diagnosisCodeableConcept"]["coding"][0].update(code="C99.99"),
            "Bundle.entry[0].resource.diagnosis[0].coding[0]",
        ),
        (
            lambda c: c["supportingInfo"][0]["code"]["coding"][0].update(code="shoe_size"),
            "Bundle.entry[0].resource.supportingInfo[0].code",
        ),
    ],
)
def test_defects_are_named_by_path(loaded_kb, change, path: str) -> None:
    bundle = copy.deepcopy(pas_bundle(PLAIN))
    change(resource(bundle, "Claim"))
    with pytest.raises(FhirError) as raised:
        read(bundle, loaded_kb)
    assert raised.value.issues[0].path.startswith(path), raised.value.issues
    assert str(raised.value).startswith("test.json: ")


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason=f"the Da Vinci examples are not at {EXAMPLES}")
def test_referral_examples_name_no_drug_policy(loaded_kb) -> None:
    for name in ("pas-request-referral-v110.json", "pas-ig-referral-request-v2.json"):
        (item,) = read(json.loads((EXAMPLES / name).read_text()), loaded_kb)
        assert item.policy is None and item.product == "Consultation"

"""Da Vinci PAS through `kb evaluate`: Besponsa requests decided as their plain JSON twins, and
every PAS example of ../shared/fhir-examples answered or refused with its defect named.

The expected decisions are read from the policy text (kb/data/policies/CP.PHAR.359_*.txt,
section I.A, and the revision log for the 2024 version), not from the program's output.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir_payloads import EXAMPLES, pas_bundle

from kb.concepts.facts import Request
from kb.surfaces.cli import cli

FIXTURE = Path(__file__).parents[1] / "kb" / "data" / "bench" / "besponsa-pas.json"
ADULT = {
    "request_id": "besponsa-adult-relapsed",
    "policy": "CP.PHAR.359",
    "date_of_service": "2025-12-01",
    "request_type": "initial",
    "facts": {
        "line_of_business": "Commercial",
        "age_years": 45,
        "diagnosis": "B-cell ALL",
        "prescriber_specialty": "hematologist-oncologist",
        "ph_status": "negative",
        "cd22_positive": True,
        "disease_status": "relapsed",
        "line_of_therapy": ["second-line"],
        "cycles_requested": 2,
        "cycles_received": 0,
        "regimen_fda_or_nccn": True,
        "dose": [{"value": 1.8, "unit": "mg/m2", "per": "cycle"}, {"value": 0.8, "unit": "mg/m2", "per": "dose"}],
    },
}


def plain(date: str, **changes: Any) -> dict[str, Any]:
    request = copy.deepcopy(ADULT)
    request["date_of_service"] = date
    for name, value in changes.items():
        if value is None:
            request["facts"].pop(name)
        else:
            request["facts"][name] = value
    return request


TEEN = {"age_years": 16, "disease_status": "newly diagnosed"}
CASES = {
    # I.A.1-7 all met: B-cell ALL, hematology & oncology, age >= 1, CD22+, relapsed (5.a), 2 of 6 cycles, 1.8 mg/m2/cycle
    "adult-relapsed-2025": (plain("2025-12-01"), "approve"),
    # V2024-05 (in force 2024-05-13 .. 2024-11-01) has the same I.A.1-7 for relapsed disease
    "adult-relapsed-2024": (plain("2024-08-01"), "approve"),
    # V2024-05 I.A.5.b: Ph-negative, induction therapy (i) and age >= 15 (ii, log 2024-05-13)
    "teen-induction-2024": (plain("2024-08-01", **TEEN, line_of_therapy=["induction"]), "approve"),
    # V2025-11 I.A.5: not relapsed (5.a) and frontline under 18 (5.b)
    "teen-frontline-2025": (plain("2025-12-01", **TEEN, line_of_therapy=["frontline"]), "deny"),
    # I.A.4 "B-cell ALL is CD22 positive": not documented
    "cd22-unknown": (plain("2025-12-01", cd22_positive=None), "pend"),
    # I.A.1: ICD-10-CM C91.00 is ALL, B- or T-cell: is it B-cell precursor ALL?
    "all-subtype-unknown": (plain("2025-12-01", diagnosis={"system": "ICD-10-CM", "code": "C91.00"}), "pend"),
    # I.A.1 not met (AML is not B-cell ALL): I.B refers to the off-label use policy (CP.CPA.09 for commercial)
    "aml-refer": (plain("2025-12-01", diagnosis={"system": "ICD-10-CM", "code": "C92.00"}), "refer"),
}
REVIEW = {"approve": "A1", "deny": "A3", "pend": "A4", "refer": "A4"}


def evaluate(loaded_kb, tmp_path: Path, payload: dict[str, Any]) -> tuple[int, dict[str, Any], str]:
    path = tmp_path / "payload.json"
    path.write_text(json.dumps(payload))
    result = CliRunner().invoke(cli, ["evaluate", str(path), "--db", str(loaded_kb.path)])
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.stdout), result.stderr


def claim_response(output: dict[str, Any]) -> dict[str, Any]:
    Bundle.model_validate(output)
    return output["entry"][0]["resource"]


def review_code(item: dict[str, Any]) -> str:
    review = item["adjudication"][0]["extension"][0]
    return review["extension"][1]["valueCodeableConcept"]["coding"][0]["code"]


def notes(response: dict[str, Any]) -> str:
    return "\n".join(note["text"] for note in response["processNote"])


@pytest.mark.parametrize("case", CASES)
def test_pas_twin_is_decided_as_the_plain_request(loaded_kb, tmp_path: Path, case: str) -> None:
    request, expected = CASES[case]
    decision = loaded_kb.evaluate(Request.from_json(request))
    assert decision.decision == expected, decision.reasons
    code, output, _ = evaluate(loaded_kb, tmp_path, pas_bundle(request))
    assert code == 0
    response = claim_response(output)
    (item,) = response["item"]
    assert review_code(item) == REVIEW[expected]
    text = notes(response)
    label = decision.version["label"]
    assert f"policy CP.PHAR.359 version {label}" in text and "knowledge as of" in text
    # PAS 2.2.1 binds outcome to complete | error | partial; its pended example answers complete with A4
    assert response["outcome"] == "complete"
    assert response["preAuthRef"].startswith("PA-")
    if expected == "approve":
        period = {"start": decision.duration["start_date"], "end": decision.duration["end_date"]}
        assert response["preAuthPeriod"] == period
        by_url = {e["url"].rsplit("/", 1)[-1]: e for e in item["extension"]}
        assert by_url["extension-itemPreAuthPeriod"]["valuePeriod"] == period
        assert by_url["extension-itemRequestedServiceDate"]["valueDateTime"] == request["date_of_service"]
        assert by_url["extension-itemPreAuthIssueDate"]["valueDate"] == response["created"][:10]
        assert "Criterion I.A.4 B-cell ALL is CD22 positive; - met" in text
    else:
        assert "preAuthPeriod" not in response
    if expected == "deny":
        assert "Criterion I.A.5 One of the following (a or b): - not met" in text
    if expected == "pend":
        for need in decision.needed:
            assert f"Needed: {need} - documentation:" in text
    if expected == "refer":
        assert "Refer to CP.CPA.09 (off-label use, Commercial" in text


def test_six_month_approvals_from_the_date_of_service(loaded_kb, tmp_path: Path) -> None:
    """Approval duration, initial, Commercial: 6 months (V2024-05); 6 months or to the renewal date,
    whichever is longer (V2025-11): the period is the 6 months, the note says it may run longer."""
    _, output, _ = evaluate(loaded_kb, tmp_path, pas_bundle(plain("2024-08-01")))
    assert claim_response(output)["preAuthPeriod"] == {"start": "2024-08-01", "end": "2025-02-01"}
    _, output, _ = evaluate(loaded_kb, tmp_path, pas_bundle(plain("2025-12-01")))
    response = claim_response(output)
    assert response["preAuthPeriod"] == {"start": "2025-12-01", "end": "2026-06-01"}
    assert "renewal date" in notes(response)


def test_an_approval_without_a_line_of_business_pends_for_it(loaded_kb, tmp_path: Path) -> None:
    """The duration depends on the line of business: without it no authorization period can be issued."""
    _, output, _ = evaluate(loaded_kb, tmp_path, pas_bundle(plain("2025-12-01", line_of_business=None)))
    response = claim_response(output)
    assert review_code(response["item"][0]) == "A4"
    assert "Needed: line_of_business - documentation: Coverage.type" in notes(response)


def test_the_readme_fixture_is_the_adult_twin() -> None:
    assert json.loads(FIXTURE.read_text()) == pas_bundle(ADULT)


def test_same_request_same_authorization_number(loaded_kb, tmp_path: Path) -> None:
    numbers = {claim_response(evaluate(loaded_kb, tmp_path, pas_bundle(ADULT))[1])["preAuthRef"] for _ in range(2)}
    assert len(numbers) == 1


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        ({"resourceType": "Patient", "birthDate": "1970"}, "Patient"),
        ({"resourceType": "Bundle", "entry": []}, "Bundle.type"),
        ({"resourceType": "Bundle", "type": "collection", "entry": []}, "Bundle.entry[0].resource"),
    ],
)
def test_not_a_pas_request_is_answered_with_an_operation_outcome(loaded_kb, tmp_path: Path, payload, path) -> None:
    code, output, stderr = evaluate(loaded_kb, tmp_path, payload)
    assert code == 1
    outcome = OperationOutcome.model_validate(output)
    assert any(path in issue.expression[0] for issue in outcome.issue)
    assert len(stderr.strip().splitlines()) == 1 and stderr.startswith("Error: ")


def test_a_bad_code_in_a_pas_request_is_named(loaded_kb, tmp_path: Path) -> None:
    bundle = pas_bundle(plain("2025-12-01", diagnosis={"system": "ICD-10-CM", "code": "C91.99"}))
    code, output, _ = evaluate(loaded_kb, tmp_path, bundle)
    assert code == 1
    (issue,) = OperationOutcome.model_validate(output).issue
    assert issue.expression == ["Bundle.entry[0].resource.diagnosis[0].coding[0]"]
    assert "does not exist" in issue.diagnostics


REQUESTS = ["pas-request-referral-v110.json", "pas-ig-referral-request-v2.json"]
REFUSED = {
    # STU3-style: insurance as one object, answer.integer, Condition.clinicalStatus as a code
    "pas-ri-request-homeoxygen.json": ["Bundle.entry[1].resource.insurance", "Bundle.entry[7].resource.clinicalStatus"],
    # responses are not requests: their first entry is the ClaimResponse
    "pas-response-approved.json": ["Bundle.entry[0].resource"],
    "pas-response-denied.json": ["Bundle.entry[0].resource"],
    "pas-ri-response-granted.json": ["Bundle.entry[0].resource"],
    "pas-ri-response-denied.json": ["Bundle.entry[0].resource"],
}


def test_every_pas_example_is_covered() -> None:
    if not EXAMPLES.is_dir():
        pytest.skip(f"the Da Vinci examples are not at {EXAMPLES}")
    assert {p.name for p in EXAMPLES.glob("pas-*.json")} == set(REQUESTS) | set(REFUSED)


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason=f"the Da Vinci examples are not at {EXAMPLES}")
@pytest.mark.parametrize("name", REQUESTS)
def test_referral_examples_are_pended_for_the_plans_review(loaded_kb, tmp_path: Path, name: str) -> None:
    """A referral for a consultation is no drug: no policy here covers it, so it is pended, never denied."""
    code, output, _ = evaluate(loaded_kb, tmp_path, json.loads((EXAMPLES / name).read_text()))
    assert code == 0
    response = claim_response(output)
    assert response["outcome"] == "complete" and review_code(response["item"][0]) == "A4"
    assert "no drug policy in this knowledge base covers Consultation" in notes(response)


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason=f"the Da Vinci examples are not at {EXAMPLES}")
@pytest.mark.parametrize("name", REFUSED)
def test_defective_or_non_request_examples_are_refused_by_path(loaded_kb, tmp_path: Path, name: str) -> None:
    code, output, stderr = evaluate(loaded_kb, tmp_path, json.loads((EXAMPLES / name).read_text()))
    assert code == 1 and stderr.startswith(f"Error: {tmp_path / 'payload.json'}: ")
    expressions = [issue.expression[0] for issue in OperationOutcome.model_validate(output).issue]
    for path in REFUSED[name]:
        assert path in expressions


def test_a_date_before_any_version_is_pended_not_decided(loaded_kb, tmp_path: Path) -> None:
    """CP.PHAR.359 can be vouched for from 2021-11-01 (its revision log starts in 2021)."""
    _, output, _ = evaluate(loaded_kb, tmp_path, pas_bundle(plain("2019-01-01")))
    response = claim_response(output)
    assert review_code(response["item"][0]) == "A4" and "no version in force" in response["disposition"]


KIT_REQUESTS = EXAMPLES.parent / "fhir-conformance" / "requests"


@pytest.mark.skipif(not KIT_REQUESTS.is_dir(), reason=f"the conformance kit is not at {KIT_REQUESTS}")
def test_a_request_without_identifier_or_full_urls_is_answered_with_them(loaded_kb, tmp_path: Path) -> None:
    """PAS: Bundle.identifier and every entry's fullUrl are 1..1; the answer has them and says why they are its own."""
    request = json.loads((KIT_REQUESTS / "pas-no-identifier-no-fullurl.json").read_text())
    assert "identifier" not in request and not any("fullUrl" in entry for entry in request["entry"])
    code, output, _ = evaluate(loaded_kb, tmp_path, request)
    assert code == 0
    assert output["identifier"]["value"] and all(entry["fullUrl"].startswith("urn:uuid:") for entry in output["entry"])
    assert "The request lacks Bundle.identifier, Bundle.entry[0].fullUrl" in notes(claim_response(output))

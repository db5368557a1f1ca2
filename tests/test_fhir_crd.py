"""Da Vinci CRD on the site: the CDS Hooks discovery and order-sign / order-select services, in
process, over every CRD example of ../shared/fhir-examples and Besponsa orders.

Expected answers are read from the policy text: CP.PHAR.359 V2025-11 is in force from
2025-11-01 and V2024-05 on 2024-08-01 (revision log, P&T month rule); section I.A asks for
CD22 status, disease status, cycles and dose, which an order does not carry: the coverage is
conditional on that documentation, never denied for it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from datasette.plugins import pm
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir_payloads import EXAMPLES, order_sign

from kb.concepts.facts import Request
from kb.surfaces.fhir.crd import COVERAGE_INFORMATION
from kb.surfaces.site.cds import skip_csrf

SIGN = "/cds-services/policy-as-data-order-sign"
SELECT = "/cds-services/policy-as-data-order-select"


def post(site, path: str, body: Any, raw: bytes | None = None, cookie: bool = True):
    headers = {"content-type": "application/json"}
    if cookie:  # a browser-held CSRF cookie makes Datasette's CSRF check apply
        headers["cookie"] = "ds_csrftoken=IjAxMjM0NTY3ODki.bad"
    content = raw if raw is not None else json.dumps(body).encode()
    return asyncio.run(site.client.post(path, content=content, headers=headers))


def coverage_information(response: dict) -> dict[str, Any]:
    (action,) = response["systemActions"]
    assert action["type"] == "update"
    resource = MedicationRequest.model_validate(action["resource"])
    (extension,) = [e for e in resource.extension if e.url == COVERAGE_INFORMATION]
    info: dict[str, Any] = {}
    for part in extension.extension:
        value = next(v for k, v in part.model_dump(exclude_none=True).items() if k.startswith("value"))
        info.setdefault(part.url, []).append(value)
    return info


def test_discovery_lists_order_sign_and_order_select(site):
    response = asyncio.run(site.client.get("/cds-services"))
    assert response.status_code == 200
    services = {s["hook"]: s for s in response.json()["services"]}
    assert set(services) == {"order-sign", "order-select"}
    for service in services.values():
        assert service["prefetch"]["patient"] == "Patient/{{context.patientId}}"
        assert service["prefetch"]["coverage"].startswith("Coverage?patient={{context.patientId}}")


@pytest.mark.parametrize(("authored", "label"), [("2025-12-01", "V2025-11"), ("2024-08-01", "V2024-05")])
def test_besponsa_order_is_conditional_on_the_documentation(site, loaded_kb, authored: str, label: str):
    response = post(site, SIGN, order_sign(authored))
    assert response.status_code == 200, response.text
    answer = response.json()
    (card,) = answer["cards"]
    assert card["indicator"] == "info" and card["source"]["label"] == "Centene Corporation"
    assert "prior authorization required" in card["summary"]
    assert f"version **{label}**" in card["detail"] and "the order's date (authoredOn)" in card["detail"]
    assert "I.A.4 B-cell ALL is CD22 positive; (unknown)" in card["detail"]
    assert "I.A.3 Age ≥ 1 year; (met)" in card["detail"]
    info = coverage_information(answer)
    assert info["covered"] == ["conditional"] and info["pa-needed"] == ["auth-needed"]
    assert info["doc-needed"] == ["clinical"]
    assert info["questionnaire"] == [f"urn:policy-as-data:Questionnaire:CP.PHAR.359|{label}"]
    assert info["date"] == [date.fromisoformat(authored)]
    assert info["coverage"] == [{"reference": "Coverage/coverage"}]
    assert any("cd22_positive - flow cytometry" in reason["text"] for reason in info["reason"])
    loaded_at = loaded_kb.rules("CP.PHAR.359", authored).answer.loaded_at
    assert info["coverage-assertion-id"] == [hashlib.sha256(f"CP.PHAR.359|{label}|{loaded_at}".encode()).hexdigest()]


def twin(authored: str, age: int, diagnosis: Any) -> Request:
    """The plain JSON request an order carries: age, diagnosis, prescriber, line, drug."""
    return Request.from_json(
        {
            "policy": "CP.PHAR.359",
            "date_of_service": authored,
            "facts": {
                "age_years": age,
                "diagnosis": diagnosis,
                "prescriber_specialty": {"system": "NUCC", "code": "207RH0003X"},
                "line_of_business": "Commercial",
                "requested_drug": {"system": "HCPCS", "code": "J9229"},
            },
        }
    )


@pytest.mark.parametrize(
    ("age", "icd", "text", "decision", "covered"),
    [
        # I.A.1-3 met from the order; I.A.4-7 unknown: pend -> conditional
        (45, "C91.02", "B-cell ALL", "pend", "conditional"),
        # I.A.3 Age >= 1 year not met by a 6-month-old: deny -> not covered
        (0, "C91.02", "B-cell ALL", "deny", "not-covered"),
        # AML is not B-cell ALL: section I.B refers to other policies -> conditional, no questionnaire
        (45, "C92.00", None, "refer", "conditional"),
    ],
)
def test_order_is_decided_as_its_plain_twin(site, loaded_kb, age, icd, text, decision, covered):
    diagnosis = text or {"system": "ICD-10-CM", "code": icd}
    plain = loaded_kb.evaluate(twin("2025-12-01", age, diagnosis))
    assert plain.decision == decision, plain.reasons
    answer = post(site, SIGN, order_sign("2025-12-01", age=age, icd=icd, text=text)).json()
    info = coverage_information(answer)
    assert info["covered"] == [covered]
    assert ("questionnaire" in info) == (decision == "pend")
    (card,) = answer["cards"]
    assert card["indicator"] == ("warning" if decision == "deny" else "info")
    for need in plain.needed:
        assert f"- {need}:" in card["detail"]
    if decision == "refer":
        assert "CP.CPA.09 (off-label use, Commercial)" in card["detail"]


def test_the_readme_example_is_the_besponsa_order():
    fixture = Path(__file__).parent / "fixtures" / "fhir" / "besponsa-order-sign.json"
    assert json.loads(fixture.read_text()) == order_sign("2025-12-01")


def test_an_order_without_authored_on_is_read_on_today(site):
    answer = post(site, SIGN, order_sign(None)).json()
    assert "today's date (the order has no authoredOn)" in answer["cards"][0]["detail"]
    assert coverage_information(answer)["date"] == [date.today()]


def test_order_select_answers_the_selected_order(site):
    answer = post(site, SELECT, order_sign("2025-12-01", hook="order-select")).json()
    assert coverage_information(answer)["covered"] == ["conditional"]


def test_unknown_drug_gets_no_coverage_assertion(site):
    rxnorm = {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "6064"}]}
    answer = post(site, SIGN, order_sign("2025-12-01", medication=rxnorm)).json()
    assert answer["systemActions"] == [] and "No drug policy here covers RxNorm 6064" in answer["cards"][0]["summary"]


@pytest.mark.parametrize(
    ("path", "body", "raw", "status", "named"),
    [
        (SIGN, None, b"{not json", 400, "not JSON"),
        (SIGN, [1, 2], None, 400, "a JSON object with hook"),
        (SIGN, {**order_sign("2025-12-01"), "hook": "order-select"}, None, 400, "answers the order-sign hook"),
        (SIGN, {"hook": "order-sign", "context": {}}, None, 400, "missing hookInstance, context"),
        ("/cds-services/nope", order_sign("2025-12-01"), None, 404, "no CDS service 'nope'"),
    ],
)
def test_bad_hook_requests_are_refused_by_name(site, path, body, raw, status, named):
    response = post(site, path, body, raw)
    assert response.status_code == status
    assert named in response.json()["error"]


def test_a_bad_code_in_an_order_leaves_the_diagnosis_unknown_and_says_so(site):
    """CRD: servers give what coverage information they can; ICD-10-CM has no C91.99, so the
    diagnosis (I.A.1) stays unknown and the order is conditional on it, never refused."""
    response = post(site, SIGN, order_sign("2025-12-01", icd="C91.99"))
    assert response.status_code == 200
    (card,) = response.json()["cards"]
    assert "context.draftOrders.entry[0].resource.reasonCode[0].coding[0]" in card["detail"]
    assert "I.A.1 Diagnosis of B-cell ALL; (unknown)" in card["detail"]
    assert coverage_information(response.json())["covered"] == ["conditional"]


def test_a_partial_order_date_is_read_on_today_and_named(site):
    body = order_sign("2025-12-01")
    body["context"]["draftOrders"]["entry"][0]["resource"]["authoredOn"] = "2025"
    response = post(site, SIGN, body)
    assert response.status_code == 200
    (card,) = response.json()["cards"]
    assert "context.draftOrders.entry[0].resource.authoredOn: a full date YYYY-MM-DD; found '2025'" in card["detail"]
    assert "today's date (the order's authoredOn is not a full date)" in card["detail"]


def test_get_on_a_service_is_refused(site):
    response = asyncio.run(site.client.get(SIGN))
    assert response.status_code == 405 and "POST" in response.json()["error"]


def test_the_csrf_exemption_covers_only_the_cds_services(site, loaded_kb):
    before = hashlib.sha256(loaded_kb.path.read_bytes()).hexdigest()
    # with a CSRF cookie and no token, the service still answers: exempt
    assert post(site, SIGN, order_sign("2025-12-01"), cookie=True).status_code == 200
    assert hashlib.sha256(loaded_kb.path.read_bytes()).hexdigest() == before  # read-only

    def scope(method: str, path: str) -> dict:
        return {"type": "http", "method": method, "path": path}

    assert skip_csrf(site, scope("POST", SIGN)) and skip_csrf(site, scope("POST", SELECT))
    for method, path in [
        ("POST", "/cds-services"),
        ("POST", "/kb/criteria_in_force"),
        ("POST", "/-/kb/policy"),
        ("POST", "/kb/-/query"),
        ("POST", f"{SIGN}/more"),
        ("PUT", SIGN),
        ("GET", SIGN),
    ]:
        assert not any(pm.hook.skip_csrf(datasette=site, scope=scope(method, path))), (method, path)
    # and every other POST is still refused
    refused = post(site, "/kb/criteria_in_force", {"policy": "CP.PHAR.359"})
    assert refused.status_code == 405


CRD = {
    # ServiceRequests (a home-oxygen device order): no MedicationRequest to check
    "crd-ig-order-sign-request.json": (200, None),
    # a NutritionOrder without intent (not evaluated: noted) and amoxicillin in RxNorm (no policy here)
    "crd-order-sign-medreq-inferno.json": (200, "NutritionOrder"),
    # draftOrders, a Bundle without type: read entry by entry
    "crd-order-sign-isotretinoin-rems.json": (200, None),
    # the obsolete medication-prescribe hook
    "crd-medication-prescribe-botox-ri.json": (400, "hook"),
    # responses, not hook requests
    "crd-ig-response-coverage-info.json": (400, None),
    "crd-systemaction-conditional.json": (400, None),
}


def test_every_crd_example_is_covered():
    if not EXAMPLES.is_dir():
        pytest.skip(f"the Da Vinci examples are not at {EXAMPLES}")
    assert {p.name for p in EXAMPLES.glob("crd-*.json")} == set(CRD)


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason=f"the Da Vinci examples are not at {EXAMPLES}")
@pytest.mark.parametrize("name", CRD)
def test_crd_examples_are_answered_or_refused_by_name(site, name):
    status, path = CRD[name]
    response = post(site, SIGN, json.loads((EXAMPLES / name).read_text()))
    assert response.status_code == status, response.text
    if name == "crd-ig-order-sign-request.json":
        (card,) = response.json()["cards"]
        assert "No medication order to check" in card["summary"] and "ServiceRequest" in card["detail"]
    elif status == 200:
        cards = response.json()["cards"]
        assert cards and all(card["source"]["label"] and card["summary"] for card in cards)
        if path:
            assert f"a {path}; this service evaluates MedicationRequest orders only" in cards[0]["detail"]
    else:
        error = response.json()
        assert error["status"] == 400 and error["error"]
        if path:
            assert path in [issue["path"] for issue in error["issues"]]
    if name == "crd-medication-prescribe-botox-ri.json":
        assert "'medication-prescribe' is obsolete" in response.json()["error"]


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason=f"the Da Vinci examples are not at {EXAMPLES}")
def test_coverage_information_has_the_shape_of_the_examples(site):
    """Our extension parts are parts the IG's examples use (plus questionnaire, which the IG defines)."""
    example = json.loads((EXAMPLES / "crd-systemaction-conditional.json").read_text())
    (ext,) = example["resource"]["extension"]
    assert ext["url"] == COVERAGE_INFORMATION
    ig = json.loads((EXAMPLES / "crd-ig-response-coverage-info.json").read_text())
    parts = {p["url"] for p in ext["extension"]}
    parts |= {p["url"] for a in ig["systemActions"] for e in a["resource"]["extension"] for p in e["extension"]}
    ours = set(coverage_information(post(site, SIGN, order_sign("2025-12-01")).json()))
    assert ours - parts == {"questionnaire"}


def test_an_order_before_any_version_gets_no_coverage_assertion(site):
    answer = post(site, SIGN, order_sign("2019-01-01")).json()
    assert answer["systemActions"] == [] and "no version in force on 2019-01-01" in answer["cards"][0]["summary"]

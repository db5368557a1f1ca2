"""CRD for EHRs as they are: the hook requests of ../shared/fhir-conformance/requests (the CDS Hooks
specification's own R4 examples, Inferno's, and EHR variants) answered with cards, drugs found by
every corpus policy's HCPCS codes, by the payer's RxNorm crosswalk, in a contained Medication and
by name, the discovery document and the request's configuration.

Expected policies and codes are read from ../shared/corpus/SOURCES.md ("True HCPCS") and the
drug names from each policy's title; the CDS Hooks and CRD rules from their specifications.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from fhir_payloads import order_sign

from kb.surfaces.api import KnowledgeBase, bundled_policy_paths
from kb.surfaces.fhir.crd import COVERAGE_INFORMATION, HookError, answer, discovery
from kb.surfaces.fhir.drugs import CROSSWALK_ENV, DATA, CrosswalkError, crosswalk, read_crosswalk
from tests.conftest import CORPUS

KIT = CORPUS.parent / "fhir-conformance" / "requests"
SIGN, SELECT = "policy-as-data-order-sign", "policy-as-data-order-select"
TODAY = date(2025, 12, 1)
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
TRUE_HCPCS = {
    # SOURCES.md, "True HCPCS" of each corpus file (not-otherwise-classified codes left out)
    "J3031": "HIM.PA.SP66",  # fremanezumab-vfrm (Ajovy)
    "J1440": "CP.PHAR.613",  # fecal microbiota, live-jslm (Rebyota)
    "J9144": "CP.PHAR.310",  # Darzalex Faspro
    "J9145": "CP.PHAR.310",  # Darzalex
    "J2786": "CP.PHAR.223",  # reslizumab (Cinqair)
    "J0739": "CP.PHAR.573",  # Apretude
    "J0741": "CP.PHAR.573",  # Cabenuva
    "J7207": "CP.PHAR.215",  # a factor VIII product
    "J2781": "CP.PHAR.524",  # pegcetacoplan
    "J0691": "CP.PMN.219",  # lefamulin (Xenleta)
    "J9229": "CP.PHAR.359",  # Besponsa (the bundled policy's own coding table)
}


@pytest.fixture(scope="module")
def corpus_kb(tmp_path_factory):
    if not (CORPUS / "centene").is_dir():
        pytest.skip("the corpus is not beside the checkout")
    knowledge = KnowledgeBase(tmp_path_factory.mktemp("hooks") / "kb.sqlite")
    knowledge.load([*bundled_policy_paths(), *sorted((CORPUS / "centene").glob("*.txt"))])
    yield knowledge
    knowledge.close()


def coverage_parts(response: dict[str, Any]) -> dict[str, list[Any]]:
    (action,) = response["systemActions"]
    (extension,) = [e for e in action["resource"]["extension"] if e["url"] == COVERAGE_INFORMATION]
    parts: dict[str, list[Any]] = {}
    for part in extension["extension"]:
        parts.setdefault(part["url"], []).append(next(v for k, v in part.items() if k.startswith("value")))
    return parts


KIT_REQUESTS = sorted(p.name for p in KIT.glob("*.json") if p.name != "pas-no-identifier-no-fullurl.json")


@pytest.mark.skipif(not KIT.is_dir(), reason=f"the conformance kit is not at {KIT}")
@pytest.mark.parametrize("name", KIT_REQUESTS)
def test_every_kit_request_gets_cards(corpus_kb, name):
    """CDS Hooks: cards are required; CRD: summary under 140 characters, source.label and topic."""
    body = json.loads((KIT / name).read_text())
    response = answer(corpus_kb, SELECT if body["hook"] == "order-select" else SIGN, body, TODAY)
    assert response["cards"]
    for card in response["cards"]:
        assert len(card["summary"]) < 140 and card["source"]["label"] and card["source"]["topic"]["code"]
        if response["systemActions"]:  # CRD 2.2 resp-25: no coverage-info card beside the systemAction
            assert card["source"]["topic"]["code"] != "coverage-info"


@pytest.mark.skipif(not KIT.is_dir(), reason=f"the conformance kit is not at {KIT}")
@pytest.mark.parametrize("name", ["cdshooks-spec-order-sign-r4.json", "cdshooks-spec-order-select-r4.json"])
def test_the_specification_examples_note_the_nutrition_order_and_read_the_stu3_dose(corpus_kb, name):
    body = json.loads((KIT / name).read_text())
    response = answer(corpus_kb, SELECT if "select" in name else SIGN, body, TODAY)
    detail = "\n".join(card["detail"] for card in response["cards"])
    assert "a NutritionOrder; this service evaluates MedicationRequest orders only" in detail
    if "sign" in name:  # amoxicillin's dose given as STU3 Dosage.doseQuantity
        assert "read as R4 Dosage.doseAndRate[0].doseQuantity" in detail


@pytest.mark.skipif(not KIT.is_dir(), reason=f"the conformance kit is not at {KIT}")
@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("v-rxnorm.json", "RxNorm 1942941 read as HCPCS J9229 through the payer's crosswalk"),
        (
            "v-text-only.json",
            "matched by name: the medication text names 'Inotuzumab Ozogamicin', a drug of CP.PHAR.359",
        ),
        ("v-contained-med.json", None),
        ("v-bundle-no-type.json", None),
        ("v-dose-stu3.json", "read as R4 Dosage.doseAndRate[0].doseQuantity"),
    ],
)
def test_besponsa_is_found_however_the_ehr_names_it(corpus_kb, name, said):
    response = answer(corpus_kb, SIGN, json.loads((KIT / name).read_text()), TODAY)
    (card,) = response["cards"]
    assert "CP.PHAR.359" in card["summary"]
    assert coverage_parts(response)["coverage"] == [{"reference": "Coverage/cov-1"}]
    if said:
        assert said in card["detail"]


@pytest.mark.skipif(not KIT.is_dir(), reason=f"the conformance kit is not at {KIT}")
@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("v-no-coverage.json", "the request names no Coverage of the member"),
        ("v-status-active.json", "the order's status is 'active', not a draft order"),
    ],
)
def test_an_order_held_back_gets_its_coverage_on_the_card(corpus_kb, name, why):
    response = answer(corpus_kb, SIGN, json.loads((KIT / name).read_text()), TODAY)
    (card,) = response["cards"]
    assert response["systemActions"] == [] and card["source"]["topic"]["code"] == "coverage-info"
    assert "CP.PHAR.359" in card["summary"] and why in card["detail"]


@pytest.mark.parametrize(("code", "policy"), sorted(TRUE_HCPCS.items()))
def test_orders_coded_by_corpus_hcpcs_name_their_policy(corpus_kb, code, policy):
    medication = {"coding": [{"system": HCPCS, "code": code}]}
    line = "HIM" if policy.startswith("HIM.") else "Commercial"  # HIM.PA.SP66 is a Marketplace (HIM) policy only
    response = answer(corpus_kb, SIGN, order_sign("2025-12-01", medication=medication, line=line), TODAY)
    (card,) = response["cards"]
    assert policy in card["summary"], card
    parts = coverage_parts(response)
    assert parts["coverage"] == [{"reference": "Coverage/coverage"}]
    assert any(reason["text"].startswith(policy) for reason in parts["reason"])


def test_a_pend_is_conditional_with_info_needed_and_an_approve_asks_no_documents(corpus_kb):
    parts = coverage_parts(answer(corpus_kb, SIGN, order_sign("2025-12-01"), TODAY))
    # CRD 2.2.1 crd-ci-q3: info-needed SHALL exist when covered is conditional
    assert parts["covered"] == ["conditional"] and parts["info-needed"] == ["OTH"]
    assert parts["doc-needed"] == ["clinical"] and parts["doc-purpose"] == ["withpa"]


def test_discovery_declares_the_crd_versions_and_options():
    for service in discovery("Callers are not authenticated.")["services"]:
        assert service["extension"]["davinci-crd.version"] == ["2.0", "2.2"]
        options = {o["code"]: o for o in service["extension"]["davinci-crd.configuration-options"]}
        assert options["coverage-info"]["type"] == "boolean" and options["max-cards"]["type"] == "integer"
        assert "not authenticated" in service["description"]


def test_coverage_info_off_puts_the_assertion_on_the_card(corpus_kb):
    body = order_sign("2025-12-01") | {"extension": {"davinci-crd.configuration": {"coverage-info": False}}}
    response = answer(corpus_kb, SIGN, body, TODAY)
    (card,) = response["cards"]
    assert response["systemActions"] == [] and card["source"]["topic"]["code"] == "coverage-info"
    assert "Added coverage information (CP.PHAR.359 V2025-11)" in card["detail"]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"hook": "order-sign", "hookInstance": "x", "context": {"patientId": "p"}}, "context.draftOrders"),
        (
            {"hook": "order-sign", "hookInstance": "x", "context": {"draftOrders": {"resourceType": "Bundle"}}},
            "holds no orders",
        ),
    ],
)
def test_only_an_unusable_request_is_refused(corpus_kb, body, named):
    with pytest.raises(HookError) as refused:
        answer(corpus_kb, SIGN, body, TODAY)
    assert named in refused.value.message and refused.value.status == 400


def test_the_crosswalk_example_reads(tmp_path):
    (pairing,) = read_crosswalk(DATA / "drug-crosswalk.csv").values()
    assert (pairing.system, pairing.code, pairing.hcpcs) == ("RxNorm", "1942941", "J9229") and pairing.source


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("system,code,hcpcs\nRxNorm,1,J9229\n", "line 1: expected the header system,code,hcpcs,name,source"),
        ("system,code,hcpcs,name,source\nSNOMED,1,J9229,x,y\n", "line 2: system: expected RxNorm or NDC"),
        ("system,code,hcpcs,name,source\nRxNorm,1,J9229,x,\n", "line 2: source: expected where the pairing"),
        ("system,code,hcpcs,name,source\nRxNorm,1,9229,x,y\n", "line 2: "),
        ("system,code,hcpcs,name,source\nRxNorm,1,J9229,x,y\nRxNorm,1,J9144,x,y\n", "RxNorm 1 is paired with J9229"),
    ],
)
def test_a_malformed_crosswalk_is_named_by_file_and_line(tmp_path, text, named):
    path = tmp_path / "crosswalk.csv"
    path.write_text(text)
    with pytest.raises(CrosswalkError) as refused:
        read_crosswalk(path)
    assert str(refused.value).startswith(str(path)) and named in str(refused.value)


def test_the_payers_crosswalk_replaces_the_example(corpus_kb, tmp_path, monkeypatch):
    """A payer's file pairing an RxNorm code (here a made-up one, 99) with Darzalex Faspro's J9144."""
    path = tmp_path / "payer.csv"
    path.write_text("system,code,hcpcs,name,source\nRxNorm,99,J9144,a test product,this test\n")
    monkeypatch.setenv(CROSSWALK_ENV, str(path))
    crosswalk.cache_clear()
    medication = {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "99"}]}
    response = answer(corpus_kb, SIGN, order_sign("2025-12-01", medication=medication), TODAY)
    assert "CP.PHAR.310" in response["cards"][0]["summary"]
    rxnorm = {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1942941"}]}
    response = answer(corpus_kb, SIGN, order_sign("2025-12-01", medication=rxnorm), TODAY)
    assert "No drug policy here covers RxNorm 1942941" in response["cards"][0]["summary"]


def test_a_line_of_business_the_policy_does_not_name_is_said_not_decided(corpus_kb):
    """HIM.PA.SP66 names HIM only: a Commercial member's order is not decided under it, and the card says why."""
    medication = {"coding": [{"system": HCPCS, "code": "J3031"}]}
    response = answer(corpus_kb, SIGN, order_sign("2025-12-01", medication=medication), TODAY)
    (card,) = response["cards"]
    assert response["systemActions"] == [] and "HIM.PA.SP66 cannot decide this order" in card["summary"]
    assert "HIM.PA.SP66 names HIM" in card["detail"]

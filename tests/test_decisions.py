"""Decisions in clinicians' words and codes, on CP.PHAR.359 and three corpus policies.

Every expected decision below is reasoned from the policy text (the reasoning is in the comment
beside it), never copied from the program's output. Each request is also decided through the
compiled rules, which must agree with the traced walk.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.concepts.facts import Request
from kb.decide.compiled import compile_rules
from kb.surfaces.api import KnowledgeBase, bundled_policy_paths

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "centene"
POLICIES = ("CP.PHAR.180_eltrombopag.txt", "CP.PHAR.271_peginterferon-beta-1a.txt", "CP.PHAR.524_pegcetacoplan.txt")


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    if not CORPUS.is_dir():
        pytest.skip("the corpus is not beside the checkout")
    knowledge = KnowledgeBase(tmp_path_factory.mktemp("decisions") / "kb.sqlite")
    knowledge.load([*bundled_policy_paths(), *(CORPUS / name for name in POLICIES)])
    yield knowledge
    knowledge.close()


def decide(kb: KnowledgeBase, policy: str, day: str, facts: dict, request_type: str = "initial", **options):
    request = Request.from_json(
        {"policy": policy, "date_of_service": day, "request_type": request_type, "facts": facts, "request_id": "t"}
    )
    decision = kb.evaluate(request, **options)
    if not options:
        compiled = compile_rules(kb.rules(policy, day))[request_type](request.values, request.date_of_service)
        assert compiled == decision.decision, f"compiled {compiled}, traced {decision.decision}"
    return decision


def code(system: str, value: str) -> dict:
    return {"system": system, "code": value}


# --- CP.PHAR.359 V2025-11 (in force 2025-12-01) ----------------------------------------------
BESPONSA = {
    "line_of_business": "HIM",
    "age_years": 30,
    "cd22_positive": True,
    "ph_status": "positive",
    "disease_status": "newly diagnosed",
    "line_of_therapy": ["first-line"],
    "cycles_requested": 2,
    "cycles_received": 0,
    "dose": [{"value": 1.8, "unit": "mg/m2", "per": "cycle"}, {"value": 0.8, "unit": "mg/m2", "per": "dose"}],
    "regimen_fda_or_nccn": True,
    "consulting_specialties": [],
}


def test_359_words_and_codes_clinicians_use_approve(kb):
    # I.A.1 "B-cell ALL": "B-cell precursor ALL" is the heading's own name; I.A.2 "oncologist or
    # hematologist": a hematologist-oncologist is both; I.A.5.b "frontline therapy, age >= 18":
    # first-line is frontline and the member is 30. Everything else is met: approve.
    facts = {**BESPONSA, "diagnosis": "B-cell precursor ALL", "prescriber_specialty": "hematology/oncology"}
    assert decide(kb, "CP.PHAR.359", "2025-12-01", facts).decision == "approve"
    # NUCC 2080P0207X is Pediatric Hematology-Oncology: an oncologist and a hematologist.
    coded = {**facts, "prescriber_specialty": code("NUCC", "2080P0207X")}
    assert decide(kb, "CP.PHAR.359", "2025-12-01", coded).decision == "approve"
    # "in consultation with": a family physician who consulted a hematologist meets I.A.2.
    consulted = {**facts, "prescriber_specialty": "family physician", "consulting_specialties": ["hematologist"]}
    assert decide(kb, "CP.PHAR.359", "2025-12-01", consulted).decision == "approve"


def test_359_a_met_item_asks_for_nothing(kb):
    # I.A.2 is met by the prescriber alone; the consulting specialty it did not need is not asked for.
    facts = {**BESPONSA, "diagnosis": "B-cell ALL", "prescriber_specialty": "hematologist"}
    del facts["consulting_specialties"]
    decision = decide(kb, "CP.PHAR.359", "2025-12-01", facts)
    (item,) = [entry for entry in decision.criteria if entry["item"] == "I.A.2"]
    assert item["result"] == "met" and item["needs"] == []


def test_359_a_broader_code_asks_what_would_settle_it(kb):
    # ICD-10-CM C91.00 is ALL of no named lineage: it may or may not be B-cell ALL (I.A.1), so the
    # request pends, asking about the lineage, never denied.
    facts = {**BESPONSA, "diagnosis": code("ICD-10-CM", "C91.00"), "prescriber_specialty": "oncologist"}
    decision = decide(kb, "CP.PHAR.359", "2025-12-01", facts)
    assert decision.decision == "pend"
    assert any(need.startswith("diagnosis: ") and "B-cell" in need for need in decision.needed)


def test_359_an_unrecognised_phrase_pends_naming_it(kb):
    facts = {**BESPONSA, "diagnosis": "leukemia of the blasty kind", "prescriber_specialty": "oncologist"}
    decision = decide(kb, "CP.PHAR.359", "2025-12-01", facts)
    assert decision.decision == "pend" and "leukemia of the blasty kind" in " ".join(decision.needed)


def test_359_another_diagnosis_is_referred_for_the_line_of_business(kb):
    # C92.00 is acute myeloblastic leukemia, not ALL: I.A fails on the diagnosis alone, so the
    # "Other diagnoses" set applies: no recent label change -> the off-label policy, HIM.PA.154 for HIM.
    facts = {**BESPONSA, "diagnosis": code("ICD-10-CM", "C92.00"), "prescriber_specialty": "oncologist"}
    decision = decide(kb, "CP.PHAR.359", "2025-12-01", {**facts, "recent_label_change": False})
    assert decision.decision == "refer"
    assert [(r["policy"], r["line_of_business"]) for r in decision.referral] == [("HIM.PA.154", "HIM")]


def test_359_a_denial_names_only_what_decided_it(kb):
    # A relapsed 6-month-old: I.A.3 "Age >= 1 year" fails; I.A.5 is met by "relapsed" (option a),
    # so its option b (frontline, age >= 18) decided nothing and is not named.
    facts = {**BESPONSA, "age_years": 0.5, "disease_status": "relapsed", "diagnosis": "B-cell ALL"}
    decision = decide(kb, "CP.PHAR.359", "2025-12-01", {**facts, "prescriber_specialty": "oncologist"})
    assert decision.decision == "deny"
    assert len(decision.reasons) == 1 and decision.reasons[0].startswith("I.A.3 Age ≥ 1 year")


def test_359_a_failed_footnote_is_named(kb):
    # I.A.7's footnote: the regimen must be FDA-approved or recommended by NCCN.
    facts = {**BESPONSA, "diagnosis": "B-cell ALL", "prescriber_specialty": "oncologist", "regimen_fda_or_nccn": False}
    decision = decide(kb, "CP.PHAR.359", "2025-12-01", facts)
    assert decision.decision == "deny"
    assert any("footnote" in reason and "NCCN" in reason for reason in decision.reasons)


def test_359_continuation_under_the_cycle_cap(kb):
    # II.A: 3 of the 6 cycles received, responding: approve, for the 3 cycles that remain, not 4.
    facts = {
        "line_of_business": "HIM",
        "receiving_via_plan_benefit": True,
        "response_to_therapy": "positive",
        "dose_increase": False,
        "cycles_received": 3,
        "cycles_requested": 4,
    }
    decision = decide(kb, "CP.PHAR.359", "2025-12-01", facts, "continuation")
    assert decision.decision == "approve"
    assert (decision.duration["cycles_remaining"], decision.duration["cycles_approved"]) == (3, 3)


def test_359_rule_dependent_date_shows_both_decisions(kb):
    # 2025-08-01 lies between the 4Q 2025 review's Date (07.15.25) and its P&T month (11.25): the
    # stored rule applies V2024-11 (no frontline option: a newly diagnosed Ph-positive adult is
    # denied); under the revision-date rule V2025-11 applies and approves him (I.A.5.b).
    facts = {**BESPONSA, "diagnosis": "B-cell ALL", "prescriber_specialty": "oncologist"}
    decision = decide(kb, "CP.PHAR.359", "2025-08-01", facts)
    assert decision.decision == "deny"
    assert [(o["version"], o["decision"], o["differs"]) for o in decision.other_rule] == [("V2025-11", "approve", True)]


def test_359_an_as_of_override_is_stated(kb):
    facts = {**BESPONSA, "diagnosis": "B-cell ALL", "prescriber_specialty": "oncologist"}
    decision = decide(kb, "CP.PHAR.359", "2025-12-01", facts, when="2025-12-15")
    assert decision.evaluated_as_of == "2025-12-15" and "--as-of" in decision.reasons[0]


# --- CP.PHAR.180 eltrombopag (LRD 02.25) ------------------------------------------------------
ITP = {
    "line_of_business": "Commercial",
    "diagnosis": "chronic ITP",
    "prescriber_specialty": "hematologist",
    "requested_drug": "Promacta",
    "age_years": 30,
    "platelet_count": {"value": 20000, "unit": "/uL", "date": "2025-05-20"},
    "active_bleed": False,
    "drugs_failed": ["prednisone"],
    "drugs_not_tolerated": [],
    "drugs_contraindicated": [],
    "concurrent_drugs": [],
    "dose": [{"value": 1, "unit": "tablet", "per": "1 day"}, {"value": 50, "unit": "mg", "per": "1 day"}],
}


def test_180_approve_pend_deny_refer(kb):
    # I.A: chronic ITP, hematologist, Promacta at 30 (>= 1), platelets 20,000/uL 12 days before
    # (< 30,000 within 30 days), prednisone (a systemic corticosteroid) failed, nothing concurrent,
    # 1 tablet and 50 mg a day (<= 75 mg for Promacta): approve for 6 months.
    approved = decide(kb, "CP.PHAR.180", "2025-06-01", ITP)
    assert approved.decision == "approve" and approved.duration["end_date"] == "2025-12-01"
    # D69.3 is ITP of no named phase: persistent or chronic (I.A.1) cannot be told: pend, asking.
    coded = decide(kb, "CP.PHAR.180", "2025-06-01", {**ITP, "diagnosis": code("ICD-10-CM", "D69.3")})
    assert coded.decision == "pend" and any(n.startswith("diagnosis: ") for n in coded.needed)
    # Platelets 45,000/uL and no active bleed: I.A.4 (one of a or b) fails, and only it is named.
    denied = decide(
        kb,
        "CP.PHAR.180",
        "2025-06-01",
        {**ITP, "platelet_count": {"value": 45000, "unit": "/uL", "date": "2025-05-20"}},
    )
    assert denied.decision == "deny" and [r.split(" ")[0] for r in denied.reasons] == ["I.A.4"]
    # A platelet count 3 months old does not say what the current one is: pend, asking for one.
    stale = decide(
        kb,
        "CP.PHAR.180",
        "2025-06-01",
        {**ITP, "platelet_count": {"value": 20000, "unit": "/uL", "date": "2025-02-20"}},
    )
    assert stale.decision == "pend" and any(n.startswith("platelet_count: ") for n in stale.needed)
    # Multiple myeloma is none of I.A-I.D's diagnoses: refer.
    referred = decide(kb, "CP.PHAR.180", "2025-06-01", {**ITP, "diagnosis": "multiple myeloma"})
    assert referred.decision == "refer"


# --- CP.PHAR.271 peginterferon beta-1a (LRD 05.25) --------------------------------------------
MS = {
    "line_of_business": "Medicaid",
    "diagnosis": code("ICD-10-CM", "G35.A"),
    "prescriber_specialty": code("NUCC", "2084N0400X"),
    "age_years": 40,
    "concurrent_drugs": [],
    "dose": [{"value": 125, "unit": "mcg", "per": "14 days"}, {"value": 1, "unit": "pen", "per": "14 days"}],
}


def test_271_approve_pend_deny_refer(kb):
    # I.A: G35.A is relapsing-remitting MS (I.A.1.b), 2084N0400X a neurologist (I.A.2), 40 >= 18,
    # no other disease-modifying therapy, 125 mcg and 1 pen every 14 days (I.A.5 a and b): approve.
    approved = decide(kb, "CP.PHAR.271", "2025-08-01", MS)
    assert approved.decision == "approve" and approved.duration["text"] == "6 months"
    # G35.D is MS, unspecified: it may be RRMS or SPMS, or neither: pend, asking.
    assert decide(kb, "CP.PHAR.271", "2025-08-01", {**MS, "diagnosis": code("ICD-10-CM", "G35.D")}).decision == "pend"
    # Age 16: I.A.3 "Age >= 18 years" fails.
    denied = decide(kb, "CP.PHAR.271", "2025-08-01", {**MS, "age_years": 16})
    assert denied.decision == "deny" and denied.reasons[0].startswith("I.A.3 ")
    # Primary progressive MS (G35.B1) is none of CIS, RRMS, SPMS: refer (no recent label change:
    # the off-label policy for Medicaid, CP.PMN.53).
    referred = decide(
        kb, "CP.PHAR.271", "2025-08-01", {**MS, "diagnosis": code("ICD-10-CM", "G35.B1"), "recent_label_change": False}
    )
    assert referred.decision == "refer" and [r["policy"] for r in referred.referral] == ["CP.PMN.53"]


# --- CP.PHAR.524 pegcetacoplan (LRD 08.25) ----------------------------------------------------
PNH = {
    "line_of_business": "HIM",
    "diagnosis": code("ICD-10-CM", "D59.5"),
    "requested_drug": "Empaveli",
    "prescriber_specialty": "hematologist",
    "age_years": 40,
    "gpi_deficient_clones": True,
    "hemoglobin": {"value": 95, "unit": "g/L"},
    "concurrent_drugs": [],
    "dose": {"value": 2160, "unit": "mg", "per": "1 week"},
}


def test_524_approve_pend_deny_refer(kb):
    # I.A: PNH (D59.5), Empaveli, hematologist, 40 >= 18, GPI-deficient clones, hemoglobin 95 g/L
    # = 9.5 g/dL < 10.5, nothing concurrent, 2,160 mg a week: approve.
    assert decide(kb, "CP.PHAR.524", "2025-10-01", PNH).decision == "approve"
    # "pegcetacoplan" names both Empaveli and Syfovre: which one settles I.A.2: pend.
    ingredient = decide(kb, "CP.PHAR.524", "2025-10-01", {**PNH, "requested_drug": "pegcetacoplan"})
    assert ingredient.decision == "pend" and any(n.startswith("requested_drug: ") for n in ingredient.needed)
    # Hemoglobin 11.2 g/dL: I.A.6 "< 10.5 g/dL" fails.
    denied = decide(kb, "CP.PHAR.524", "2025-10-01", {**PNH, "hemoglobin": 11.2})
    assert denied.decision == "deny" and denied.reasons[0].startswith("I.A.6 ")
    # Asthma is neither PNH nor GA: refer.
    assert decide(kb, "CP.PHAR.524", "2025-10-01", {**PNH, "diagnosis": "asthma"}).decision == "refer"


def test_the_facts_a_version_reads_with_their_code_systems(kb):
    # CP.PHAR.271 I.A reads the diagnosis (ICD-10-CM), the prescriber's specialty and consulting
    # specialists (NUCC), age, concurrent drugs and the dose; II.A reads the continuation facts.
    initial = kb.facts_read("CP.PHAR.271", "2025-08-01", "initial")
    assert {
        "diagnosis",
        "prescriber_specialty",
        "consulting_specialties",
        "age_years",
        "concurrent_drugs",
        "dose",
    } <= set(initial)
    assert initial["diagnosis"]["code_systems"] == ["ICD-10-CM"] and initial["prescriber_specialty"][
        "code_systems"
    ] == ["NUCC"]
    assert "response_to_therapy" in kb.facts_read("CP.PHAR.271", "2025-08-01", "continuation")

"""Decision scenarios on CP.PHAR.180, CP.PHAR.310, CP.PHAR.573 and CP.PMN.219, written from the texts.

Each expected decision is reasoned from the policy text (quoted or paraphrased in the comment),
never copied from the program's output; each request is also decided through the compiled
rules, which must agree. The first three groups hold the scenarios issue #29 found decided
wrongly: a Cabenuva (or Apretude) start pended on its dose item, a Darzalex Faspro request after
2 prior lines pended on the maintenance option, a lefamulin continuation approved past the
course's 7 days.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kb.concepts.facts import Request
from kb.decide.compiled import compile_rules
from kb.surfaces.api import KnowledgeBase

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "centene"
POLICIES = ("CP.PHAR.180", "CP.PHAR.310", "CP.PHAR.573", "CP.PMN.219")


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    if not CORPUS.is_dir():
        pytest.skip("the corpus is not beside the checkout")
    knowledge = KnowledgeBase(tmp_path_factory.mktemp("scenarios") / "kb.sqlite")
    knowledge.load([next(CORPUS.glob(f"{policy}_*.txt")) for policy in POLICIES])
    yield knowledge
    knowledge.close()


def decide(kb: KnowledgeBase, policy: str, day: str, facts: dict[str, Any], request_type: str = "initial"):
    request = Request.from_json(
        {"policy": policy, "date_of_service": day, "request_type": request_type, "facts": facts, "request_id": "s"}
    )
    decision = kb.evaluate(request)
    compiled = compile_rules(kb.rules(policy, day))[request_type](request.values, request.date_of_service)
    assert compiled == decision.decision, f"compiled {compiled}, traced {decision.decision}"
    return decision


def dose(value: float, per: str, unit: str = "mg", **more: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "per": per, **more}


# --- CP.PHAR.573 cabotegravir (Apretude), cabotegravir/rilpivirine (Cabenuva) -------------------
CABENUVA = {
    "line_of_business": "Medicaid",
    "state": "TX",
    "requested_drug": "Cabenuva",
    "diagnosis": "HIV-1 infection",
    "prescriber_specialty": "infectious disease specialist",
    "age_years": 34,
    "weight_kg": 72,
    "arv_adherence_months": 8,
    "hiv_rna": 20,
    "viral_suppression_months": 8,
    "hiv_treatment_failure_history": False,
    "cabotegravir_rilpivirine_resistance": False,
    # I.A.10.b, the every 2-month schedule: 600 mg cabotegravir and 900 mg rilpivirine 1 month apart for 2
    # months, then the same kit every 2 months
    "dose": [
        dose(600, "1 month", of="cabotegravir", phase="initiation"),
        dose(900, "1 month", of="rilpivirine", phase="initiation"),
        dose(600, "2 months", of="cabotegravir", phase="maintenance"),
        dose(900, "2 months", of="rilpivirine", phase="maintenance"),
    ],
}
APRETUDE = {
    "line_of_business": "HIM",
    "state": "TX",
    "requested_drug": "Apretude",
    "hiv_negative_without_acute_signs": True,
    "sex_with_hiv_positive_partner": True,
    "weight_kg": 61,
    "dose": [dose(600, "1 month", phase="initiation"), dose(600, "2 months", phase="maintenance")],
}


def test_a_cabenuva_start_that_meets_every_criterion_is_approved(kb):
    # I.A.1-9 met, the every 2-month schedule of I.A.10.b: approve; "Medicaid/HIM - 6 months"
    approved = decide(kb, "CP.PHAR.573", "2025-10-01", CABENUVA)
    assert approved.decision == "approve" and approved.duration["end_date"] == "2026-04-01"
    # the monthly schedule of I.A.10.a: 600/900 mg initiation dose, then 400/600 mg every month
    monthly = [
        dose(600, "dose", of="cabotegravir", phase="initiation"),
        dose(900, "dose", of="rilpivirine", phase="initiation"),
        dose(400, "1 month", of="cabotegravir", phase="maintenance"),
        dose(600, "1 month", of="rilpivirine", phase="maintenance"),
    ]
    assert decide(kb, "CP.PHAR.573", "2025-10-01", {**CABENUVA, "dose": monthly}).decision == "approve"


def test_a_cabenuva_kit_every_month_at_the_initiation_strength_is_denied(kb):
    # 600 mg cabotegravir and 900 mg rilpivirine every month in maintenance is neither schedule of I.A.10
    # (a: 400/600 mg every month; b: 600/900 mg every 2 months): I.A.10 fails; I.B (Apretude) fails on I.B.1
    monthly_600 = [
        dose(600, "1 month", of="cabotegravir", phase="maintenance"),
        dose(900, "1 month", of="rilpivirine", phase="maintenance"),
    ]
    denied = decide(kb, "CP.PHAR.573", "2025-10-01", {**CABENUVA, "dose": monthly_600})
    assert denied.decision == "deny" and [r.split(" ")[0] for r in denied.reasons] == ["I.A.10", "I.B.1"]


def test_an_apretude_start_is_approved_for_7_injections_and_a_monthly_maintenance_is_denied(kb):
    # I.B.1-4 met; I.B.5: 600 mg a month for 2 months, then 600 mg every 2 months: approve, "12 months (7 injections)"
    approved = decide(kb, "CP.PHAR.573", "2025-10-01", APRETUDE)
    assert approved.decision == "approve"
    assert approved.duration["end_date"] == "2026-10-01" and approved.duration["injections_approved"] == 7
    # 600 mg every month in maintenance exceeds "single 600 mg intramuscular injection given every 2 months";
    # I.A (Cabenuva) fails on I.A.1
    monthly = [dose(600, "1 month", phase="initiation"), dose(600, "1 month", phase="maintenance")]
    denied = decide(kb, "CP.PHAR.573", "2025-10-01", {**APRETUDE, "dose": monthly})
    assert denied.decision == "deny" and [r.split(" ")[0] for r in denied.reasons] == ["I.A.1", "I.B.5"]


def test_a_nevada_member_is_left_to_review(kb):
    # "*For members in Nevada, medical management techniques, including quantity management, beyond step
    # therapy is not allowed": which criteria still hold for a Nevada member is a reviewer's reading
    pended = decide(kb, "CP.PHAR.573", "2025-10-01", {**APRETUDE, "state": "NV"})
    assert pended.decision == "pend" and any(n.startswith("clinical review") for n in pended.needed)


# --- CP.PHAR.310 daratumumab (Darzalex), daratumumab/hyaluronidase (Darzalex Faspro) -------------
MYELOMA = {
    "line_of_business": "Medicaid",
    "requested_drug": "Darzalex Faspro",
    "diagnosis": "multiple myeloma",
    "prescriber_specialty": "oncologist",
    "age_years": 67,
    "dose_within_section_v_maximum": True,
    "regimen_fda_or_nccn": True,
}


def test_darzalex_faspro_alone_after_2_prior_lines_is_denied(kb):
    # I.A.4: a (primary therapy) is not the request (a later line); b.i and b.ii need dexamethasone and another
    # drug; b.iii (monotherapy) needs >= 3 prior lines or double-refractory disease; c is maintenance therapy,
    # and the request is subsequent therapy: none of a, b, c: deny on I.A.4
    facts = {
        **MYELOMA,
        "line_of_therapy": ["subsequent"],
        "prior_lines_of_therapy": 2,
        "single_agent": True,
        "concurrent_drugs": [],
        "drugs_received": ["lenalidomide", "bortezomib"],
        "double_refractory_pi_imid": False,
    }
    denied = decide(kb, "CP.PHAR.310", "2025-10-01", facts)
    assert denied.decision == "deny" and [r.split(" ")[0] for r in denied.reasons] == ["I.A.4"]


def test_darzalex_faspro_maintenance_for_a_transplant_candidate_is_approved(kb):
    # I.A.4.c "Maintenance therapy for symptomatic MM as a single agent ... for transplant candidates":
    # approve, "Approval duration: 6 months"
    facts = {**MYELOMA, "line_of_therapy": ["maintenance"], "single_agent": True, "asct_eligible": True}
    approved = decide(kb, "CP.PHAR.310", "2025-10-01", facts)
    assert approved.decision == "approve" and approved.duration["end_date"] == "2026-04-01"
    # a single agent for a member who is not a transplant candidate: whether "for transplant candidates" binds
    # the single-agent option too is the text's doubt: review
    pended = decide(kb, "CP.PHAR.310", "2025-10-01", {**facts, "asct_eligible": False})
    assert pended.decision == "pend" and any("transplant candidates" in n for n in pended.needed)
    # with lenalidomide, for a non-candidate: not maintenance "for transplant candidates" on either reading
    # (nor a, nor b, which ask for dexamethasone): deny on I.A.4
    lenalidomide = {**facts, "asct_eligible": False, "single_agent": False, "concurrent_drugs": ["lenalidomide"]}
    assert decide(kb, "CP.PHAR.310", "2025-10-01", lenalidomide).decision == "deny"


T_ALL = {
    "line_of_business": "Medicaid",
    "requested_drug": "Darzalex",
    "diagnosis": "T-cell acute lymphoblastic leukemia",
    "prescriber_specialty": "hematologist",
    "disease_status": "relapsed",
    "single_agent": False,
    "concurrent_drugs": ["vincristine", "pegaspargase", "doxorubicin", "prednisone"],
    "dose": [dose(16, "dose", "mg/kg"), dose(16, "1 week", "mg/kg")],
    "supporting_evidence_submitted": False,
    "regimen_fda_or_nccn": True,
}


def test_t_all_with_the_regimen_the_policy_names_is_approved_and_daratumumab_alone_is_denied(kb):
    # I.C.4 names the regimen (daratumumab, vincristine, pegaspargase or calaspargase, doxorubicin, and prednisone
    # or dexamethasone); I.C.5: 16 mg/kg weekly is Darzalex's regimen in section V: approve for 6 months
    approved = decide(kb, "CP.PHAR.310", "2025-10-01", T_ALL)
    assert approved.decision == "approve" and approved.duration["end_date"] == "2026-04-01"
    # daratumumab alone is not "part of a daratumumab containing regimen": deny on I.C.4
    alone = {**T_ALL, "single_agent": True, "concurrent_drugs": []}
    denied = decide(kb, "CP.PHAR.310", "2025-10-01", alone)
    assert denied.decision == "deny" and [r.split(" ")[0] for r in denied.reasons] == ["I.C.4"]
    # 20 mg/kg a week is over section V's 16 mg/kg and no literature was submitted: deny on I.C.5
    over = {**T_ALL, "dose": [dose(20, "dose", "mg/kg"), dose(20, "1 week", "mg/kg")]}
    denied = decide(kb, "CP.PHAR.310", "2025-10-01", over)
    assert denied.decision == "deny" and [r.split(" ")[0] for r in denied.reasons] == ["I.C.5"]


# --- CP.PMN.219 lefamulin (Xenleta) --------------------------------------------------------------
PNEUMONIA = {
    "line_of_business": "Medicaid",
    "diagnosis": "community-acquired bacterial pneumonia",
    "age_years": 58,
}


def test_a_lefamulin_continuation_approves_what_remains_of_the_7_day_course(kb):
    # II.A met after 3 days; "Approval duration: Up to 7 days of total treatment": 4 more days, to 2025-10-05
    facts = {
        **PNEUMONIA,
        "receiving_via_plan_benefit": True,
        "response_to_therapy": "positive",
        "days_on_therapy": 3,
        "dose_increase": False,
    }
    approved = decide(kb, "CP.PMN.219", "2025-10-01", facts, "continuation")
    assert approved.decision == "approve"
    assert approved.duration["days_approved"] == 4 and approved.duration["end_date"] == "2025-10-05"
    # after 7 days, II.A.3 "Member has not received >= 7 days of therapy" fails: deny
    denied = decide(kb, "CP.PMN.219", "2025-10-01", {**facts, "days_on_therapy": 7}, "continuation")
    assert denied.decision == "deny" and [r.split(" ")[0] for r in denied.reasons] == ["II.A.3"]


def test_a_lefamulin_start_approves_the_course_requested_or_what_remains_of_7_days(kb):
    # I.A.3.a (continuation of therapy started in hospital), 1,200 mg a day by mouth; "Duration of request or
    # up to 7 days of total treatment, whichever is less"
    facts = {**PNEUMONIA, "continuation_from_hospital": True, "dose": dose(1200, "1 day"), "days_on_therapy": 2}
    # 10 days asked, 2 received in hospital: 5 remain of 7, the lesser: to 2025-10-06
    longer = decide(kb, "CP.PMN.219", "2025-10-01", {**facts, "course_days_requested": 10})
    assert longer.decision == "approve" and longer.duration["end_date"] == "2025-10-06"
    # 3 days asked: 3, the lesser: to 2025-10-04
    shorter = decide(kb, "CP.PMN.219", "2025-10-01", {**facts, "course_days_requested": 3})
    assert shorter.decision == "approve" and shorter.duration["end_date"] == "2025-10-04"
    # the request does not say how long a course it asks for: pend, naming the fact
    unsaid = decide(kb, "CP.PMN.219", "2025-10-01", facts)
    assert unsaid.decision == "pend" and unsaid.needed == ["course_days_requested"]
    # 7 days already received: nothing remains of the course: deny
    spent = decide(kb, "CP.PMN.219", "2025-10-01", {**facts, "days_on_therapy": 7, "course_days_requested": 5})
    assert spent.decision == "deny"
    # 1,300 mg a day exceeds I.A.4.a (1,200 mg PO) and I.A.4.b (300 mg IV): deny on I.A.4
    over = decide(kb, "CP.PMN.219", "2025-10-01", {**facts, "course_days_requested": 5, "dose": dose(1300, "1 day")})
    assert over.decision == "deny" and [r.split(" ")[0] for r in over.reasons] == ["I.A.4"]


# --- CP.PHAR.180 eltrombopag (Promacta, Alvaiz) --------------------------------------------------
MDS = {
    "line_of_business": "Medicaid",
    "requested_drug": "Promacta",
    "diagnosis": "lower-risk MDS",
    "prescriber_specialty": "hematologist",
    "thrombocytopenia": True,
    "concurrent_drugs": [],
    "regimen_fda_or_nccn": True,
    "supporting_evidence_submitted": False,
}


def test_an_off_label_dose_is_held_to_the_section_v_maximum(kb):
    # I.D: MDS, hematologist, lower-risk, severe thrombocytopenia (I.D.4.a), nothing concurrent; I.D.6 "within FDA
    # maximum limit for any FDA-approved indication": Promacta's highest in section V is 150 mg/day: approve
    facts = {**MDS, "severe_thrombocytopenia": True, "dose": dose(150, "1 day")}
    approved = decide(kb, "CP.PHAR.180", "2025-06-01", facts)
    assert approved.decision == "approve" and approved.duration["end_date"] == "2025-12-01"
    # 200 mg a day, no literature submitted: deny on I.D.6
    over = decide(kb, "CP.PHAR.180", "2025-06-01", {**facts, "dose": dose(200, "1 day")})
    assert over.decision == "deny" and [r.split(" ")[0] for r in over.reasons] == ["I.D.6"]
    # 200 mg a day with literature submitted: whether it supports the dose is a reviewer's judgement: pend
    argued = decide(
        kb, "CP.PHAR.180", "2025-06-01", {**facts, "dose": dose(200, "1 day"), "supporting_evidence_submitted": True}
    )
    assert argued.decision == "pend" and any(n.startswith("clinical review") for n in argued.needed)

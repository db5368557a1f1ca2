"""Every dose criterion of the corpus and the bundled policy decided at, under and over its limit.

Each row is written from the criterion's text (quoted in the comment): the dose a request at
the limit states, in the text's own units and intervals (per eye, per kit component, per phase
of a schedule, per dose and per week for the section V maxima), and the other facts the item
asks beside the dose. Under is every amount halved, over every amount a quarter higher. An item
is evaluated as the evaluator walks it (its sub-items, its footnote, "If X, Y" by where it
stands), through the stored predicates of the newest version.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kb.concepts.facts import Request
from kb.decide.evaluate import Evaluation
from kb.decide.ruleset import Node
from kb.surfaces.api import KnowledgeBase, bundled_policy_paths

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "centene"
DAY = "2025-12-01"


def mg(value: float, per: str, unit: str = "mg", **more: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "per": per, **more}


MONTHLY_CABENUVA = [
    mg(600, "dose", of="cabotegravir", phase="initiation"),
    mg(900, "dose", of="rilpivirine", phase="initiation"),
    mg(400, "1 month", of="cabotegravir", phase="maintenance"),
    mg(600, "1 month", of="rilpivirine", phase="maintenance"),
]
EVERY_2_MONTHS_CABENUVA = [
    mg(600, "1 month", of="cabotegravir", phase="initiation"),
    mg(900, "1 month", of="rilpivirine", phase="initiation"),
    mg(600, "2 months", of="cabotegravir", phase="maintenance"),
    mg(900, "2 months", of="rilpivirine", phase="maintenance"),
]
NO_EVIDENCE = {"supporting_evidence_submitted": False, "regimen_fda_or_nccn": True}
OVER_IS_REVIEW = (True, True, None)
LIMITS: list[tuple[str, str, str, list[dict[str, Any]], dict[str, Any], tuple[Any, Any, Any]]] = [
    # "Dose does not exceed 1 tablet per day and one of the following: a. For Promacta: 75 mg per day"
    ("CP.PHAR.180", "I.A.7", "dose", [mg(75, "1 day"), mg(1, "1 day", "tablet")], {"requested_drug": "Promacta"}, ()),
    # "... 2 tablets per day and ... b. For Alvaiz: 72 mg per day"
    ("CP.PHAR.180", "I.B.8", "dose", [mg(72, "1 day"), mg(2, "1 day", "tablets")], {"requested_drug": "Alvaiz"}, ()),
    # "... 2 tablets per day and ... a. For Promacta: 150 mg per day"
    ("CP.PHAR.180", "I.C.7", "dose", [mg(150, "1 day"), mg(2, "1 day", "tablets")], {"requested_drug": "Promacta"}, ()),
    # "Dose is within FDA maximum limit for any FDA-approved indication": section V, Promacta 150 mg/day
    ("CP.PHAR.180", "I.D.6", "dose", [mg(150, "1 day")], {"requested_drug": "Promacta", **NO_EVIDENCE}, ()),
    # the same, Alvaiz: section V's highest maximum is 108 mg/day
    ("CP.PHAR.180", "II.B.4", "dose", [mg(108, "1 day")], {"requested_drug": "Alvaiz", **NO_EVIDENCE}, ()),
    # "If request is for a dose increase, new dose does not exceed ... c. For severe aplastic anemia: 2 tablets per
    # day and either ... ii. For Alvaiz: 108 mg per day" (the diagnosis picks c)
    (
        "CP.PHAR.180",
        "II.A.7",
        "dose",
        [mg(108, "1 day"), mg(2, "1 day", "tablets")],
        {"requested_drug": "Alvaiz", "dose_increase": True, "diagnosis": "severe aplastic anemia"},
        (),
    ),
    # "Dose does not exceed 3 mg/kg once every 4 weeks."
    ("CP.PHAR.223", "I.A.8", "dose", [mg(3, "4 weeks", "mg/kg")], {}, ()),
    # "125 mcg every 14 days," / "1 pen or syringe every 14 days." (one of)
    ("CP.PHAR.271", "I.A.5.a", "dose", [mg(125, "14 days", "mcg")], {}, ()),
    ("CP.PHAR.271", "I.A.5.b", "dose", [mg(1, "14 days", "pen")], {}, ()),
    # section V of CP.PHAR.310: Darzalex Faspro 1,800 mg SC, weekly at most
    (
        "CP.PHAR.310",
        "I.B.5",
        "dose",
        [mg(1800, "dose"), mg(1800, "1 week")],
        {"requested_drug": "Darzalex Faspro", **NO_EVIDENCE},
        (),
    ),
    # section V: Darzalex 16 mg/kg IV, weekly at most
    (
        "CP.PHAR.310",
        "I.C.5",
        "dose",
        [mg(16, "dose", "mg/kg"), mg(16, "1 week", "mg/kg")],
        {"requested_drug": "Darzalex", **NO_EVIDENCE},
        (),
    ),
    # "Dose does not exceed 1.8 mg/m² per cycle (0.8 mg/m² on Day 1 and 0.5 mg/m² on Days 8 and 15)"
    ("CP.PHAR.359", "I.A.7.a", "dose", [mg(1.8, "cycle", "mg/m2"), mg(0.8, "dose", "mg/m2")], {}, ()),
    # "Dose does not exceed 2 mg per day."
    ("CP.PHAR.427", "I.A.6", "dose", [mg(2, "1 day")], {}, ()),
    # "Dose does not exceed 2,160 mg per week or 1,080 mg every 3 days ... with ... LDH > 2 times the ULN"
    ("CP.PHAR.524", "I.A.8", "dose", [mg(2160, "1 week")], {}, ()),
    # "Dose does not exceed 15 mg (0.1 mL of 150 mg/mL solution) in each affected eye every 25 days."
    ("CP.PHAR.524", "I.B.9", "dose_per_eye", [mg(15, "25 days")], {}, ()),
    ("CP.PHAR.524", "II.B.5", "dose_per_eye", [mg(15, "25 days")], {"dose_increase": True}, ()),
    # "Dose does not exceed 0.2 mg/kg per day for up to 6 weeks," (a 6-week course asked)
    ("CP.PHAR.554", "I.A.7.a.i", "dose", [mg(0.2, "1 day", "mg/kg")], {"course_days_requested": 42}, ()),
    # "Dose does not exceed 0.1 mg/kg per day after 6 weeks," (0.2 in the first 6 weeks by i)
    (
        "CP.PHAR.554",
        "I.A.7.a.ii",
        "dose",
        [mg(0.2, "1 day", "mg/kg", phase="initiation"), mg(0.1, "1 day", "mg/kg", phase="maintenance")],
        {},
        (),
    ),
    # "Intermittent dosing (CLL/SLL) ...: Dose does not exceed a 0.4 mg/kg initial dose or dose increases of
    # 0.1 mg/kg until response/toxicity is observed": above 0.4 may be a titration step: review
    ("CP.PHAR.554", "I.A.7.b", "dose", [mg(0.4, "dose", "mg/kg")], {"diagnosis": "CLL/SLL"}, OVER_IS_REVIEW),
    # "If member has received ≤ 6 weeks of therapy ...: New dose does not exceed 0.2 mg/kg per day ..."
    ("CP.PHAR.554", "II.A.4.a.i", "dose", [mg(0.2, "1 day", "mg/kg")], {"days_on_therapy": 20}, ()),
    # "Monthly schedule: 600 mg cabotegravir and 900 mg rilpivirine (1 kit of 2 vials) initiation dose, followed by
    # 400 mg cabotegravir and 600 mg rilpivirine (1 kit of 2 vials) every month thereafter"
    ("CP.PHAR.573", "I.A.10.a", "dose", MONTHLY_CABENUVA, {}, ()),
    # "Every 2-month schedule: 600 mg cabotegravir and 900 mg rilpivirine ... 1 month apart for 2 consecutive months
    # (initial dose), followed by 600 mg cabotegravir and 900 mg rilpivirine ... every 2 months thereafter."
    ("CP.PHAR.573", "I.A.10.b", "dose", EVERY_2_MONTHS_CABENUVA, {}, ()),
    # "Dose does not exceed a 600 mg intramuscular injection given 1 month apart for 2 consecutive months (initial
    # dose), followed by single 600 mg intramuscular injection given every 2 months thereafter."
    (
        "CP.PHAR.573",
        "I.B.5",
        "dose",
        [mg(600, "1 month", phase="initiation"), mg(600, "2 months", phase="maintenance")],
        {},
        (),
    ),
    # "400 mg cabotegravir and 600 mg rilpivirine (1 kit of 2 vials) every month,"
    (
        "CP.PHAR.573",
        "II.A.4.a",
        "dose",
        [mg(400, "1 month", of="cabotegravir"), mg(600, "1 month", of="rilpivirine")],
        {},
        (),
    ),
    # "If request is for a dose increase, new dose does not exceed a single 600 mg intramuscular injection given
    # every 2 months."
    ("CP.PHAR.573", "II.B.4", "dose", [mg(600, "2 months")], {"dose_increase": True}, ()),
    # "Dose does not exceed a single dose of 150 mL."
    ("CP.PHAR.613", "I.A.7", "dose", [mg(150, "dose", "mL")], {}, ()),
    # "1,200 mg PO (2 tablets)," ... "300 mg IV (2 vials) per day."
    ("CP.PMN.219", "I.A.4.a", "dose", [mg(1200, "1 day")], {}, ()),
    ("CP.PMN.219", "I.A.4.b", "dose", [mg(300, "1 day")], {}, ()),
    # "225 mg (1 injection) once monthly," / "675 mg (3 injections) every 3 months."
    ("HIM.PA.SP66", "I.A.8.a", "dose", [mg(225, "1 month")], {}, ()),
    ("HIM.PA.SP66", "I.A.8.b", "dose", [mg(675, "3 months")], {}, ()),
]


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    if not CORPUS.is_dir():
        pytest.skip("the corpus is not beside the checkout")
    knowledge = KnowledgeBase(tmp_path_factory.mktemp("doses") / "kb.sqlite")
    knowledge.load([*bundled_policy_paths(), *sorted(CORPUS.glob("*.txt"))])
    yield knowledge
    knowledge.close()


def find(nodes: list[Node], item: str, logic: str = "all") -> tuple[Node, str] | None:
    """The node of ``item`` and the logic of the list it stands in."""
    for node in nodes:
        if node.row["item_id"] == item:
            return node, logic
        if found := find(node.children, item, node.logic):
            return found
    return None


def truth(kb: KnowledgeBase, policy: str, item: str, fact: str, doses: list[dict[str, Any]], facts: dict[str, Any]):
    rules = kb.rules(policy, DAY)
    found = find([node for nodes in rules.sets.values() for node in nodes], item)
    assert found, f"{policy} {item} not in the version in force on {DAY}"
    node, context = found
    section = "continuation" if item.startswith("II.") else "initial"
    request = Request.from_json(
        {"policy": policy, "date_of_service": DAY, "request_type": section, "facts": {fact: doses, **facts}}
    )
    return Evaluation(request).node(node, context)


def scaled(doses: list[dict[str, Any]], factor: float) -> list[dict[str, Any]]:
    return [dose | {"value": dose["value"] * factor} for dose in doses]


@pytest.mark.parametrize(("policy", "item", "fact", "doses", "facts", "expected"), LIMITS, ids=lambda v: str(v)[:20])
def test_dose_criteria_at_under_and_over_the_limit(kb, policy, item, fact, doses, facts, expected):
    at, under, over = expected or (True, True, False)
    assert truth(kb, policy, item, fact, doses, facts) is at, "at the limit"
    assert truth(kb, policy, item, fact, scaled(doses, 0.5), facts) is under, "under the limit"
    assert truth(kb, policy, item, fact, scaled(doses, 1.25), facts) is over, "over the limit"


def test_every_dose_criterion_of_the_corpus_has_a_row(kb):
    """No dose criterion that reads a dose is left out of the table above (continuation repeats excepted)."""
    rows = kb.connection.execute(
        "SELECT policy_id, item_id FROM criterion WHERE superseded_at IS NULL AND valid_to IS NULL"
        " AND (predicate LIKE '%\"dose\"%' OR predicate LIKE '%\"dose_per_eye\"%') AND section = 'I'"
    ).fetchall()
    covered = {(policy, item) for policy, item, *_ in LIMITS}
    ancestors = {(policy, item.rsplit(".", 1)[0]) for policy, item in covered}
    missing = {
        (row["policy_id"], row["item_id"])
        for row in rows
        if (row["policy_id"], row["item_id"]) not in covered | ancestors
        and (row["policy_id"], row["item_id"].rsplit(".", 1)[0]) not in covered
    }
    assert not missing


def test_a_component_or_phase_compares_only_with_its_own_limit(kb):
    # the monthly kit's maintenance limit (400 mg cabotegravir a month) says nothing of rilpivirine's
    # dose: 1,000 mg rilpivirine a month fails only the rilpivirine limit
    doses = [mg(400, "1 month", of="cabotegravir"), mg(1000, "1 month", of="rilpivirine")]
    assert truth(kb, "CP.PHAR.573", "II.A.4.a", "dose", doses, {}) is False
    # a dose that does not name its component cannot be held to a component's limit: unknown
    assert truth(kb, "CP.PHAR.573", "II.A.4.a", "dose", [mg(400, "1 month")], {}) is None
    # a dose with no phase holds throughout: 600 mg every month fails the maintenance limit (600 mg every 2 months)
    assert truth(kb, "CP.PHAR.573", "I.B.5", "dose", [mg(600, "1 month")], {}) is False
    # a per-eye limit is not read from a dose that does not say it is per eye
    assert truth(kb, "CP.PHAR.524", "I.B.9", "dose", [mg(15, "25 days")], {}) is None


def test_section_v_maxima_quote_the_stored_dosing_table(kb):
    """Each maximum of kb/data/dosing quotes the words of the policy's section V as stored."""
    from kb.predicates.maxima import maxima
    from kb.predicates.phrases import normalise

    for policy in ("CP.PHAR.180", "CP.PHAR.310"):
        table = " ".join(
            f"{row['indication']} {row['regimen']} {row['max_dose']}"
            for row in kb.connection.execute(
                "SELECT * FROM dosing WHERE policy_id = ? AND superseded_at IS NULL AND valid_to IS NULL", (policy,)
            )
        )
        rows = maxima(policy)
        assert rows
        for row in rows:
            assert normalise(row.quote) in normalise(table), (policy, row.quote)

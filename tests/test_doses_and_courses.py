"""Dose parts (kit component, schedule phase), section V maxima as data, course totals, and which
indications need a reviewer: the pieces of issue #29 tested one by one."""

from __future__ import annotations

import json

import pytest

from kb.concepts.facts import Request
from kb.concepts.quantity import Quantity, QuantityError, compare
from kb.decide.courses import course_of, verdict
from kb.errors import ChangeDataError
from kb.predicates.decidable import Walk, combine
from kb.predicates.language import PredicateError, check, needs_review
from kb.predicates.maxima import maxima, within_maxima


def q(value: float, per: str, **more: str) -> Quantity:
    return Quantity.of({"value": value, "unit": "mg", "per": per, **more})


def test_a_component_compares_only_with_its_own_limit():
    limit = q(400, "1 month", of="cabotegravir")
    assert compare("<=", q(400, "1 month", of="cabotegravir"), limit) is True
    assert compare("<=", q(600, "1 month", of="cabotegravir"), limit) is False
    assert compare("<=", q(100, "1 month", of="rilpivirine"), limit) is None
    assert compare("<=", q(100, "1 month"), limit) is None


def test_a_dose_with_no_phase_holds_in_every_phase():
    maintenance = q(600, "2 months", phase="maintenance")
    assert compare("<=", q(600, "1 month"), maintenance) is False
    assert compare("<=", q(600, "1 month", phase="initiation"), maintenance) is None
    assert compare("<=", q(600, "2 months", phase="maintenance"), maintenance) is True


def test_a_phase_outside_the_vocabulary_is_refused():
    with pytest.raises(QuantityError, match="phase 'loading'"):
        q(600, "1 month", phase="loading")


def test_a_request_names_a_kit_component_in_words_or_refuses_it():
    facts = {"dose": [{"value": 600, "unit": "mg", "per": "1 month", "of": "Cabotegravir"}]}
    request = Request.from_json({"policy": "CP.PHAR.573", "date_of_service": "2025-10-01", "facts": facts})
    assert request.values["dose"][0].component == "cabotegravir"
    facts = {"dose": [{"value": 600, "unit": "mg", "per": "1 month", "of": "unobtainium"}]}
    with pytest.raises(Exception, match="unobtainium"):
        Request.from_json({"policy": "CP.PHAR.573", "date_of_service": "2025-10-01", "facts": facts})


def test_the_language_checks_a_dose_component_and_phase():
    check({"fact": "dose", "op": "<=", "value": 400, "unit": "mg", "per": "1 month", "of": "cabotegravir"})
    with pytest.raises(PredicateError, match="phase"):
        check({"fact": "dose", "op": "<=", "value": 400, "unit": "mg", "per": "1 month", "phase": "loading"})
    with pytest.raises(PredicateError, match="component"):
        check({"fact": "dose", "op": "<=", "value": 400, "unit": "mg", "per": "1 month", "of": "no-such-drug"})


def test_section_v_maxima_give_each_product_its_rows():
    rows = maxima("CP.PHAR.180")
    assert {(row.product, dict(row.limits[0])["value"]) for row in rows} == {
        ("promacta", 75),
        ("promacta", 100),
        ("promacta", 150),
        ("alvaiz", 54),
        ("alvaiz", 72),
        ("alvaiz", 108),
    }
    predicate = within_maxima(rows)
    assert [part["cond"]["value"] for part in predicate["args"]] == [["promacta"], ["alvaiz"]]
    assert maxima("CP.PHAR.359") == ()


def test_a_broken_dosing_file_is_refused_naming_it(tmp_path):
    (tmp_path / "CP.X.1.toml").write_text('[[maximum]]\nproduct = "promacta"\nquote = "75 mg/day"\n', encoding="utf-8")
    with pytest.raises(ChangeDataError, match="CP.X.1.toml"):
        maxima("CP.X.1", tmp_path)
    bad_unit = '[[maximum]]\nproduct = "promacta"\nindication = "ITP"\nquote = "q"\ndose = [{value = 75, unit = "furlong", per = "1 day"}]\n'
    (tmp_path / "CP.X.2.toml").write_text(bad_unit, encoding="utf-8")
    with pytest.raises(ChangeDataError, match="furlong"):
        maxima("CP.X.2", tmp_path)


def test_a_course_total_and_the_length_asked():
    # "Up to 7 days of total treatment": the days received count; "Duration of request or up to 7 days of total
    # treatment, whichever is less": the request's length counts too
    total, of_request = (
        course_of("Up to 7 days of total treatment"),
        course_of("Duration of request or up to 7 days of total treatment, whichever is less"),
    )
    assert total is not None and (total.days, total.of_request) == (7, False)
    assert of_request is not None and (of_request.days, of_request.of_request) == (7, True)
    assert course_of("6 months") is None
    assert verdict(total, {"days_on_therapy": 3}) == "approve" and total.approved({"days_on_therapy": 3}) == 4
    assert verdict(total, {"days_on_therapy": 7}) == "deny"
    assert verdict(total, {}) == "pend"
    assert of_request.approved({"days_on_therapy": 2, "course_days_requested": 3}) == 3
    assert verdict(of_request, {"days_on_therapy": 2}) == "pend"


def rows(*items: tuple[str, str | None, str | None, dict]) -> list[dict]:
    return [
        {
            "item_id": item,
            "parent_id": parent,
            "logic": logic,
            "logic_count": None,
            "predicate": json.dumps(predicate),
            "footnote_predicate": None,
        }
        for item, parent, logic, predicate in items
    ]


FACT = {"fact": "age_years", "op": ">=", "value": 18}
REVIEW = {"op": "review", "reason": "a judgement"}
CHILDREN = {"op": "children"}


@pytest.mark.parametrize(
    ("logic", "second", "can_meet"),
    [
        ("all", REVIEW, False),  # a must-meet-all item only a reviewer settles
        ("any", REVIEW, True),  # an option beside it: the fact can meet the list
        ("all", {"op": "if", "cond": FACT, "then": REVIEW}, True),  # "If X, review": not X meets it
        ("all", {"op": "any", "args": [FACT, REVIEW]}, True),
        ("all", {"op": "not", "arg": REVIEW}, False),
        ("none", REVIEW, False),
        ("all", {"op": "never", "reason": "no"}, False),
    ],
)
def test_what_a_set_can_be_with_every_review_undecided(logic, second, can_meet):
    walk = Walk(rows(("I.A", None, logic, CHILDREN), ("I.A.1", "I.A", None, FACT), ("I.A.2", "I.A", None, second)))
    assert walk.node("I.A")[0] is can_meet


def test_combine_reads_at_least_n():
    assert combine("at_least", [(True, True), (False, False), (True, True)], 2) == (True, True)
    # two items only a reviewer settles stay open: "two of the following" can then never be not met
    assert combine("at_least", [(True, True), (False, False), (False, False)], 2) == (False, False)
    assert combine("at_least", [(True, True), (True, True), (False, False)], 2) == (True, True)


@pytest.fixture(scope="module")
def corpus_kb(tmp_path_factory):
    from pathlib import Path

    from kb.surfaces.api import KnowledgeBase, bundled_policy_paths

    corpus = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "centene"
    if not corpus.is_dir():
        pytest.skip("the corpus is not beside the checkout")
    knowledge = KnowledgeBase(tmp_path_factory.mktemp("review") / "kb.sqlite")
    knowledge.load([*bundled_policy_paths(), *sorted(corpus.glob("*.txt"))])
    yield knowledge
    knowledge.close()


def test_every_indication_of_the_corpus_can_be_met_without_a_reviewer(corpus_kb):
    assert corpus_kb.needs_reviewer() == []


def test_a_mandatory_criterion_left_to_review_is_a_clinicians_judgement(corpus_kb):
    """Criteria every approval of their indication passes (all ancestors "must meet all") that no fact can meet:
    at most 2 indications hold one, and each says the judgement it asks for."""
    live = [
        dict(row)
        for row in corpus_kb.connection.execute(
            "SELECT * FROM criterion WHERE superseded_at IS NULL AND valid_to IS NULL ORDER BY position, id"
        )
    ]
    found: dict[tuple[str, str], list[str]] = {}
    for policy in {row["policy_id"] for row in live}:
        walk = Walk([row for row in live if row["policy_id"] == policy])
        for item, row in walk.rows.items():
            predicate = json.loads(row["predicate"])
            ancestors, parent = [], row["parent_id"]
            while parent:
                ancestors.append(walk.rows[parent])
                parent = walk.rows[parent]["parent_id"]
            if not needs_review(predicate) or any((a["logic"] or "all") != "all" for a in ancestors):
                continue
            if not walk.predicate(predicate, "all", item)[0]:
                found.setdefault((policy, item.split(".")[0] + "." + item.split(".")[1]), []).append(
                    next(reason for where, reason in walk.reviews(item) if where == item)
                )
    assert len(found) <= 2, found
    assert all("no extraction rule reads" not in reason for reasons in found.values() for reason in reasons)


def test_every_review_is_listed_with_its_reason_and_load_prints_the_blocked_indications(corpus_kb):
    from kb.predicates.decidable import Blocked
    from kb.surfaces.cli.load import blocked_text

    listed = corpus_kb.clinical_reviews()
    assert listed and all(row["reason"] for row in listed)
    assert {("HIM.PA.SP66", "I.A.6.a.i"), ("CP.PHAR.573", "I.B")} <= {(r["policy_id"], r["item_id"]) for r in listed}
    assert blocked_text([]) == "indications that cannot be approved without clinical review (newest versions): 0"
    text = blocked_text([Blocked("P", "I.A", "Set (must meet all):", (("I.A.2", "a judgement"),))])
    assert text.splitlines()[1:] == ["  P I.A Set (must meet all):", "    I.A.2: a judgement"]

"""Evaluating requests: the reference examples, unknowns, conditionals, durations, replay, speed paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.concepts.facts import Request, RequestError
from kb.decide.compiled import compile_rules
from kb.decide.evaluate import add_months
from kb.predicates import predicate_for, read
from kb.surfaces.cli import cli

POLICY = "CP.PHAR.359"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "request-ph-negative-16.json"
COMPLETE = {
    "line_of_business": "Commercial",
    "diagnosis": "B-cell ALL",
    "cd22_positive": True,
    "prescriber_specialty": "hematologist",
    "cycles_requested": 2,
    "cycles_received": 0,
    "dose": [{"value": 1.8, "unit": "mg/m2", "per": "cycle"}, {"value": 0.8, "unit": "mg/m2", "per": "dose"}],
    "regimen_fda_or_nccn": True,
}


def request(date: str, request_type: str = "initial", **facts) -> Request:
    return Request.from_json(
        {
            "request_id": "r",
            "policy": POLICY,
            "date_of_service": date,
            "request_type": request_type,
            "facts": {**COMPLETE, **facts},
        }
    )


NEWLY_DIAGNOSED_16 = {"age_years": 16, "ph_status": "negative", "disease_status": "newly diagnosed"}
PH_POSITIVE_30 = {
    "age_years": 30,
    "ph_status": "positive",
    "disease_status": "newly diagnosed",
    "line_of_therapy": ["frontline"],
}

# The reference file's table: question -> (version, decision, what decides it)
EXAMPLES = [
    ("2024-08-01", {**NEWLY_DIAGNOSED_16, "line_of_therapy": ["frontline", "induction"]}, "V2024-05", "approve"),
    ("2024-08-01", {**NEWLY_DIAGNOSED_16, "line_of_therapy": ["frontline"]}, "V2024-05", "deny"),
    ("2025-01-15", {**NEWLY_DIAGNOSED_16, "line_of_therapy": ["frontline"]}, "V2024-11", "approve"),
    ("2025-12-01", {**NEWLY_DIAGNOSED_16, "line_of_therapy": ["frontline"]}, "V2025-11", "deny"),
    ("2024-08-01", PH_POSITIVE_30, "V2024-05", "deny"),
    ("2025-12-01", PH_POSITIVE_30, "V2025-11", "approve"),
    (
        "2024-01-15",
        {
            "age_years": 70,
            "ph_status": "negative",
            "disease_status": "newly diagnosed",
            "line_of_therapy": ["induction"],
        },
        "V2023",
        "approve",
    ),
]


def _option_results(decision) -> dict[str, str]:
    return {e["where"]: e["result"] for e in decision.criteria if e["where"].startswith(("I.A.4.", "I.A.5."))}


@pytest.mark.parametrize(("date", "facts", "version", "expected"), EXAMPLES)
def test_reference_examples_through_the_api(loaded_kb, date, facts, version, expected):
    decision = loaded_kb.evaluate(request(date, **facts))
    assert (decision.version["label"], decision.decision) == (version, expected)


def test_reference_examples_name_the_deciding_options(loaded_kb):
    under_2024 = _option_results(
        loaded_kb.evaluate(request("2024-08-01", **NEWLY_DIAGNOSED_16, line_of_therapy=["frontline"]))
    )
    assert under_2024 == {"I.A.5.a": "not met", "I.A.5.b": "not met", "I.A.5.b.i": "not met", "I.A.5.b.ii": "met"}
    under_2025 = _option_results(
        loaded_kb.evaluate(request("2025-12-01", **NEWLY_DIAGNOSED_16, line_of_therapy=["frontline"]))
    )
    assert under_2025 == {"I.A.5.a": "not met", "I.A.5.b": "not met"}
    under_2023 = _option_results(loaded_kb.evaluate(request("2024-01-15", **EXAMPLES[-1][1])))
    assert under_2023["I.A.4.b.ii"] == "met" and under_2023["I.A.4.b"] == "met"


@pytest.mark.parametrize(("date", "facts", "version", "expected"), EXAMPLES)
def test_reference_examples_through_the_cli(loaded_kb, tmp_path, date, facts, version, expected):
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request(date, **facts).to_json()))
    result = CliRunner().invoke(cli, ["evaluate", str(path), "--db", str(loaded_kb.path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["version"]["label"], data["decision"]) == (version, expected)


def test_a_missing_fact_pends_and_is_named(loaded_kb):
    facts = {**PH_POSITIVE_30}
    incomplete = Request.from_json(
        {
            **request("2025-12-01", **facts).to_json(),
            "facts": {k: v for k, v in {**COMPLETE, **facts}.items() if k != "cd22_positive"},
        }
    )
    decision = loaded_kb.evaluate(incomplete)
    assert decision.decision == "pend" and decision.needed == ["cd22_positive"]


def test_continuation_after_six_cycles_is_denied(loaded_kb):
    base = {"receiving_via_plan_benefit": True, "response_to_therapy": "positive", "dose_increase": False}
    assert loaded_kb.evaluate(request("2025-12-01", "continuation", **base, cycles_received=3)).decision == "approve"
    denied = loaded_kb.evaluate(request("2025-12-01", "continuation", **base, cycles_received=6))
    assert denied.decision == "deny"
    assert "II.A.3 Member has not received ≥ 6 cycles of Besponsa; not met" in denied.reasons


def test_if_inside_must_meet_all_binds_only_when_its_condition_holds(loaded_kb):
    base = {
        "receiving_via_plan_benefit": True,
        "response_to_therapy": "positive",
        "cycles_received": 2,
        "dose": {"value": 2.4, "unit": "mg/m2", "per": "cycle"},
        "supporting_evidence_submitted": False,
    }
    no_increase = loaded_kb.evaluate(request("2025-12-01", "continuation", **base, dose_increase=False))
    assert no_increase.decision == "approve"
    assert {e["where"]: e["result"] for e in no_increase.criteria}["II.A.4"] == "met"
    assert loaded_kb.evaluate(request("2025-12-01", "continuation", **base, dose_increase=True)).decision == "deny"


def test_a_dose_above_the_limit_needs_evidence_and_then_review(loaded_kb):
    high = {**PH_POSITIVE_30, "dose": [{"value": 2.0, "unit": "mg/m2", "per": "cycle"}]}
    without = loaded_kb.evaluate(request("2025-12-01", **high, supporting_evidence_submitted=False))
    assert without.decision == "deny" and "I.A.7.b " in " ".join(without.reasons)
    with_evidence = loaded_kb.evaluate(request("2025-12-01", **high, supporting_evidence_submitted=True))
    assert with_evidence.decision == "pend"
    assert with_evidence.needed == ["clinical review: whether the submitted guidelines or literature support the dose"]


def test_duration_end_date_and_ambiguous_month_arithmetic(loaded_kb):
    approved = loaded_kb.evaluate(request("2025-12-01", **PH_POSITIVE_30, line_of_business="Medicaid"))
    assert approved.duration["end_date"] == "2026-06-01" and approved.duration["note"] is None
    renewal = loaded_kb.evaluate(request("2025-12-01", **PH_POSITIVE_30, renewal_date="2026-09-01"))
    assert renewal.duration["end_date"] == "2026-09-01"
    end, note = add_months(request("2025-08-31").date_of_service, 6)
    assert end.isoformat() == "2026-02-28" and "ambiguous" in note
    odd = loaded_kb.evaluate(request("2026-08-31", **PH_POSITIVE_30, line_of_business="HIM"))
    assert odd.duration["end_date"] == "2027-02-28" and "has no day 31" in odd.duration["note"]


def test_other_diagnosis_is_referred_for_the_line_of_business(loaded_kb):
    decision = loaded_kb.evaluate(
        request(
            "2025-12-01",
            **PH_POSITIVE_30,
            diagnosis="acute myeloid leukemia",
            line_of_business="HIM",
            recent_label_change=False,
        )
    )
    # AML is a diagnosis the vocabulary knows and I.A does not cover: "refer" is its own outcome
    assert decision.decision == "refer"
    assert [(r["policy"], r["role"]) for r in decision.referral] == [("HIM.PA.154", "off-label use")]


def test_not_covered_dates_pend_with_the_reason(loaded_kb):
    decision = loaded_kb.evaluate(request("2019-06-01", **PH_POSITIVE_30))
    assert decision.decision == "pend" and decision.version is None and "2021-11-01" in decision.reasons[0]


def test_replaying_a_record_gives_the_same_decision(loaded_kb, tmp_path):
    decision = loaded_kb.evaluate(request("2024-08-01", **NEWLY_DIAGNOSED_16, line_of_therapy=["frontline"]))
    record = json.loads(json.dumps(decision.to_json(), default=str))
    again = loaded_kb.replay(record)
    assert (again.decision, again.rules_hash, again.criteria) == (
        decision.decision,
        decision.rules_hash,
        decision.criteria,
    )
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record))
    result = CliRunner().invoke(cli, ["evaluate", "--replay", str(path), "--db", str(loaded_kb.path)])
    assert result.exit_code == 0 and "replay: same decision (deny)" in result.output


def test_predicates_are_stored_through_the_history(loaded_kb):
    rows = loaded_kb.connection.execute(
        "SELECT valid_from, predicate, predicate_rule FROM criterion WHERE record_key = 'I.A.5.ph-negative.age'"
        " ORDER BY valid_from"
    ).fetchall()
    assert [json.loads(r["predicate"]) for r in rows] == [
        {
            "op": "any",
            "args": [
                {"fact": "age_years", "op": ">=", "value": 65},
                {"fact": "substantial_comorbidities", "op": "is", "value": True},
            ],
        },
        {"fact": "age_years", "op": ">=", "value": 15},
    ]
    assert read("Member has a rare genotype;") == (
        {"op": "review", "reason": "no extraction rule reads 'Member has a rare genotype;'"},
        "needs clinical review",
    )


def test_overrides_are_data(tmp_path):
    (tmp_path / "CP.TEST.1.toml").write_text(
        '[[override]]\ntext = "Member has a rare genotype;"\n'
        'predicate = \'{"fact": "age_years", "op": ">=", "value": 2}\'\nnote = "reviewed by pharmacy"\n'
    )
    assert predicate_for("CP.TEST.1", "Member has a rare genotype", tmp_path) == (
        {"fact": "age_years", "op": ">=", "value": 2},
        "override: reviewed by pharmacy",
    )
    assert predicate_for("CP.OTHER.2", "Member has a rare genotype", tmp_path)[1] == "needs clinical review"


def test_bad_requests_name_what_is_wrong(tmp_path):
    with pytest.raises(RequestError, match="unknown field.*agee"):
        Request.from_json({"policy": POLICY, "date_of_service": "2025-01-01", "agee": 3})
    with pytest.raises(RequestError, match="fact 'age_years' = 'old'"):
        Request.from_json({"policy": POLICY, "date_of_service": "2025-01-01", "facts": {"age_years": "old"}})
    with pytest.raises(RequestError, match="date_of_service '2025-13-01'"):
        Request.from_json({"policy": POLICY, "date_of_service": "2025-13-01"})
    lines = tmp_path / "requests.jsonl"
    lines.write_text(json.dumps(request("2025-12-01").to_json()) + "\n{not json\n")
    result = CliRunner().invoke(
        cli, ["evaluate", "--batch", str(lines), "-o", str(tmp_path / "d.jsonl"), "--db", str(tmp_path / "kb.sqlite")]
    )
    assert result.exit_code == 1 and f"{lines}:2: not JSON" in result.output


def _requests_file(path: Path) -> Path:
    requests = [
        request(date, **facts).to_json() | {"request_id": f"example-{i}"}
        for i, (date, facts, _, _) in enumerate(EXAMPLES)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in requests))
    return path


def test_batch_traced_and_untraced_agree(loaded_kb, tmp_path):
    source = _requests_file(tmp_path / "requests.jsonl")
    for extra, name in (([], "traced.jsonl"), (["--no-trace"], "untraced.jsonl")):
        result = CliRunner().invoke(
            cli, ["evaluate", "--batch", str(source), "-o", str(tmp_path / name), "--db", str(loaded_kb.path), *extra]
        )
        assert result.exit_code == 0, result.output
        assert "7 decisions written" in result.output and "approve 4, deny 3" in result.output
    traced = [json.loads(line) for line in (tmp_path / "traced.jsonl").read_text().splitlines()]
    untraced = [json.loads(line) for line in (tmp_path / "untraced.jsonl").read_text().splitlines()]
    assert [d["decision"] for d in traced] == [d["decision"] for d in untraced] == [e[3] for e in EXAMPLES]
    assert all(d["criteria"] for d in traced) and all(
        set(d) == {"request_id", "decision", "version", "rules_hash"} for d in untraced
    )


def test_impact_lists_the_requests_decided_differently(loaded_kb, tmp_path):
    source = _requests_file(tmp_path / "requests.jsonl")
    result = CliRunner().invoke(
        cli,
        [
            "impact",
            POLICY,
            "2024-08-01",
            "2025-12-01",
            "--requests",
            str(source),
            "--db",
            str(loaded_kb.path),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    items = {item["request_id"]: item for item in json.loads(result.output)}
    assert {key: (item["before"], item["after"]) for key, item in items.items()} == {
        "example-0": ("approve", "deny"),  # Ph-negative, 16, induction: the >= 15 option went
        "example-4": ("deny", "approve"),  # Ph-positive, 30, frontline: the frontline >= 18 option came
        "example-5": ("deny", "approve"),
        "example-6": ("approve", "deny"),  # 70, Ph-negative, induction but not frontline
    }
    why = {(c["where"], c["before"], c["after"]) for c in items["example-0"]["criteria"]}
    assert {("I.A.5.b", "met", "absent"), ("I.A.5.b", "absent", "not met"), ("I.A.5.b.i", "met", "absent")} <= why


FACT_VALUES = {
    "age_years": st.sampled_from([None, 0, 1, 14, 15, 16, 17, 18, 30, 64, 65, 70]),
    "ph_status": st.sampled_from([None, "negative", "positive"]),
    "disease_status": st.sampled_from([None, "relapsed", "refractory", "newly diagnosed"]),
    "line_of_therapy": st.sampled_from([None, [], ["frontline"], ["induction"], ["frontline", "induction"]]),
    "cd22_positive": st.sampled_from([None, True, False]),
    "diagnosis": st.sampled_from([None, "B-cell ALL", "AML"]),
    "cycles_received": st.sampled_from([None, 0, 5, 6]),
    "dose": st.sampled_from(
        [None, {"value": 1.8, "unit": "mg/m2", "per": "cycle"}, {"value": 2.0, "unit": "mg/m2", "per": "cycle"}]
    ),
    "supporting_evidence_submitted": st.sampled_from([None, True, False]),
    "substantial_comorbidities": st.sampled_from([None, True, False]),
    "single_agent": st.sampled_from([None, True, False]),
    "dose_increase": st.sampled_from([None, True, False]),
    "response_to_therapy": st.sampled_from([None, "positive", "none"]),
    "receiving_via_plan_benefit": st.sampled_from([None, True, False]),
}


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    facts=st.fixed_dictionaries(FACT_VALUES),
    date=st.sampled_from(["2022-01-15", "2023-01-15", "2024-01-15", "2024-08-01", "2025-01-15", "2025-12-01"]),
    request_type=st.sampled_from(["initial", "continuation"]),
)
def test_compiled_rules_decide_as_the_traced_walk(loaded_kb, facts, date, request_type):
    case = request(date, request_type, **{k: v for k, v in facts.items() if v is not None})
    rules = loaded_kb.rules(POLICY, date)
    assert compile_rules(rules)[request_type](case.values, case.date_of_service) == loaded_kb.evaluate(case).decision


def test_the_vocabulary_is_printed():
    result = CliRunner().invoke(cli, ["facts", "--json"])
    vocabulary = json.loads(result.output)
    assert vocabulary["age_years"] == {
        "type": "number",
        "meaning": "member's age in years on the date of service",
        "accepts": "a number 0..130",
    }
    assert vocabulary["line_of_therapy"]["type"] == "concepts"
    assert vocabulary["diagnosis"]["code_systems"] == ["ICD-10-CM"]
    assert vocabulary["prescriber_specialty"]["code_systems"] == ["NUCC"]
    assert {"id": "frontline", "label": "Frontline (first-line) therapy"} in vocabulary["line_of_therapy"]["values"]


def test_none_of_and_at_least_n_combine_three_valued():
    from kb.decide.evaluate import combine

    assert combine("none", [False, False]) is True
    assert combine("none", [False, True]) is False
    assert combine("none", [False, None]) is None
    assert combine("at_least", [True, True, False], 2) is True
    assert combine("at_least", [True, False, False], 2) is False
    assert combine("at_least", [True, None, False], 2) is None


def test_a_decision_states_the_knowledge_it_used_and_when_it_was_made(fresh_kb):
    """The knowledge time of a decision is that of the load its rules reflect (what replay needs),
    not the moment of evaluation, which is stated beside it."""
    from datetime import UTC, datetime

    loaded = datetime(2026, 1, 1, tzinfo=UTC)
    fresh_kb.load(now=loaded)
    request = Request.from_json(json.loads(EXAMPLE.read_text(encoding="utf-8")))
    decision = fresh_kb.evaluate(request)
    assert decision.known_at == loaded.isoformat()
    assert datetime.fromisoformat(decision.evaluated_at) > loaded
    assert fresh_kb.replay(decision.to_json()).decision == decision.decision

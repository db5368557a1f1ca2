"""Da Vinci DTR: the Besponsa criteria as a FHIR R4 Questionnaire, a filled QuestionnaireResponse
decided as its plain JSON twin, the DTR examples of ../shared/fhir-examples, and the site page.

Expected items are read from the policy text (kb/data/policies/CP.PHAR.359_*.txt, lines 31-49 and
62-75) and, for 2024-08-01, from the history of ../shared/reference/CP.PHAR.359-history.md
(V2024-05), not from the output.
"""

from __future__ import annotations

import asyncio
import html
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.questionnaire import Questionnaire

from kb.concepts.facts import Request
from kb.surfaces.api import KnowledgeBase, bundled_policy_paths
from kb.surfaces.cli import cli
from kb.surfaces.fhir.questionnaire import SOURCE_EXTENSION, questionnaire
from kb.surfaces.fhir.resources import FhirError, parse
from kb.surfaces.fhir.response import decide_response, questions
from tests.conftest import CORPUS

FIXTURES = Path(__file__).parent / "fixtures" / "fhir"
EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "fhir-examples"
POLICY = "CP.PHAR.359"
F, C = "urn:policy-as-data:fact:", "urn:policy-as-data:concept:"
HEADER = {"request_type", "date_of_service", "line_of_business"}
"""Asked of every request: initial or continued therapy (sections I and II), the date of service,
and the line of business (the approval durations differ by it: "Commercial – 6 months ...")."""
CONTINUED = {
    "receiving_via_plan_benefit",  # II.A.1 currently receiving medication via Centene benefit, or
    "receiving_for_covered_indication",  # documentation supports ... for a covered indication
    "days_on_therapy",  # ... and has received this medication for at least 30 days
    "response_to_therapy",  # II.A.2 responding positively
    "cycles_received",  # II.A.3 has not received >= 6 cycles
    "dose_increase",  # II.A.4 if request is for a dose increase
    "dose",  # II.A.4.a new dose does not exceed 1.8 mg/m2 per cycle
    "supporting_evidence_submitted",  # II.A.4.b prescriber must submit supporting evidence
    "regimen_fda_or_nccn",  # footnote *: prescribed regimen must be FDA-approved or recommended by NCCN
}
INITIAL_2025 = {
    "diagnosis",  # I.A.1 Diagnosis of B-cell ALL
    "prescriber_specialty",  # I.A.2 prescribed by or in consultation with
    "consulting_specialties",  #     an oncologist or hematologist
    "age_years",  # I.A.3 age >= 1 year; I.A.5.b age >= 18 years
    "cd22_positive",  # I.A.4 CD22 positive
    "disease_status",  # I.A.5.a relapsed or refractory
    "line_of_therapy",  # I.A.5.b if prescribed as frontline therapy
    "cycles_requested",  # I.A.6 no more than 6 cycles total (requested + received)
    "cycles_received",
    "dose",  # I.A.7.a dose does not exceed ...
    "supporting_evidence_submitted",  # I.A.7.b
    "regimen_fda_or_nccn",  # footnote * of I.A.7
}
INITIAL_2024 = INITIAL_2025 | {"ph_status"}  # V2024-05 I.A.5.b: if Ph-negative, (i) induction and (ii) age >= 15


def invoke(loaded_kb, *args: str):
    return CliRunner().invoke(cli, [*args, "--db", str(loaded_kb.path)])


def exported(loaded_kb, when: str, *more: str) -> Questionnaire:
    result = invoke(loaded_kb, "export", POLICY, "--as-of", when, "--format", "questionnaire", *more)
    assert result.exit_code == 0, result.output
    return Questionnaire.model_validate_json(result.stdout)


def items(form: Questionnaire) -> dict[str, object]:
    return {item.linkId: item for item in form.item}


def when(item) -> list[tuple[str, str, object]]:
    """An item's enableWhen as (question, operator, answer code or value)."""
    found = []
    for condition in item.enableWhen or []:
        answer = next(
            getattr(condition, k)
            for k in ("answerCoding", "answerBoolean", "answerDecimal", "answerInteger")
            if getattr(condition, k) is not None
        )
        found.append((condition.question, condition.operator, getattr(answer, "code", answer)))
    return found


@pytest.fixture(scope="module")
def q2025(loaded_kb) -> Questionnaire:
    return exported(loaded_kb, "2025-12-01")


@pytest.fixture(scope="module")
def q2024(loaded_kb) -> Questionnaire:
    return exported(loaded_kb, "2024-08-01")


def test_the_2025_questionnaire_names_its_version_and_asks_the_facts_the_criteria_read(q2025):
    assert q2025.url == f"urn:policy-as-data:Questionnaire:{POLICY}" and q2025.version == "V2025-11"
    assert q2025.status == "active" and POLICY in q2025.title and "V2025-11" in q2025.title
    assert str(q2025.effectivePeriod.start) == "2025-11-01" and q2025.effectivePeriod.end is None
    # "Commercial – 6 months or to the member's renewal date, whichever is longer": the renewal date is asked
    assert questions(q2025) == HEADER | {"renewal_date"} | INITIAL_2025 | CONTINUED
    assert when(items(q2025)["renewal_date"]) == [("line_of_business", "=", "Commercial")]


def test_the_2024_questionnaire_asks_for_the_ph_status_and_no_renewal_date(q2024):
    assert q2024.version == "V2024-05" and str(q2024.effectivePeriod.end) == "2024-10-31"
    assert questions(q2024) == HEADER | INITIAL_2024 | CONTINUED  # Commercial: 6 months, no renewal date
    assert "rule-dependent" in q2024.description.lower() or "depends on the effective-date rule" in q2024.description


def test_items_are_typed_from_the_fact_vocabulary_with_codes(q2025):
    found = items(q2025)
    assert found["age_years"].type == "decimal" and found["cd22_positive"].type == "boolean"
    assert found["cycles_requested"].type == "integer" and found["dose"].type == "quantity"
    assert found["line_of_therapy"].type == "open-choice" and found["line_of_therapy"].repeats
    specialties = {(o.valueCoding.system, o.valueCoding.code) for o in found["prescriber_specialty"].answerOption}
    # NUCC 21.1: 207RX0202X Medical Oncology, 207RH0000X Hematology (the vocabulary's codes)
    assert specialties == {
        ("http://nucc.org/provider-taxonomy", "207RX0202X"),
        ("http://nucc.org/provider-taxonomy", "207RH0000X"),
    }
    units = {e.valueCoding.code for e in found["dose"].extension}
    assert units == {"mg/m2 per cycle", "mg/m2 per dose"}  # "1.8 mg/m² per cycle (0.8 mg/m² on Day 1 ...)"


def test_the_age_item_follows_the_criteria_tree_of_each_version(q2024, q2025):
    age_2025, age_2024 = items(q2025)["age_years"], items(q2024)["age_years"]
    # age >= 1 year (I.A.3) binds every initial request: the item is enabled by the request type alone
    assert when(age_2025) == when(age_2024) == [("request_type", "=", "initial")]
    children_2025 = {child.linkId: child for child in age_2025.item}
    children_2024 = {child.linkId: child for child in age_2024.item}
    assert when(children_2025["age_years/I.A.3"]) == []
    # 2025-12: "If prescribed as frontline therapy, age >= 18 years"
    assert when(children_2025["age_years/I.A.5.b"]) == [("line_of_therapy", "=", "frontline")]
    assert "age ≥ 18 years" in children_2025["age_years/I.A.5.b"].text
    # 2024-08: "If Philadelphia chromosome-negative, both: i. induction therapy; ii. age >= 15 years"
    assert when(children_2024["age_years/I.A.5.b.ii"]) == [("ph_status", "=", "negative")]
    assert "Age ≥ 15 years" in children_2024["age_years/I.A.5.b.ii"].text
    assert when(items(q2024)["line_of_therapy"]) == [("request_type", "=", "initial"), ("ph_status", "=", "negative")]
    assert items(q2024)["line_of_therapy"].enableBehavior == "all"


def test_each_item_quotes_its_criteria_with_their_source(q2024, q2025):
    frontline = {c.linkId: c for c in items(q2025)["age_years"].item}["age_years/I.A.5.b"]
    assert [e.valueString for e in frontline.extension if e.url == SOURCE_EXTENSION] == [
        "document 11.25 (ebedc22fcfb2) line 39"
    ]
    fifteen = {c.linkId: c for c in items(q2024)["age_years"].item}["age_years/I.A.5.b.ii"]
    source = next(e.valueString for e in fifteen.extension if e.url == SOURCE_EXTENSION)
    assert source.startswith("log 2024-05-13")  # the RT4 row that set age >= 15
    # shared facts: the dose limit of I.A.7.a is shown for initial requests, II.A.4.a only for a dose increase
    dose = {c.linkId: c for c in items(q2025)["dose"].item}
    assert when(items(q2025)["dose"]) == []
    assert when(dose["dose/II.A.4.a"]) == [("request_type", "=", "continuation"), ("dose_increase", "=", True)]


def test_review_referral_and_unknown_criteria_become_display_items(loaded_kb, q2025):
    found = items(q2025)
    assert found["review:I.A.7.b"].type == "display" and "needs clinical review" in found["review:I.A.7.b"].text
    assert found["refer:I.B"].type == "display" and "refers the request to other policies" in found["refer:I.B"].text
    # V2021: the other diagnoses/indications section used an older template whose text is unknown
    old = items(exported(loaded_kb, "2021-12-01"))
    assert "unknown in the history" in old["unknown:I.B"].text and "unknown:II.B" in old


def test_a_version_label_and_a_knowledge_time_are_honoured(loaded_kb, q2024):
    assert exported(loaded_kb, "V2024-05").version == q2024.version
    assert str(exported(loaded_kb, "2025-12-01", "--known-at", "2099-01-01T00:00:00+00:00").date).startswith("2099")


def test_a_date_without_a_version_is_refused_in_one_line(loaded_kb):
    result = invoke(loaded_kb, "export", POLICY, "--as-of", "2010-01-01", "--format", "questionnaire")
    assert result.exit_code == 1 and "not covered" in result.stderr and "Traceback" not in result.output


COMMON = {
    "line_of_business": "Medicaid",
    "diagnosis": "B-cell ALL",
    "cycles_requested": 2,
    "cycles_received": 0,
    "regimen_fda_or_nccn": True,
    "dose": [{"value": 1.8, "unit": "mg/m2", "per": "cycle"}, {"value": 0.8, "unit": "mg/m2", "per": "dose"}],
}


def twin(day: str, **facts: object) -> dict:
    """The plain JSON request a QuestionnaireResponse fixture answers: the common facts and these."""
    return {"policy": POLICY, "date_of_service": day, "facts": {**COMMON, **facts}}


TWINS = {
    "besponsa-qr-2025-12-01-approve.json": (
        "approve",
        twin(
            "2025-12-01",
            prescriber_specialty="oncologist",
            age_years=30,
            cd22_positive=True,
            disease_status="relapsed or refractory",
            line_of_therapy=["subsequent"],
        ),
    ),
    "besponsa-qr-2025-12-01-deny.json": (
        "deny",  # newly diagnosed, frontline, age 16: 5.a not met, 5.b needs age >= 18
        twin(
            "2025-12-01",
            prescriber_specialty="hematologist",
            age_years=16,
            cd22_positive=True,
            disease_status="newly diagnosed",
            line_of_therapy=["frontline"],
        ),
    ),
    "besponsa-qr-2025-12-01-pend.json": (
        "pend",  # CD22 status not answered: I.A.4 unknown
        twin("2025-12-01", prescriber_specialty="hematologist", age_years=16, disease_status="relapsed or refractory"),
    ),
    "besponsa-qr-2024-08-01-approve.json": (
        "approve",  # V2024-05: Ph-negative, induction, age >= 15
        twin(
            "2024-08-01",
            prescriber_specialty="hematologist",
            age_years=16,
            cd22_positive=True,
            disease_status="newly diagnosed",
            ph_status="negative",
            line_of_therapy=["frontline", "induction"],
        ),
    ),
}


def _outcome(decision: dict) -> dict:
    return {
        "decision": decision["decision"],
        "reasons": decision["reasons"],
        "needed": decision["needed"],
        "duration": decision["duration"],
        "referral": decision["referral"],
        "version": decision["version"]["label"],
        "criteria": [(c["where"], c["result"]) for c in decision["criteria"]],
    }


@pytest.mark.parametrize("name", sorted(TWINS))
def test_a_filled_response_is_decided_as_its_json_twin(loaded_kb, name):
    expected, twin = TWINS[name]
    result = invoke(loaded_kb, "evaluate", str(FIXTURES / name), "--json")
    assert result.exit_code == 0, result.output
    decided = json.loads(result.stdout)
    assert decided["decision"] == expected
    assert _outcome(decided) == _outcome(loaded_kb.evaluate(Request.from_json(twin)).to_json())


def test_the_plain_text_output_is_the_json_evaluation_s(loaded_kb, tmp_path):
    twin = tmp_path / "twin.json"
    twin.write_text(json.dumps(TWINS["besponsa-qr-2025-12-01-deny.json"][1]), encoding="utf-8")
    first = invoke(loaded_kb, "evaluate", str(FIXTURES / "besponsa-qr-2025-12-01-deny.json")).stdout.splitlines()
    second = invoke(loaded_kb, "evaluate", str(twin)).stdout.splitlines()
    assert first[0] == second[0] and first[2:4] == second[2:4]  # the decision line and its reasons


def _refused(loaded_kb, path: Path) -> tuple[OperationOutcome, str]:
    result = invoke(loaded_kb, "evaluate", str(path))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1
    return OperationOutcome.model_validate_json(result.stdout), result.stderr


def _variant(tmp_path: Path, change) -> Path:
    data = json.loads((FIXTURES / "besponsa-qr-2025-12-01-approve.json").read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "variant.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_an_answer_to_an_unknown_link_id_is_refused_naming_the_item(loaded_kb, tmp_path):
    # V2025-11 reads no Philadelphia chromosome status
    path = _variant(tmp_path, lambda d: d["item"].append({"linkId": "ph_status", "answer": [{"valueBoolean": True}]}))
    outcome, message = _refused(loaded_kb, path)
    assert outcome.issue[0].expression == ["QuestionnaireResponse.item[13].linkId"]
    assert "'ph_status'" in outcome.issue[0].diagnostics and "'ph_status'" in message


def test_a_value_of_the_wrong_type_is_refused_naming_the_item(loaded_kb, tmp_path):
    path = _variant(tmp_path, lambda d: d["item"][5].update(answer=[{"valueString": "thirty"}]))
    outcome, _ = _refused(loaded_kb, path)
    assert outcome.issue[0].expression == ["QuestionnaireResponse.item[5].answer[0]"]
    assert (
        "'age_years' is answered with valueDecimal or valueInteger; found valueString" in outcome.issue[0].diagnostics
    )


def test_a_code_the_vocabulary_refuses_is_named(loaded_kb, tmp_path):
    bad = {"valueCoding": {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C99.99"}}
    outcome, _ = _refused(loaded_kb, _variant(tmp_path, lambda d: d["item"][3].update(answer=[bad])))
    assert outcome.issue[0].expression == ["QuestionnaireResponse.item[3].answer[0]"]
    assert "'diagnosis'" in outcome.issue[0].diagnostics


def test_a_response_to_another_questionnaire_is_refused(loaded_kb, tmp_path):
    path = _variant(tmp_path, lambda d: d.update(questionnaire="http://example.org/Questionnaire/other"))
    outcome, _ = _refused(loaded_kb, path)
    assert outcome.issue[0].expression == ["QuestionnaireResponse.questionnaire"]


def test_a_response_to_a_version_that_does_not_exist_is_refused(loaded_kb, tmp_path):
    path = _variant(tmp_path, lambda d: d.update(questionnaire=f"urn:policy-as-data:Questionnaire:{POLICY}|V1999"))
    outcome, _ = _refused(loaded_kb, path)
    assert outcome.issue[0].code == "not-found" and "V1999" in outcome.issue[0].diagnostics


def test_a_response_answering_an_older_version_says_which_version_decided(loaded_kb, tmp_path):
    def older(data: dict) -> None:  # V2024-11 asks the Ph status, not the line of therapy
        data.update(questionnaire=f"urn:policy-as-data:Questionnaire:{POLICY}|V2024-11")
        data["item"] = [item for item in data["item"] if item["linkId"] != "line_of_therapy"]

    result = invoke(loaded_kb, "evaluate", str(_variant(tmp_path, older)))
    assert result.exit_code == 0 and "V2024-11; V2025-11 is in force on 2025-12-01" in result.stderr


def example(name: str) -> dict:
    path = EXAMPLES / name
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared FHIR examples are expected beside the checkout")
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_inferno_response_is_refused_naming_the_code_with_a_leading_space(loaded_kb):
    example("dtr-qr-respiratory-inferno.json")
    outcome, message = _refused(loaded_kb, EXAMPLES / "dtr-qr-respiratory-inferno.json")
    assert outcome.issue[0].expression == ["QuestionnaireResponse.item[2].item[1].answer[1].valueCoding.code"]
    assert "' G30.0'" in outcome.issue[0].diagnostics and "' G30.0'" in message


@pytest.mark.parametrize("name", ["dtr-q-mboda-outpatient-drug.json", "dtr-q-upparf-pharmacy-pa.json"])
def test_the_dtr_questionnaires_parse(name):
    form = parse(example(name), name, ("Questionnaire",))
    assert isinstance(form, Questionnaire) and questions(form)


def test_the_turalio_questionnaire_is_refused_naming_initial_as_an_object():
    with pytest.raises(FhirError) as refused:
        parse(example("dtr-q-turalio-rems.json"), "dtr-q-turalio-rems.json", ("Questionnaire",))
    paths = [issue.path for issue in refused.value.issues]
    assert paths and all(path.endswith(".initial") for path in paths)
    assert all(issue.expected == "a list (JSON array)" for issue in refused.value.issues)


def test_the_test_data_bundle_is_no_questionnaire_response(loaded_kb):
    data = example("dtr-mboda-new-therapy-testdata.json")
    assert isinstance(parse(data, "bundle", ("Bundle",)), Bundle)
    with pytest.raises(FhirError) as refused:
        decide_response(loaded_kb, data, "dtr-mboda-new-therapy-testdata.json")
    assert refused.value.issues[0].expected == "a QuestionnaireResponse resource"


# --- the site page ------------------------------------------------------------------------------


def get(site, path: str):
    return asyncio.run(site.client.get(path))


def test_the_page_shows_items_conditions_criteria_and_sources(site):
    page = get(site, f"/-/kb/questionnaire?policy={POLICY}&as_of=2025-12-01")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert 'data-link-id="age_years"' in page.text and "Asked when request_type = initial." in text
    assert "I.A.5.b If prescribed as frontline therapy, age ≥ 18 years;" in text
    assert "(shown when line_of_therapy = frontline)" in text and "[document 11.25 (ebedc22fcfb2) line 39]" in text
    assert "NUCC 207RH0000X" in text and "needs clinical review" in text
    assert f"/-/kb/questionnaire?policy={POLICY}&as_of=2025-12-01&format=json" in text


def test_the_json_download_is_the_export(site, q2025):
    page = get(site, f"/-/kb/questionnaire?policy={POLICY}&as_of=2025-12-01&format=json")
    assert page.status_code == 200 and page.headers["content-type"].startswith("application/fhir+json")
    Questionnaire.model_validate_json(page.text)

    def stamped(data: dict) -> dict:
        return {key: value for key, value in data.items() if key not in ("date", "meta")}

    assert stamped(json.loads(page.text)) == stamped(json.loads(q2025.model_dump_json(exclude_none=True)))


def test_the_policy_page_links_to_its_questionnaire(site):
    page = html.unescape(get(site, f"/-/kb/policy?policy={POLICY}&as_of=2025-12-01").text)
    assert f'href="/-/kb/questionnaire?policy={POLICY}&as_of=V2025-11"' in page


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("policy=CP.PHAR.35&as_of=2025-12-01", "Did you mean CP.PHAR.359?"),
        (f"policy={POLICY}&as_of=2025-13-01", "is not a calendar date"),
        (f"policy={POLICY}&as_of=2010-01-01", "is not covered on 2010-01-01"),
        (f"policy={POLICY}&as_of=V1999", "has no version 'V1999'"),
    ],
)
def test_errors_are_explained_on_the_page(site, query, said):
    page = get(site, f"/-/kb/questionnaire?{query}")
    assert page.status_code == 400 and said in html.unescape(page.text)


def test_a_hostile_parameter_is_echoed_as_text(site):
    page = get(site, "/-/kb/questionnaire?policy=<script>alert(1)</script>&as_of=2025-12-01")
    assert page.status_code == 400 and "<script>alert(1)" not in page.text and "&lt;script&gt;alert(1)" in page.text


# --- every version, every policy of the corpus -------------------------------------------------


def _checked(form: Questionnaire) -> None:
    """linkIds unique, every enableWhen names a question of the form, answered with its own type."""
    every = []

    def walk(found) -> None:
        for item in found or []:
            every.append(item)
            walk(item.item)

    walk(form.item)
    by_link = {item.linkId: item for item in every}
    assert len(by_link) == len(every)
    kinds = {"boolean": "answerBoolean", "choice": "answerCoding", "open-choice": "answerCoding"}
    kinds |= {"decimal": "answerDecimal", "integer": "answerInteger"}
    for item in every:
        for condition in item.enableWhen or []:
            asked = by_link[condition.question]
            assert asked.type not in ("display", "group")
            if condition.operator != "exists":
                assert getattr(condition, kinds[asked.type]) is not None, (item.linkId, condition.question)
        assert item.enableBehavior or len(item.enableWhen or []) < 2


def test_every_version_of_the_bundled_policy_gives_a_consistent_questionnaire(loaded_kb):
    for version in loaded_kb.versions(POLICY):
        form = exported(loaded_kb, version["label"])
        assert form.version == version["label"]
        _checked(form)


def test_every_policy_of_the_corpus_gives_a_consistent_questionnaire(tmp_path_factory):
    if not (CORPUS / "centene").is_dir():
        pytest.skip("the corpus is not beside the checkout")
    with KnowledgeBase(tmp_path_factory.mktemp("corpus") / "kb.sqlite") as kb:
        kb.load([*bundled_policy_paths(), *sorted((CORPUS / "centene").glob("*.txt"))])
        for row in kb.policies():
            latest = kb.versions(row["policy_id"])[-1]["valid_from"]
            form = questionnaire(kb.as_of(row["policy_id"], latest))
            _checked(form)
            assert questions(form) - {"request_type", "date_of_service", "line_of_business", "renewal_date"}

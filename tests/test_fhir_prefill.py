"""DTR prefill: the SDC initialExpressions of the Besponsa questionnaire, run with fhirpathpy over a
Patient, a Condition and a PractitionerRole as a DTR client would, fill a QuestionnaireResponse
that is read back as a request.

Expected values are read from the resources below and the policy text (CP.PHAR.359 I.A.1 "Diagnosis
of B-cell ALL", I.A.2 "Prescribed by ... an oncologist or hematologist", I.A.3 "Age >= 1 year").
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from fhirpathpy import evaluate
from fhirpathpy.models import models

from kb.surfaces.fhir.prefill import INITIAL_EXPRESSION, LAUNCH_CONTEXT, VARIABLE
from kb.surfaces.fhir.questionnaire import questionnaire
from kb.surfaces.fhir.response import questions, response_request

BIRTH = date(1979, 12, 31)
PATIENT = {"resourceType": "Patient", "id": "p1", "birthDate": BIRTH.isoformat()}
CONDITION = {
    "resourceType": "Condition",
    "id": "c1",
    "subject": {"reference": "Patient/p1"},
    "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C91.00"}], "text": "ALL"},
}
ROLE = {
    "resourceType": "PractitionerRole",
    "id": "r1",
    "practitioner": {"reference": "Practitioner/u1"},
    # NUCC 207RH0003X: Internal Medicine, Hematology & Oncology
    "code": [{"coding": [{"system": "http://nucc.org/provider-taxonomy", "code": "207RH0003X"}]}],
}


def searchset(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


@pytest.fixture(scope="module")
def form(loaded_kb) -> dict[str, Any]:
    answer = loaded_kb.as_of("CP.PHAR.359", date(2025, 12, 1))
    return questionnaire(answer).model_dump(mode="json", exclude_none=True)


def filled(form: dict[str, Any], variables: dict[str, Any]) -> QuestionnaireResponse:
    """What a DTR client does: each item with an initialExpression answered with what it yields."""
    items = []
    for item in form["item"]:
        for extension in item.get("extension", []):
            if extension["url"] != INITIAL_EXPRESSION:
                continue
            found = evaluate({}, extension["valueExpression"]["expression"], variables, models["r4"])
            key = "valueDecimal" if item["type"] == "decimal" else "valueCoding"
            items.append({"linkId": item["linkId"], "answer": [{key: value} for value in found]})
    items.append({"linkId": "date_of_service", "answer": [{"valueDate": "2025-12-01"}]})
    return QuestionnaireResponse.model_validate(
        {
            "resourceType": "QuestionnaireResponse",
            "status": "in-progress",
            "questionnaire": form["url"] + "|" + form["version"],
            "item": items,
        }
    )


def test_the_form_names_its_launch_contexts_and_queries(form) -> None:
    urls = [e["url"] for e in form["extension"]]
    assert urls.count(LAUNCH_CONTEXT) == 2 and urls.count(VARIABLE) == 2
    prefilled = {
        i["linkId"] for i in form["item"] if any(e["url"] == INITIAL_EXPRESSION for e in i.get("extension", []))
    }
    assert prefilled == {"age_years", "diagnosis", "prescriber_specialty"}


def test_a_response_is_filled_from_a_patient_a_condition_and_a_role(form) -> None:
    today = date.today()
    age = today.year - BIRTH.year - ((today.month, today.day) < (BIRTH.month, BIRTH.day))
    response = filled(form, {"patient": PATIENT, "conditions": searchset(CONDITION), "roles": searchset(ROLE)})
    request = response_request(response, questions(questionnaire_of(form)), "prefilled")
    assert request.facts["age_years"] == age
    assert request.facts["diagnosis"] == {"system": CONDITION["code"]["coding"][0]["system"], "code": "C91.00"}
    assert request.facts["prescriber_specialty"] == {
        "system": "http://nucc.org/provider-taxonomy",
        "code": "207RH0003X",
    }


def test_nothing_is_prefilled_where_the_ehr_holds_nothing(form) -> None:
    response = filled(
        form, {"patient": {"resourceType": "Patient", "id": "p2"}, "conditions": searchset(), "roles": searchset()}
    )
    request = response_request(response, questions(questionnaire_of(form)), "prefilled")
    assert not {"age_years", "diagnosis", "prescriber_specialty"} & set(request.facts)


def questionnaire_of(form: dict[str, Any]) -> Questionnaire:
    return Questionnaire.model_validate(form)

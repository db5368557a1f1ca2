"""DTR prefill: the questions an EHR can answer from what it holds, as SDC expressions.

A DTR client launches the Questionnaire with the SDC launch contexts ``patient`` (a Patient) and
``user`` (the ordering Practitioner), runs the ``x-fhir-query`` variables against its FHIR
server and fills each item that has an ``initialExpression`` (FHIRPath) with what it finds; the
user sees the values and may change them. Only facts the EHR records as data are prefilled:

| fact | FHIRPath | from |
|---|---|---|
| ``age_years`` | whole years from ``%patient.birthDate`` to today | the Patient |
| ``diagnosis`` | the ICD-10-CM codings of the patient's active Conditions | ``%conditions`` |
| ``prescriber_specialty`` | the NUCC codings of the user's PractitionerRoles | ``%roles`` |

The age is counted to the day the form is filled, not to the date of service (which the form
asks for); an answer the user leaves as prefilled is read as any other answer.
"""

from __future__ import annotations

from typing import Any

from kb.concepts.codes import SYSTEMS

SDC = "http://hl7.org/fhir/uv/sdc/StructureDefinition/"
LAUNCH_CONTEXT = SDC + "sdc-questionnaire-launchContext"
INITIAL_EXPRESSION = SDC + "sdc-questionnaire-initialExpression"
VARIABLE = "http://hl7.org/fhir/StructureDefinition/variable"
LAUNCH_SYSTEM = "http://hl7.org/fhir/uv/sdc/CodeSystem/launchContext"

_AGE = (
    "today().toString().substring(0, 4).toInteger() - %patient.birthDate.toString().substring(0, 4).toInteger()"
    " - iif(today().toString().substring(5, 5) < %patient.birthDate.toString().substring(5, 5), 1, 0)"
)
EXPRESSIONS = {
    "age_years": _AGE,
    "diagnosis": f"%conditions.entry.resource.code.coding.where(system = '{SYSTEMS['ICD-10-CM'][0]}')",
    "prescriber_specialty": f"%roles.entry.resource.code.coding.where(system = '{SYSTEMS['NUCC'][0]}')",
}
"""The FHIRPath that answers each prefilled fact over the launch context and the variables."""
QUERIES = {
    "conditions": "Condition?patient={{%patient.id}}&clinical-status=active",
    "roles": "PractitionerRole?practitioner={{%user.id}}",
}
"""The x-fhir-query variables the expressions read."""


def initial_expression(fact: str) -> list[dict[str, Any]]:
    """The item extension that prefills ``fact`` (empty where the EHR holds no such fact)."""
    if fact not in EXPRESSIONS:
        return []
    expression = {"language": "text/fhirpath", "expression": EXPRESSIONS[fact]}
    return [{"url": INITIAL_EXPRESSION, "valueExpression": expression}]


def launch_extensions(facts: set[str]) -> list[dict[str, Any]]:
    """The Questionnaire's launch contexts and variables, for the prefilled facts it asks."""
    if not facts & set(EXPRESSIONS):
        return []
    contexts = [
        {
            "url": LAUNCH_CONTEXT,
            "extension": [
                {"url": "name", "valueCoding": {"system": LAUNCH_SYSTEM, "code": name}},
                {"url": "type", "valueCode": kind},
            ],
        }
        for name, kind in (("patient", "Patient"), ("user", "Practitioner"))
    ]
    variables = [
        {"url": VARIABLE, "valueExpression": {"name": name, "language": "application/x-fhir-query", "expression": q}}
        for name, q in QUERIES.items()
        if any(f"%{name}" in EXPRESSIONS[fact] for fact in facts & set(EXPRESSIONS))
    ]
    return contexts + variables

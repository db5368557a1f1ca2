"""Da Vinci DTR: a filled QuestionnaireResponse read back as a request, and decided.

``response_request`` reads the answers into a ``kb.concepts.facts.Request`` (each answer by the
value type its fact takes); ``decide_response`` is ``kb evaluate QR.json``: the decision under
the version in force on the date of service, with a note where the questionnaire answered was
another version's. A defect is a ``FhirError`` naming the item.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse, QuestionnaireResponseItem

from kb.concepts.facts import FACTS, REQUEST_TYPES, Fact, Request, RequestError, read_fact
from kb.concepts.quantity import QuantityError
from kb.dates import to_date
from kb.errors import KBError
from kb.surfaces.fhir.facts import full_date
from kb.surfaces.fhir.questionnaire import CONCEPT_SYSTEM, FACT_SYSTEM, URL_PREFIX, questionnaire
from kb.surfaces.fhir.resources import FhirError, Issue, parse


def canonical(response: QuestionnaireResponse, source: str) -> tuple[str, str | None]:
    """(policy, version label) named by ``QuestionnaireResponse.questionnaire``."""
    named = response.questionnaire or ""
    if not named.startswith(URL_PREFIX):
        raise FhirError(
            source,
            [
                Issue(
                    "QuestionnaireResponse.questionnaire",
                    f"the canonical of a questionnaire of this knowledge base ({URL_PREFIX}POLICY|VERSION);"
                    f" found {named!r}",
                    "not-supported" if named else "required",
                )
            ],
        )
    policy, _, version = named.removeprefix(URL_PREFIX).partition("|")
    return policy, version or None


def _answered(items: list[QuestionnaireResponseItem], path: str) -> Iterator[tuple[str, QuestionnaireResponseItem]]:
    """Every item of a response with its FHIR path, nested items (in groups and under answers) too."""
    for index, item in enumerate(items or []):
        here = f"{path}.item[{index}]"
        yield here, item
        yield from _answered(item.item or [], here)
        for number, answer in enumerate(item.answer or []):
            yield from _answered(answer.item or [], f"{here}.answer[{number}]")


VALUE_OF_TYPE = {
    "boolean": ("valueBoolean",),
    "integer": ("valueInteger",),
    "number": ("valueDecimal", "valueInteger"),
    "date": ("valueDate",),
    "choice": ("valueCoding", "valueString"),
    "concept": ("valueCoding", "valueString"),
    "concepts": ("valueCoding", "valueString"),
    "quantity": ("valueQuantity",),
    "measurement": ("valueQuantity", "valueDecimal", "valueInteger"),
}


def _raw(fact: Fact, field: str, value: Any) -> Any:
    """An answer's value as the request JSON gives the fact."""
    if field == "valueCoding":
        system, code = value.system or "", value.code
        if system in (FACT_SYSTEM + fact.name, CONCEPT_SYSTEM + (fact.kind or "")):
            return code
        if fact.type == "choice":
            raise ValueError(f"a coding of {FACT_SYSTEM + fact.name}; found system {system!r}")
        return {"system": system, "code": code}
    if field == "valueQuantity":
        if fact.type == "measurement":
            return {"value": float(value.value), "unit": value.unit or value.code or fact.unit}
        unit, _, per = (value.unit or value.code or "").partition(" per ")
        return {"value": float(value.value), "unit": unit, "per": per or "dose"}
    if field == "valueDecimal":
        return float(value)
    if field == "valueDate":
        return to_date(value).isoformat()  # a partial date ("2025") names no day: refused
    return value


def response_request(response: QuestionnaireResponse, questions: set[str], source: str) -> Request:
    """The request a filled response states.

    ``questions``: the linkIds of the questionnaire's questions; an answer to another linkId, a
    value of the wrong type or a value the fact vocabulary refuses is a ``FhirError`` naming the item.
    """
    policy, _ = canonical(response, source)
    issues: list[Issue] = []
    facts: dict[str, Any] = {}
    request_type, service = "initial", None
    for path, item in _answered(response.item or [], "QuestionnaireResponse"):
        if not item.answer:
            continue
        name = item.linkId
        if name not in questions:
            issues.append(Issue(f"{path}.linkId", f"a question of {response.questionnaire}; found {name!r}", "value"))
            continue
        fact = FACTS[name] if name != "request_type" else Fact(name, "choice", "", values=REQUEST_TYPES)
        values = []
        for number, answer in enumerate(item.answer):
            given = [(k, getattr(answer, k)) for k in type(answer).model_fields if k.startswith("value")]
            given = [(k, v) for k, v in given if v is not None and not k.endswith("__ext")]
            where = f"{path}.answer[{number}]"
            allowed = VALUE_OF_TYPE[fact.type]
            if len(given) != 1 or given[0][0] not in allowed:
                found = f"; found {given[0][0]}" if given else ""
                issues.append(Issue(where, f"{name!r} is answered with {' or '.join(allowed)}{found}", "value"))
                continue
            try:
                raw = _raw(fact, *given[0])
                read_fact(fact, [raw] if fact.type == "concepts" else raw)
            except (ValueError, TypeError, QuantityError) as error:
                issues.append(Issue(where, f"{name!r}: {error}", "value"))
                continue
            values.append(raw)
        if not values:
            continue
        if name == "request_type":
            request_type = values[0]
        elif name == "date_of_service":
            service = values[0]
        elif fact.type in ("concepts", "quantity") and name not in facts:
            facts[name] = values
        elif name in facts or len(values) > 1:
            issues.append(Issue(path, f"{name!r} takes one answer; it is answered more than once", "value"))
        else:
            facts[name] = values[0]
    if service is None and response.authored is not None:
        service = full_date(response.authored, "QuestionnaireResponse.authored", source).isoformat()
    if service is None:
        issues.append(
            Issue(
                "QuestionnaireResponse.authored",
                "a date of service: answer date_of_service or give authored",
                "required",
            )
        )
    if issues:
        raise FhirError(source, issues)
    data = {"policy": policy, "date_of_service": service, "request_type": request_type, "facts": facts}
    return Request.from_json(data, source)


def questions(form: Questionnaire) -> set[str]:
    """The linkIds of a questionnaire's questions (not its display items)."""

    def every(items: list[Any]) -> Iterator[Any]:
        for item in items or []:
            yield item
            yield from every(item.item or [])

    return {item.linkId for item in every(form.item) if item.type not in ("display", "group")}


def decide_response(kb: Any, data: dict[str, Any], source: str, when: str | None = None) -> tuple[Any, list[str]]:
    """``kb evaluate QR.json``: the decision on a filled response, as on its plain JSON twin, and notes.

    ``kb`` is a ``KnowledgeBase``. The canonical names the policy and the version whose questions
    were answered; the decision is made under the version in force on the date of service (or
    ``when``), as for a JSON request, and a note says so where the two differ.
    """
    response = parse(data, source, ("QuestionnaireResponse",))
    if response.status == "entered-in-error":
        raise FhirError(source, [Issue("QuestionnaireResponse.status", "a response not entered in error", "value")])
    policy, version = canonical(response, source)
    asked = set(FACTS) | {"request_type"}
    if version is not None:
        try:
            asked = questions(questionnaire(kb.as_of(policy, kb.resolve(policy, version))))
        except KBError as error:
            raise FhirError(source, [Issue("QuestionnaireResponse.questionnaire", str(error), "not-found")]) from None
    try:
        decision = kb.evaluate(response_request(response, asked, source), when)
    except RequestError as error:
        raise FhirError(source, [Issue("QuestionnaireResponse.item", str(error), "value")]) from None
    in_force = (decision.version or {}).get("label")
    notes = []
    if version is not None and in_force != version:
        notes.append(
            f"{source}: the response answers the questionnaire of {version}; {in_force or 'no version'} is in force"
            f" on {decision.evaluated_as_of or decision.request.date_of_service} and decided it"
        )
    return decision, notes

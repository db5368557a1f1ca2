"""Reading FHIR R4 payloads into ``fhir.resources`` R4B models, and answering defects.

A defective payload raises ``FhirError``: one ``Issue`` per defect, each with the FHIR path
(``Bundle.entry[1].resource.insurance``) and what was expected, ready to become an
OperationOutcome (FHIR) or a CDS Hooks error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.resource import Resource
from pydantic import ValidationError

from kb.errors import KBError


@dataclass(frozen=True)
class Issue:
    """One defect of a payload: where it is (a FHIR path) and what was expected there."""

    path: str
    expected: str
    code: str = "invalid"  # FHIR issue-type: invalid, structure, required, value, not-supported, ...

    def __str__(self) -> str:
        return f"{self.path}: {self.expected}"


class FhirError(KBError):
    """A payload that is not what the receiving flow expects; names the source and each defect."""

    def __init__(self, source: str, issues: list[Issue]) -> None:
        self.source = source
        self.issues = issues
        listed = "; ".join(str(issue) for issue in issues[:5])
        more = f" (and {len(issues) - 5} more)" if len(issues) > 5 else ""
        super().__init__(f"{source}: {listed}{more}")


def fhir_path(resource_type: str, location: tuple[str | int, ...]) -> str:
    """``("entry", 1, "resource", "insurance")`` -> ``Bundle.entry[1].resource.insurance``."""
    path = resource_type
    for step in location:
        path += f"[{step}]" if isinstance(step, int) else f".{step}"
    return path


_PYDANTIC_TYPES = {
    "missing": ("required", "a value is required"),
    "extra_forbidden": ("structure", "an element this resource type does not have"),
    "list_type": ("structure", "a list (JSON array)"),
    "json_invalid": ("structure", "a complex element (JSON object), not a plain value"),
    "dict_type": ("structure", "a complex element (JSON object)"),
    "model_type": ("structure", "a complex element (JSON object)"),
    "string_pattern_mismatch": (
        "value",
        "a value of the element's FHIR type (a code has no leading, trailing or double spaces)",
    ),
}


def _issue(resource_type: str, error: dict[str, Any]) -> Issue:
    location = tuple(step for step in error["loc"] if step != "__root__")
    code, expected = _PYDANTIC_TYPES.get(error["type"], ("value", error["msg"]))
    found = error.get("input")
    if error["type"] not in ("missing",) and isinstance(found, str | int | float | bool):
        expected += f"; found {found!r}"
    return Issue(fhir_path(resource_type, location), expected, code)


def parse(data: Any, source: str, expected: tuple[str, ...] | None = None) -> Resource:
    """The R4B model of a FHIR resource given as JSON data, or a ``FhirError`` naming its defects.

    ``expected`` lists the resource types the caller accepts; another type is refused by name.
    """
    if not isinstance(data, dict):
        raise FhirError(source, [Issue("(root)", "a FHIR resource (JSON object)", "structure")])
    resource_type = data.get("resourceType")
    if not isinstance(resource_type, str) or not resource_type:
        raise FhirError(source, [Issue("(root).resourceType", "a FHIR resource type", "required")])
    if expected and resource_type not in expected:
        wanted = " or ".join(expected)
        raise FhirError(source, [Issue(f"{resource_type}", f"a {wanted} resource", "not-supported")])
    try:
        model = get_fhir_model_class(resource_type)
    except (KeyError, ValueError):
        raise FhirError(
            source, [Issue(resource_type, "a FHIR R4 resource type; this one is unknown", "not-supported")]
        ) from None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise FhirError(source, [_issue(resource_type, detail) for detail in error.errors()]) from None
    except (ValueError, TypeError, RecursionError) as error:
        raise FhirError(source, [Issue(resource_type, f"a valid resource ({error})")]) from None


def operation_outcome(error: FhirError) -> OperationOutcome:
    """The OperationOutcome that answers a defective payload: one error issue per defect."""
    return OperationOutcome(
        issue=[
            {
                "severity": "error",
                "code": issue.code,
                "diagnostics": f"{error.source}: {issue.expected}",
                "expression": [issue.path],
            }
            for issue in error.issues
        ]
    )

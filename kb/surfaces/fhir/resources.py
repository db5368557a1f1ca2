"""Reading FHIR R4 payloads into ``fhir.resources`` R4B models, and answering defects.

A defective payload raises ``FhirError``: one ``Issue`` per defect, each with the FHIR path
(``Bundle.entry[1].resource.insurance``) and what was expected, ready to become an
OperationOutcome (FHIR) or a CDS Hooks error.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
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


_FHIR_VALUES = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "less_than_equal": "an integer of at most 2,147,483,647 (FHIR integer)",
    "greater_than_equal": "an integer of at least -2,147,483,648 (FHIR integer)",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "float_type": "a decimal number",
    "float_parsing": "a decimal number",
    "decimal_type": "a decimal number",
    "decimal_parsing": "a decimal number",
    "date_type": "a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD, a real calendar date)",
    "date_parsing": "a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD, a real calendar date)",
    "date_from_datetime_parsing": "a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD, a real calendar date)",
    "datetime_type": "a FHIR dateTime (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss+zz:zz)",
    "datetime_parsing": "a FHIR dateTime (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss+zz:zz)",
    "datetime_from_date_parsing": "a FHIR dateTime (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss+zz:zz)",
}
"""What FHIR expects where the models found a value of the wrong primitive type."""
_FORMATS = {
    "Date": "a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD)",
    "DateTime": "a FHIR dateTime (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss+zz:zz)",
    "Instant": "a FHIR instant (YYYY-MM-DDThh:mm:ss.sss+zz:zz)",
    "Time": "a FHIR time (hh:mm:ss)",
    "Decimal": "a FHIR decimal (digits, an optional sign, point and exponent)",
}
_SPEC_REGEX = re.compile(r"(\w+) value string does not match spec regex")
_INSTANCE_OF = re.compile(r"instance of (\w+)")


def _expected(error: dict[str, Any]) -> tuple[str, str]:
    """(FHIR issue code, what FHIR expects) for one error of the models, in FHIR's words."""
    if error["type"] in _PYDANTIC_TYPES:
        return _PYDANTIC_TYPES[error["type"]]
    if error["type"] in _FHIR_VALUES:
        return "value", _FHIR_VALUES[error["type"]]
    message = str(error["msg"]).removeprefix("Value error, ")
    if found := _SPEC_REGEX.search(message):
        return "value", _FORMATS.get(found[1], f"a FHIR {found[1][:1].lower()}{found[1][1:]}")
    if found := _INSTANCE_OF.search(message):
        return "structure", f"an element of type {found[1]} (a JSON object)"
    if message.startswith("Input should be"):
        return "value", "a value of the element's FHIR type"
    return "value", message


def _issue(resource_type: str, error: dict[str, Any]) -> Issue:
    location = tuple(step for step in error["loc"] if step not in ("__root__", "root"))
    code, expected = _expected(error)
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
    if unknown := list(_unknown_types(data, resource_type)):
        raise FhirError(source, unknown)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise FhirError(source, [_issue(resource_type, detail) for detail in error.errors()]) from None
    except (ValueError, TypeError, RecursionError) as error:
        raise FhirError(source, [Issue(resource_type, f"a valid resource ({error})")]) from None


def _unknown_types(data: Any, path: str) -> Iterator[Issue]:
    """An issue for each resource inside ``data`` (an entry's resource, a contained one) whose
    resourceType names no FHIR R4 resource, in document order (walked with a queue: no depth limit)."""
    queue = deque([(data, path)])
    while queue:
        node, where = queue.popleft()
        children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in children:
            here = f"{where}[{key}]" if isinstance(key, int) else f"{where}.{key}"
            if isinstance(value, dict) and "resourceType" in value and not _known_type(value["resourceType"]):
                found = value["resourceType"]
                yield Issue(f"{here}.resourceType", f"a FHIR R4 resource type; found {found!r}", "not-supported")
            else:
                queue.append((value, here))


def _known_type(name: Any) -> bool:
    try:
        return isinstance(name, str) and get_fhir_model_class(name) is not None
    except (KeyError, ValueError):
        return False


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

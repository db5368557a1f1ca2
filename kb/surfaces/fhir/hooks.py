"""A CDS Hooks request read leniently, resource by resource, as CRD asks of servers.

CRD servers SHALL ignore elements they do not expect and SHALL give what coverage information
they can. So ``read_hook`` refuses (``HookError``, HTTP 400) only a request that is unusable as a
whole: not a JSON object, another hook, no ``hookInstance``, no ``context``, no draft orders at
all. Everything else is read one resource at a time:

- ``context.draftOrders`` is read entry by entry (a Bundle without ``type`` is still a list of
  orders); only MedicationRequests are evaluated, every other order is listed in a note;
- a form R4 states otherwise is read in its R4 form and said so: a single object where R4 has a
  list (``doseAndRate: {...}``), STU3's ``Dosage.doseQuantity`` / ``rate[x]`` moved into
  ``doseAndRate``; an element R4 does not have is dropped and noted, and an order so changed is
  flagged ``altered`` (its coverage information goes on a card: an update would drop the element);
- a resource still unreadable (a MedicationRequest without ``intent``) is noted with its defects,
  and a prefetch that cannot be read is noted and left out.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.resource import Resource
from pydantic import ValidationError

from kb.errors import KBError
from kb.surfaces.fhir.facts import Resources
from kb.surfaces.fhir.resources import FhirError, Issue, fhir_path, parse

STU3_DOSE = ("doseQuantity", "doseRange", "rateRatio", "rateRange", "rateQuantity")
"""STU3 ``Dosage`` elements that R4 holds in ``Dosage.doseAndRate``."""


class HookError(KBError):
    """A hook request this service cannot answer: HTTP status, message and the defects by path."""

    def __init__(self, message: str, issues: list[Issue] | None = None, status: int = 400) -> None:
        self.message = message
        self.issues = issues or []
        self.status = status
        super().__init__(message)

    @classmethod
    def of(cls, error: FhirError) -> HookError:
        return cls(str(error), error.issues)

    def to_json(self) -> dict[str, Any]:
        """The CDS Hooks-style error body."""
        return {
            "error": self.message,
            "status": self.status,
            "issues": [{"path": i.path, "expected": i.expected, "code": i.code} for i in self.issues],
        }


@dataclass
class Order:
    """A MedicationRequest of the draft orders, read, with where it is and whether reading changed it."""

    path: str
    resource: MedicationRequest
    altered: bool = False


@dataclass
class HookRequest:
    """A hook request read: its orders, the resources it carries, and what was ignored or reformed."""

    hook: str
    instance: str
    context: dict[str, Any]
    orders: list[Order] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    resources: Resources = field(default_factory=Resources)
    configuration: dict[str, Any] = field(default_factory=dict)


def _at(data: Any, location: tuple[str | int, ...]) -> tuple[Any, str | int] | None:
    """The container of the element at ``location`` and its key, or None if the path is gone."""
    for step in location[:-1]:
        try:
            data = data[step]
        except (KeyError, IndexError, TypeError):
            return None
    return (data, location[-1]) if location else None


def _repair(data: dict[str, Any], error: dict[str, Any]) -> tuple[str | None, bool]:
    """Apply one repair of form for a validation error: (the note, whether an element was dropped);
    (None, False) when the error is not one of form."""
    found = _at(data, tuple(error["loc"]))
    if found is None:
        return None, False
    parent, key = found
    where = fhir_path(data["resourceType"], tuple(error["loc"]))
    if error["type"] == "list_type" and isinstance(parent[key], dict):
        parent[key] = [parent[key]]
        return f"{where}: one object where R4 has a list; read as a list of one", False
    if error["type"] != "extra_forbidden" or not isinstance(parent, dict):
        return None, False
    value = parent.pop(key)
    if key in STU3_DOSE:
        rates = parent.setdefault("doseAndRate", [{}])
        if isinstance(rates, list) and rates and isinstance(rates[0], dict) and key not in rates[0]:
            rates[0][key] = value
            return f"{where}: the STU3 form; read as R4 Dosage.doseAndRate[0].{key}", False
    return f"{where}: an element R4 does not have; ignored", True


def read_resource(data: Any, path: str) -> tuple[Resource | None, list[str], bool]:
    """A resource read in its R4 form: (the model or None, notes, whether an element was dropped)."""
    try:
        return parse(data, path), [], False
    except FhirError as error:
        if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
            return None, [str(error)], False
        refused = error
    repaired, notes, dropped = copy.deepcopy(data), [], False
    for _ in range(3):  # a repair can reveal the next defect of form inside what it moved
        try:
            return get_fhir_model_class(repaired["resourceType"]).model_validate(repaired), notes, dropped
        except ValidationError as invalid:
            fixes = [_repair(repaired, detail) for detail in invalid.errors()]
        except (ValueError, TypeError, KeyError, RecursionError):
            break
        if not all(note for note, _ in fixes):
            break
        notes += [f"{path}: {note}" for note, _ in fixes]
        dropped = dropped or any(lost for _, lost in fixes)
    return None, [f"{refused.source}: {'; '.join(str(i) for i in refused.issues[:5])}"], False


def _entries(orders: Any) -> list[Any]:
    """The resources of ``context.draftOrders``: a Bundle's entries, typed or not."""
    if not isinstance(orders, dict):
        raise HookError(
            "context.draftOrders: expected a FHIR Bundle of the draft orders",
            [Issue("context.draftOrders", "a Bundle", "required")],
        )
    entries = orders.get("entry")
    resources = [e.get("resource") for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    if not any(isinstance(r, dict) for r in resources):
        raise HookError(
            "context.draftOrders: the Bundle holds no orders",
            [Issue("context.draftOrders.entry", "at least one entry with a resource", "required")],
        )
    return resources


def _check(service_hook: str, body: Any) -> tuple[str, str, dict[str, Any]]:
    if not isinstance(body, dict):
        raise HookError("expected a CDS Hooks request (a JSON object with hook, hookInstance and context)")
    hook = body.get("hook")
    if hook != service_hook:
        raise HookError(f"this service answers the {service_hook} hook; found {hook!r}", [Issue("hook", service_hook)])
    missing = [name for name in ("hookInstance", "context") if not body.get(name)]
    if missing or not isinstance(body["context"], dict):
        names = missing or ["context"]
        raise HookError(
            f"missing {', '.join(names)}", [Issue(name, "a value is required", "required") for name in names]
        )
    return hook, str(body["hookInstance"]), body["context"]


def read_hook(service_hook: str, body: Any) -> HookRequest:
    """A hook request read leniently, or a ``HookError`` when it is unusable as a whole."""
    hook, instance, context = _check(service_hook, body)
    read = HookRequest(hook, instance, context)
    for index, data in enumerate(_entries(context.get("draftOrders"))):
        path = f"context.draftOrders.entry[{index}].resource"
        kind = data.get("resourceType", "?") if isinstance(data, dict) else "?"
        read.kinds.append(str(kind))
        resource, notes, dropped = read_resource(data, path)
        read.resources.add(resource)
        if kind != "MedicationRequest":
            read.notes.append(f"{path}: a {kind}; this service evaluates MedicationRequest orders only")
            continue
        read.notes += notes
        if isinstance(resource, MedicationRequest):
            read.orders.append(Order(path, resource, dropped))
    prefetch = body.get("prefetch")
    for key, value in prefetch.items() if isinstance(prefetch, dict) else []:
        if value is not None:  # a prefetch the EHR could not fill is null
            resource, notes, _ = read_resource(value, f"prefetch.{key}")
            read.resources.add(resource)
            read.notes += notes
    extension = body.get("extension")
    configuration = extension.get("davinci-crd.configuration") if isinstance(extension, dict) else None
    read.configuration = configuration if isinstance(configuration, dict) else {}
    return read

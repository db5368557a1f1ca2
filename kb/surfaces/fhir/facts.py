"""FHIR resources -> the facts of a request (``kb facts``), and the policy for a drug.

A PAS request Bundle (a Claim with ``use = preauthorization``) gives, per item:

- ``date_of_service``: the item's ``servicedDate`` or ``servicedPeriod.start`` (required: it
  picks the policy version);
- ``requested_drug``: the item's ``productOrService`` coded in HCPCS or NDC, else the
  MedicationRequest its ``extension-requestedService`` links (RxNorm, NDC or HCPCS; RxNorm and NDC
  through the payer's crosswalk); the policy is the one whose HCPCS codes name the drug
  (``kb.surfaces.fhir.drugs``);
- ``age_years``: whole years from ``Patient.birthDate`` (a full date) to the date of service;
- ``diagnosis``: the item's (else the principal) ``Claim.diagnosis``, coded in ICD-10-CM
  directly or through a Condition; where the code does not name the subtype (C91.0 "ALL" holds
  B-cell and T-cell ALL) and the text names a narrower concept of it, the text is read;
- ``prescriber_specialty``: the item's care team member's ``qualification``, else the NUCC
  taxonomy of their PractitionerRole;
- ``line_of_business``: the focal Coverage, by ``data/lines_of_business.toml`` (left unknown
  when nothing there names one line, never guessed);
- ``request_type``: the item's ``extension-certificationType`` (X12 1322: I initial; R renewal
  and 4 extension are continuations; absent: initial);
- every other fact from ``Claim.supportingInfo`` with ``code`` ``urn:policy-as-data:fact#NAME``
  and ``valueBoolean``, ``valueQuantity`` (a number, or a measurement with unit and
  ``timingDate``) or ``valueString`` (a phrase, or the fact's JSON value as the plain request
  gives it when it starts with ``{`` or ``[``; several entries of a list fact make the list).

Facts the Bundle does not carry stay unknown: the decision pends, naming them, and
``documentation(fact)`` says what would settle each one.
"""

from __future__ import annotations

import json
import sqlite3
import tomllib
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.claim import Claim, ClaimItem
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coverage import Coverage
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.resource import Resource

from kb.concepts.codes import CodeError, system_name
from kb.concepts.facts import FACTS
from kb.concepts.match import Value, ancestors, read_phrase, read_value
from kb.dates import to_date
from kb.surfaces.fhir.drugs import crosswalked, policy_for_drug
from kb.surfaces.fhir.resources import FhirError, Issue, parse
from kb.surfaces.request_files import JsonNumberError, json_value

__all__ = ["policy_for_drug"]  # the policy for a drug lives in kb.surfaces.fhir.drugs; read here too

DATA = Path(__file__).parent / "data"
FACT_SYSTEM = "urn:policy-as-data:fact"
PAS = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
REQUESTED_SERVICE = PAS + "extension-requestedService"
CERTIFICATION_TYPE = PAS + "extension-certificationType"
CERTIFICATION = {"I": "initial", "R": "continuation", "4": "continuation"}
"""X12 1322 certification type -> request type."""
DRUG_SYSTEMS = {"HCPCS", "NDC", "RxNorm"}


@cache
def documentation(fact: str) -> str:
    """The documentation that settles ``fact`` in a PAS request."""
    known = tomllib.loads((DATA / "documentation.toml").read_text(encoding="utf-8"))
    if fact in known:
        return known[fact]
    meaning = FACTS[fact].meaning if fact in FACTS else fact
    return f"Claim.supportingInfo coded {FACT_SYSTEM}#{fact}: {meaning}"


def need_fact(need: str) -> str | None:
    """The fact a decision's need names (each starts with one), or None (a clinical review)."""
    name = need.replace(":", " ").split()[0] if need.strip() else ""
    return name if name in FACTS else None


def settles(need: str) -> str:
    """What settles one need of a decision: the documentation of its fact, or the plan's review."""
    fact = need_fact(need)
    return documentation(fact) if fact else "the plan's clinical reviewer, with the documentation submitted"


@cache
def _lines_of_business() -> dict[str, Any]:
    return tomllib.loads((DATA / "lines_of_business.toml").read_text(encoding="utf-8"))


def _codings(concept: CodeableConcept | None) -> list[tuple[str, str]]:
    return [(c.system or "", c.code or "") for c in (concept.coding or [])] if concept else []


def _texts(concept: CodeableConcept | None) -> list[str]:
    if concept is None:
        return []
    return [t for t in [concept.text, *(c.display for c in concept.coding or [])] if t]


def coded(kind: str, concept: CodeableConcept | None, path: str, systems: set[str], source: str) -> Value | None:
    """The first coding of ``concept`` in one of ``systems`` read as a ``kind`` value; None if
    none is coded there. A malformed or non-existent code is a ``FhirError`` naming the path."""
    for index, (system, code) in enumerate(_codings(concept)):
        try:
            name = system_name(system)
        except CodeError:
            continue
        if name not in systems:
            continue
        try:
            return read_value(kind, {"system": name, "code": code})
        except CodeError as error:
            raise FhirError(source, [Issue(f"{path}.coding[{index}]", str(error), "code-invalid")]) from None
    return None


def drug_of(concept: CodeableConcept | None, path: str, source: str) -> Value | None:
    """The drug a CodeableConcept codes (HCPCS, NDC or RxNorm), or None."""
    return coded("drug", concept, path, DRUG_SYSTEMS, source)


def age_at(birth: date | str | None, day: date) -> int | None:
    """Whole years from ``birth`` to ``day``; None for a partial or missing birth date."""
    if not isinstance(birth, date):
        return None
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def line_of_business(coverage: Coverage | None, payors: list[Resource]) -> str | None:
    """The line of business a Coverage names (codes, then words), or None when none or several."""
    if coverage is None:
        return None
    mapping = _lines_of_business()
    concepts = [coverage.type, *(c.type for c in coverage.class_fhir or [])]
    found: set[str] = set()
    for system, code in (pair for concept in concepts for pair in _codings(concept)):
        for line, entry in mapping.items():
            if any(system == s and code.startswith(tuple(p)) for s, p in entry.get("codes", {}).items()):
                found.add(line)
    words = [t for concept in concepts for t in _texts(concept)]
    words += [c.name for c in coverage.class_fhir or [] if c.name]
    words += [getattr(p, "name", None) or "" for p in payors]
    words += [r.display for r in coverage.payor or [] if r.display]
    text = " ".join(words).casefold()
    found |= {line for line, entry in mapping.items() if any(w in text for w in entry["words"])}
    return found.pop() if len(found) == 1 else None


@dataclass
class Resources:
    """Resources found by reference: full URL or ``Type/id`` (the last two segments of a URL)."""

    by_reference: dict[str, Resource] = field(default_factory=dict)

    def add(self, resource: Resource | None, full_url: str | None = None) -> None:
        """A resource, or every resource of a Bundle (a prefetch searchset, a collection)."""
        if resource is None:
            return
        if isinstance(resource, Bundle):
            for entry in resource.entry or []:
                self.add(entry.resource, entry.fullUrl)
            return
        if full_url:
            self.by_reference[full_url] = resource
        if resource.id:
            self.by_reference[f"{resource.get_resource_type()}/{resource.id}"] = resource

    def resolve(self, reference: Reference | None) -> Resource | None:
        """The resource a reference names, or None."""
        if reference is None or not reference.reference:
            return None
        ref = reference.reference
        return self.by_reference.get(ref) or self.by_reference.get("/".join(ref.split("/")[-2:]))

    def of_type(self, resource_type: str) -> list[Resource]:
        found = {id(r): r for r in self.by_reference.values() if r.get_resource_type() == resource_type}
        return list(found.values())


@dataclass
class PasRequest:
    """A PAS request Bundle read: its Claim and the resources it holds, by reference."""

    source: str
    bundle: Bundle
    claim: Claim
    claim_path: str
    resources: Resources

    def resolve(self, reference: Reference | None) -> Resource | None:
        return self.resources.resolve(reference)


def read_pas(data: Any, source: str) -> PasRequest:
    """A PAS request Bundle, or a ``FhirError`` naming what is not one."""
    bundle = parse(data, source, ("Bundle",))
    assert isinstance(bundle, Bundle)
    resources = Resources()
    resources.add(bundle)
    first = bundle.entry[0].resource if bundle.entry else None
    if not isinstance(first, Claim):
        found = first.get_resource_type() if first is not None else "nothing"
        wanted = f"a PAS request Bundle: its first entry a Claim with use = preauthorization; found {found}"
        raise FhirError(source, [Issue("Bundle.entry[0].resource", wanted, "not-supported")])
    path = "Bundle.entry[0].resource"
    if first.use != "preauthorization":
        wanted = f"preauthorization (a PAS request); found {first.use!r}"
        raise FhirError(source, [Issue(f"{path}.use", wanted, "not-supported")])
    missing = [name for name in ("type", "patient", "insurer", "item") if not getattr(first, name)]
    if missing:
        issues = [Issue(f"{path}.{name}", "a value is required (PAS Claim)", "required") for name in missing]
        raise FhirError(source, issues)
    return PasRequest(source, bundle, first, path, resources)


@dataclass
class ItemFacts:
    """One Claim item read: the drug, its policy (None: no policy covers it) and the request."""

    sequence: int
    product: str
    drug: Value | None
    policy: str | None
    request: dict[str, Any] | None
    """The request as ``kb.concepts.facts.Request.from_json`` takes it (policy, date, type, facts);
    None when no policy covers the item."""


def _product(item: ClaimItem) -> str:
    texts = _texts(item.productOrService)
    codes = [f"{s} {c}" for s, c in _codings(item.productOrService)]
    return texts[0] if texts else (codes[0] if codes else "the service")


def full_date(value: Any, path: str, source: str) -> date:
    """A FHIR date or dateTime as a day; a partial one ("2025-12") is a ``FhirError`` naming the path."""
    try:
        return to_date(value)
    except ValueError:
        raise FhirError(source, [Issue(path, f"a full date YYYY-MM-DD; found {str(value)!r}", "value")]) from None


def _service_date(item: ClaimItem, path: str, source: str) -> date:
    if item.servicedDate is not None:
        return full_date(item.servicedDate, f"{path}.servicedDate", source)
    if item.servicedPeriod is not None and item.servicedPeriod.start is not None:
        return full_date(item.servicedPeriod.start, f"{path}.servicedPeriod.start", source)
    wanted = "the date of service (servicedDate or servicedPeriod.start)"
    raise FhirError(source, [Issue(f"{path}.serviced[x]", wanted, "required")])


def _extension(item: ClaimItem, url: str) -> Any:
    return next((e for e in item.extension or [] if e.url == url), None)


def _item_drug(pas: PasRequest, item: ClaimItem, path: str) -> Value | None:
    drug = coded("drug", item.productOrService, f"{path}.productOrService", {"HCPCS", "NDC"}, pas.source)
    if drug is not None:
        return drug
    linked = _extension(item, REQUESTED_SERVICE)
    requested = pas.resolve(linked.valueReference) if linked else None
    if requested is None or requested.get_resource_type() != "MedicationRequest":
        return None
    medication = getattr(requested, "medicationCodeableConcept", None)
    if medication is None:
        medication = getattr(pas.resolve(getattr(requested, "medicationReference", None)), "code", None)
    return crosswalked(drug_of(medication, f"MedicationRequest/{requested.id}.medication", pas.source))[0]


def diagnosis_of(concept: CodeableConcept | None, path: str, source: str) -> Value | None:
    """The ICD-10-CM diagnosis a CodeableConcept codes, or the narrower concept its text names
    where the code does not name the subtype (C91.02 with text 'B-cell ALL' -> B-cell ALL)."""
    value = coded("diagnosis", concept, path, {"ICD-10-CM"}, source)
    if value is None or value.concept is None:
        return value
    for text in _texts(concept):
        named = read_phrase("diagnosis", text)
        if named.concept and value.concept in ancestors("diagnosis", named.concept):
            return named
    return value


def _diagnosis(pas: PasRequest, item: ClaimItem) -> Value | None:
    entries = sorted(pas.claim.diagnosis or [], key=lambda d: d.sequence)
    wanted = set(item.diagnosisSequence or [])
    chosen = [d for d in entries if d.sequence in wanted] or entries[:1]
    for diagnosis in chosen:
        concept = diagnosis.diagnosisCodeableConcept
        if concept is None:
            concept = getattr(pas.resolve(diagnosis.diagnosisReference), "code", None)
        value = diagnosis_of(concept, f"{pas.claim_path}.diagnosis[{entries.index(diagnosis)}]", pas.source)
        if value is not None:
            return value
    return None


def specialty_of(resources: Resources, provider: Resource | None, source: str) -> Value | None:
    """The NUCC specialty of a provider: a PractitionerRole's, or that of a role naming the Practitioner."""
    if provider is None:
        return None
    roles = [provider] if provider.get_resource_type() == "PractitionerRole" else []
    roles += [r for r in resources.of_type("PractitionerRole") if resources.resolve(r.practitioner) is provider]
    for role in roles:
        for concept in [*(role.code or []), *(role.specialty or [])]:
            value = coded("specialty", concept, f"PractitionerRole/{role.id}", {"NUCC"}, source)
            if value is not None:
                return value
    return None


def _specialty(pas: PasRequest, item: ClaimItem) -> Value | None:
    team = sorted(pas.claim.careTeam or [], key=lambda c: c.sequence)
    wanted = set(item.careTeamSequence or [])
    members = [c for c in team if c.sequence in wanted] or team
    for member in members:
        where = f"{pas.claim_path}.careTeam[{team.index(member)}]"
        value = coded("specialty", member.qualification, f"{where}.qualification", {"NUCC"}, pas.source)
        value = value or specialty_of(pas.resources, pas.resolve(member.provider), pas.source)
        if value is not None:
            return value
    return None


def _coverage(pas: PasRequest) -> tuple[Coverage | None, list[Resource]]:
    insurance = sorted(pas.claim.insurance or [], key=lambda i: (not i.focal, i.sequence))
    coverage = pas.resolve(insurance[0].coverage) if insurance else None
    if not isinstance(coverage, Coverage):
        return None, []
    return coverage, [p for p in (pas.resolve(r) for r in coverage.payor or []) if p is not None]


def supporting_facts(pas: PasRequest) -> dict[str, Any]:
    """The facts ``Claim.supportingInfo`` carries under ``urn:policy-as-data:fact#NAME``."""
    facts: dict[str, Any] = {}
    for index, info in enumerate(pas.claim.supportingInfo or []):
        names = [code for system, code in _codings(info.code) if system == FACT_SYSTEM]
        if not names:
            continue
        where = f"{pas.claim_path}.supportingInfo[{index}]"
        name = names[0]
        if name not in FACTS:
            raise FhirError(
                pas.source, [Issue(f"{where}.code", f"a fact of `kb facts`; found {name!r}", "code-invalid")]
            )
        value = _supporting_value(FACTS[name].type, info, where, pas.source)
        if FACTS[name].type == "concepts" and not isinstance(value, list):
            facts.setdefault(name, []).append(value)
        else:
            facts[name] = value
    return facts


def _supporting_value(fact_type: str, info: Any, where: str, source: str) -> Any:
    if info.valueBoolean is not None:
        return info.valueBoolean
    if info.valueQuantity is not None:
        quantity = info.valueQuantity
        number = float(quantity.value) if quantity.value is not None else None
        number = int(number) if number is not None and number.is_integer() else number
        if fact_type != "measurement" or quantity.unit is None:
            return number
        taken = {"date": info.timingDate.isoformat()} if info.timingDate else {}
        return {"value": number, "unit": quantity.unit, **taken}
    if info.valueString is not None:
        text = info.valueString.strip()
        if text[:1] in "{[":
            try:
                return json_value(text)
            except json.JSONDecodeError as error:
                raise FhirError(source, [Issue(f"{where}.valueString", f"JSON ({error.msg})")]) from None
            except JsonNumberError as error:
                raise FhirError(
                    source, [Issue(f"{where}.valueString", f"JSON numbers a decimal holds; found {error}")]
                ) from None
        return text
    raise FhirError(source, [Issue(f"{where}.value[x]", "valueBoolean, valueQuantity or valueString", "required")])


def item_facts(pas: PasRequest, connection: sqlite3.Connection) -> list[ItemFacts]:
    """Each Claim item as a request in the fact vocabulary, with the policy for its drug."""
    common = supporting_facts(pas)
    coverage, payors = _coverage(pas)
    patient = pas.resolve(pas.claim.patient)
    read: list[ItemFacts] = []
    for index, item in enumerate(pas.claim.item or []):
        path = f"{pas.claim_path}.item[{index}]"
        drug = _item_drug(pas, item, path)
        policy = policy_for_drug(connection, drug)
        if policy is None:
            read.append(ItemFacts(item.sequence, _product(item), drug, None, None))
            continue
        day = _service_date(item, path, pas.source)
        certification = _extension(item, CERTIFICATION_TYPE)
        kind = _codings(certification.valueCodeableConcept)[0][1] if certification else "I"
        if kind not in CERTIFICATION:
            raise FhirError(
                pas.source,
                [Issue(f"{path}.extension:certificationType", f"X12 1322 I, R or 4; found {kind!r}", "not-supported")],
            )
        diagnosis = _diagnosis(pas, item)
        specialty = _specialty(pas, item)
        facts: dict[str, Any] = {
            "age_years": age_at(getattr(patient, "birthDate", None), day),
            "line_of_business": line_of_business(coverage, payors),
            "diagnosis": value_json(diagnosis),
            "prescriber_specialty": value_json(specialty),
            "requested_drug": value_json(drug),
        }
        facts = {name: value for name, value in facts.items() if value is not None} | common
        request = {
            "request_id": pas.claim.id,
            "policy": policy,
            "date_of_service": day.isoformat(),
            "request_type": CERTIFICATION[kind],
            "facts": facts,
        }
        read.append(ItemFacts(item.sequence, _product(item), drug, policy, request))
    return read


def value_json(value: Any) -> Any:
    """A fact as the plain request gives it: a read code as the code, a read phrase as the phrase,
    anything else (a number, a choice, None) as it is."""
    if not isinstance(value, Value):
        return value
    return {"system": value.code[0], "code": value.code[1]} if value.code is not None else value.text

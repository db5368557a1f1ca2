"""The fact vocabulary of a prior-authorization request (JSON in, typed here).

Every fact may be missing: a missing fact is unknown, and a criterion that needs it is
unknown, never guessed. ``FACTS`` documents each one; ``Request.from_json`` refuses a key
it does not know or a value of the wrong type, naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

from kb.dates import to_date
from kb.errors import KBError

FACTS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "age_years": ((int, float), "member's age in years on the date of service"),
    "line_of_business": (str, "Commercial, HIM or Medicaid"),
    "diagnosis": (str, "diagnosis as named in the policy, e.g. 'B-cell ALL'"),
    "ph_status": (str, "Philadelphia chromosome status: 'positive' or 'negative'"),
    "cd22_positive": (bool, "the disease is CD22 positive"),
    "disease_status": (str, "'relapsed', 'refractory' or 'newly diagnosed'"),
    "line_of_therapy": (list, "settings the drug is prescribed in, e.g. ['frontline', 'induction']"),
    "prescriber_specialty": (str, "e.g. 'oncologist', 'hematologist'"),
    "cycles_requested": (int, "cycles asked for by this request"),
    "cycles_received": (int, "cycles already received"),
    "dose_mg_per_m2_per_cycle": ((int, float), "dose per cycle, mg/m²"),
    "dose_mg_per_m2_per_dose": ((int, float), "largest single dose, mg/m²"),
    "dose_increase": (bool, "a continuation request asks for a higher dose"),
    "supporting_evidence_submitted": (bool, "the prescriber submitted guidelines or literature"),
    "regimen_fda_or_nccn": (bool, "the regimen is FDA-approved or recommended by NCCN"),
    "single_agent": (bool, "prescribed as a single agent"),
    "substantial_comorbidities": (bool, "the member has substantial comorbidities"),
    "tki_intolerant_or_refractory": (bool, "disease intolerant or refractory to a tyrosine kinase inhibitor"),
    "receiving_via_plan_benefit": (bool, "currently receiving the drug via the plan's benefit"),
    "receiving_for_covered_indication": (bool, "documentation: currently receiving it for a covered indication"),
    "days_on_therapy": (int, "days the member has received the drug"),
    "response_to_therapy": (str, "'positive', 'none' or 'progression'"),
    "recent_label_change": (bool, "the drug's label changed in the last 6 months, not yet in the policy"),
    "on_formulary": (bool, "the drug is on the formulary (Commercial, HIM) or PDL (Medicaid)"),
    "renewal_date": (str, "member's plan renewal date (YYYY-MM-DD), for 'or to the renewal date' durations"),
}
"""Fact name -> (JSON type, meaning)."""

DERIVED = {"cycles_total": ("cycles_requested", "cycles_received")}
"""Facts computed from others: cycles_total = cycles_requested + cycles_received."""

REQUEST_TYPES = ("initial", "continuation")


class RequestError(KBError):
    """A request that does not follow the vocabulary."""

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Request:
    """A prior-authorization request: policy, date of service, type and facts."""

    policy: str
    date_of_service: date
    request_type: str = "initial"
    facts: dict[str, Any] = field(default_factory=dict)
    request_id: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str = "request") -> Request:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known - set(FACTS)
        if unknown:
            raise RequestError(
                where, f"unknown field(s) {', '.join(sorted(unknown))}; expected {', '.join(sorted(FACTS))}"
            )
        for name in ("policy", "date_of_service"):
            if name not in data:
                raise RequestError(where, f"missing {name!r}")
        request_type = data.get("request_type", "initial")
        if request_type not in REQUEST_TYPES:
            raise RequestError(where, f"request_type {request_type!r}: expected one of {', '.join(REQUEST_TYPES)}")
        facts = {name: value for name, value in data.get("facts", {}).items()} | {
            name: value for name, value in data.items() if name in FACTS
        }
        for name, value in facts.items():
            if name not in FACTS:
                raise RequestError(where, f"unknown fact {name!r}")
            expected = FACTS[name][0]
            if value is not None and (
                not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool)
            ):
                raise RequestError(where, f"fact {name!r} = {value!r}: expected {FACTS[name][1]}")
        try:
            when = to_date(data["date_of_service"])
        except (ValueError, TypeError) as error:
            raise RequestError(where, f"date_of_service {data['date_of_service']!r}: expected YYYY-MM-DD") from error
        return cls(data["policy"], when, request_type, facts, data.get("request_id"))

    def to_json(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "policy": self.policy,
            "date_of_service": self.date_of_service.isoformat(),
            "request_type": self.request_type,
            "facts": self.facts,
        }

    def fact(self, name: str) -> Any:
        if name in DERIVED:
            parts = [self.facts.get(part) for part in DERIVED[name]]
            return None if None in parts else sum(parts)
        return self.facts.get(name)

"""Cross-references: "CP.CPA.190 for commercial, HIM.PA.33 for health insurance marketplace ..."."""

from __future__ import annotations

import re

from kb.model import CrossReference, Provenance

POLICY_REF = r"[A-Z]{2,4}\.[A-Z]{2,5}(?:\.[A-Z0-9]+)+"
_PAIR = re.compile(
    rf"({POLICY_REF})\s+for\s+(commercial|health insurance marketplace|the marketplace|HIM|Medicaid)", re.I
)
_ROLES = (
    ("no coverage criteria", re.compile(r"no coverage criteria polic", re.I)),
    ("non-formulary", re.compile(r"non-?formulary polic", re.I)),
    ("off-label use", re.compile(r"off[- ]label use polic", re.I)),
)
_ANY_ROLE = re.compile(r"the ([\w\- ]+?) polic(?:y|ies)\b", re.I)
_LOB = {
    "commercial": "Commercial",
    "health insurance marketplace": "HIM",
    "the marketplace": "HIM",
    "him": "HIM",
    "medicaid": "Medicaid",
}


def role_of(text: str) -> str:
    """The kind of policy referred to: a known role, the words before "policy", or "referral"."""
    for role, pattern in _ROLES:
        if pattern.search(text):
            return role
    other = _ANY_ROLE.search(text)
    return other.group(1).lower() if other else "referral"


def cross_references(item_id: str, text: str, provenance: Provenance) -> list[CrossReference]:
    """Every (policy, line of business) pair the text names, with the role of the policy."""
    role = role_of(text)
    return [
        CrossReference(item_id, _LOB[lob.lower()], role, ref, provenance=provenance) for ref, lob in _PAIR.findall(text)
    ]

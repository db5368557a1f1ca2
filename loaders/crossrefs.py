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


_POLICY = re.compile(POLICY_REF)
_CONTINUITY = re.compile(r"continuity of care|state[- ]specific addend", re.I)
CONTINUITY_OF_CARE = "continuity of care"
ALL_LINES = "all"
"""The line of business of a reference the text names for none in particular."""


def cross_references(item_id: str, text: str, provenance: Provenance) -> list[CrossReference]:
    """Every (policy, line of business) pair the text names, with the role of the policy; a
    policy named for no line of business ("refer to state specific addendums for CC.PHARM.03A",
    continuity of care) holds for all of them."""
    named = _POLICY.findall(text)
    if not named:
        return []
    role = role_of(text)
    pairs = _PAIR.findall(text)
    found = [CrossReference(item_id, _LOB[lob.lower()], role, ref, provenance=provenance) for ref, lob in pairs]
    paired = {ref for ref, _ in pairs}
    alone = dict.fromkeys(ref for ref in named if ref not in paired)
    alone_role = CONTINUITY_OF_CARE if _CONTINUITY.search(text) else role
    return found + [CrossReference(item_id, ALL_LINES, alone_role, ref, provenance=provenance) for ref in alone]

"""Code systems a request may use, and what each one can tell.

ICD-10-CM is checked against the code tables of the ``simple-icd-10-cm`` package, read from a
cache file built once per package version (``icd_tables``); its hierarchy is the codes' own
(C91.00 under C91.0). A diagnosis in words the vocabulary does not know is looked up among
ICD-10-CM's descriptions and inclusion terms (``icd_names``). NUCC taxonomy, HCPCS, RxNorm and NDC codes are checked for form only: a well-formed code the
vocabulary does not name is *unrecognised* (asked for, never denied). FHIR system URIs are
accepted beside the short names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from kb.concepts import icd_tables

SYSTEMS: dict[str, tuple[str, str]] = {
    "ICD-10-CM": ("http://hl7.org/fhir/sid/icd-10-cm", r"^[A-TV-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?$"),
    "NUCC": ("http://nucc.org/provider-taxonomy", r"^[0-9]{3}[0-9A-Z]{6}X$"),
    "HCPCS": ("https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", r"^[A-V][0-9]{4}$"),
    "RxNorm": ("http://www.nlm.nih.gov/research/umls/rxnorm", r"^[0-9]{1,10}$"),
    "NDC": (
        "http://hl7.org/fhir/sid/ndc",
        r"^(?:[0-9]{4}-[0-9]{4}-[0-9]{2}|[0-9]{5}-[0-9]{3}-[0-9]{2}|[0-9]{5}-[0-9]{4}-[0-9]{1,2}|[0-9]{10,11})$",
    ),
}
"""Short name -> (FHIR system URI, form of a code)."""

ALIASES = {uri: name for name, (uri, _) in SYSTEMS.items()} | {
    "ICD10CM": "ICD-10-CM",
    "ICD-10": "ICD-10-CM",
    "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets": "HCPCS",
    "https://bluebutton.cms.gov/resources/codesystem/hcpcs": "HCPCS",
    "http://www.ama-assn.org/go/cpt": "HCPCS",
}


class CodeError(ValueError):
    """A code system or code that no reading can accept."""


def system_name(system: str) -> str:
    """The short name of a code system (``ICD-10-CM``), from a short name or a FHIR URI."""
    name = ALIASES.get(system, system)
    if name not in SYSTEMS:
        raise CodeError(f"unknown code system {system!r}; expected one of {', '.join(SYSTEMS)} (or their FHIR URIs)")
    return name


def icd_description(code: str) -> str | None:
    """The ICD-10-CM description of a code, or None if the code does not exist."""
    return icd_tables.description(code)


VAGUE = re.compile(r"\b(?:unspecified|other|not elsewhere classified)\b", re.I)
"""Descriptions too vague to stand for a name: 'Leukemia, unspecified' is no reading of 'leukemia'."""


def icd_names() -> Iterator[tuple[str, str]]:
    """(code, name) for every ICD-10-CM code's description and inclusion terms, vague ones left out."""
    return ((code, name) for code, name in icd_tables.names() if not VAGUE.search(name))


@cache
def normal_code(system: str, code: str, exists: bool = True) -> tuple[str, str]:
    """(system, code) in their normal form, or ``CodeError`` naming what is wrong; ``exists``
    checks an ICD-10-CM code against the code tables too (the vocabulary's codes are checked
    that way by a test, so that reading the vocabulary does not load the tables)."""
    name = system_name(system)
    text = code.strip().upper() if name != "RxNorm" else code.strip()
    if name == "ICD-10-CM" and "." not in text and len(text) > 3:
        text = f"{text[:3]}.{text[3:]}"
    if not re.match(SYSTEMS[name][1], text):
        raise CodeError(f"{name} code {code!r} is not of the form of a {name} code")
    if exists and name == "ICD-10-CM" and icd_description(text) is None:
        raise CodeError(f"ICD-10-CM code {code!r} does not exist (ICD-10-CM code tables of simple-icd-10-cm)")
    return name, text


def icd_within(code: str, ancestor: str) -> bool:
    """Is ICD-10-CM ``code`` the ``ancestor`` or under it (C91.00 under C91.0 and C91)?"""
    return code.startswith(ancestor)


def describe(system: str, code: str) -> str:
    """A code as a reader wants it named: ``ICD-10-CM C91.00 (Acute lymphoblastic ...)``."""
    description = icd_description(code) if system == "ICD-10-CM" else None
    return f"{system} {code}" + (f" ({description})" if description else "")

"""Three-valued matching of a request's value against the concepts a criterion accepts.

A value is a phrase or a code. It *matches* (True) when it names an accepted concept or a
narrower one (a synonym, a narrower code); it is *unknown* (None, with the question that would
settle it) when it is broader than an accepted concept (ICD-10-CM C91.0 "ALL" against B-cell
ALL asks "is it B-cell precursor ALL?"), overlaps one, or is not in the vocabulary at all
("unrecognised": pend, naming it); it does *not match* (False) only when the vocabulary shows
it is something else: a concept of a closed kind, a sibling under a partition, or a coded
diagnosis whose codes share nothing with the accepted ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from kb.concepts.codes import CodeError, describe, icd_names, normal_code
from kb.concepts.vocabulary import Kind, phrase_key, vocabulary

Truth = bool | None
KIND_SYSTEMS = {"diagnosis": ("ICD-10-CM",), "specialty": ("NUCC",), "drug": ("HCPCS", "RxNorm", "NDC")}


@dataclass(frozen=True)
class Value:
    """A request's value for a concept fact, read by the vocabulary: the concept it names
    (None: unrecognised, or an ICD-10-CM code no concept is exactly), and its code if coded."""

    kind: str
    text: str
    concept: str | None = None
    code: tuple[str, str] | None = None
    key: int = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", hash((self.kind, self.text, self.concept, self.code)))

    def __hash__(self) -> int:
        return self.key


def kind_of(name: str) -> Kind:
    return vocabulary()[name]


@cache
def _icd_index() -> dict[str, frozenset[str]]:
    """ICD-10-CM's descriptions and inclusion terms, as ``phrase_key`` gives them -> the codes they name."""
    index: dict[str, set[str]] = {}
    for code, name in icd_names():
        index.setdefault(phrase_key(name), set()).add(code)
    return {key: frozenset(codes) for key, codes in index.items()}


def icd_named(key: str) -> str | None:
    """The ICD-10-CM code a phrase key names by a description or an inclusion term: the one code,
    or the one code above every code sharing the name; None if none or unrelated codes do."""
    codes = _icd_index().get(key, frozenset())
    tops = [c for c in codes if not any(c != o and c.startswith(o) for o in codes)]
    return tops[0] if len(tops) == 1 else None


@lru_cache(maxsize=1 << 14)
def read_phrase(kind: str, text: str) -> Value:
    """A phrase: a synonym of a concept; else, for a diagnosis, the ICD-10-CM code whose description
    or inclusion term it is (placed in the hierarchy as that code is); else unrecognised."""
    index = kind_of(kind).by_phrase
    key = phrase_key(text)
    if key not in index and kind == "diagnosis" and (code := icd_named(key)):
        coded = read_code(kind, "ICD-10-CM", code)
        return Value(kind, f"{text} ({coded.text})", coded.concept, coded.code)
    return Value(kind, text, index.get(key))


@lru_cache(maxsize=1 << 14)
def read_code(kind: str, system: str, code: str) -> Value:
    """A code (system, code): the concept whose code it is, or (ICD-10-CM) is under. Raises
    ``CodeError`` for an unknown system, a system that does not code this kind, or a code that
    does not exist."""
    name, text = normal_code(system, code)
    if name not in KIND_SYSTEMS.get(kind, ()):
        expected = ", ".join(KIND_SYSTEMS.get(kind, ())) or "no code system (give a phrase)"
        raise CodeError(f"{name} does not code a {kind}; expected {expected}")
    index = kind_of(kind).by_code
    found = index.get((name, text))
    if name == "ICD-10-CM":
        found = next((index[(name, a)] for a in icd_ancestors(text) if (name, a) in index), None)
    return Value(kind, describe(name, text), found, (name, text))


def read_value(kind: str, raw: Any) -> Value:
    """A phrase (str) or a code ({"system": ..., "code": ...}) as the vocabulary reads it."""
    if isinstance(raw, dict):
        return read_code(kind, str(raw["system"]), str(raw["code"]))
    return read_phrase(kind, raw)


def icd_ancestors(code: str) -> list[str]:
    """The code and the codes above it: C91.00, C91.0, C91."""
    found = [code]
    while len(code) > 3:
        code = code[:-1].rstrip(".")
        found.append(code)
    return found


@cache
def ancestors(kind: str, concept: str) -> frozenset[str]:
    """The concept and every concept it is a kind of."""
    found = {concept}
    for broader in kind_of(kind).concepts[concept].broader:
        found |= ancestors(kind, broader)
    return frozenset(found)


@cache
def narrower(kind: str, concept: str) -> frozenset[str]:
    """The concept and every concept that is a kind of it."""
    return frozenset(c for c in kind_of(kind).concepts if concept in ancestors(kind, c))


@cache
def touched_codes(kind: str, concept: str) -> frozenset[str]:
    """ICD-10-CM codes that hold some of the concept (its own, its narrower concepts', within)."""
    found: set[str] = set()
    for item in narrower(kind, concept):
        c = kind_of(kind).concepts[item]
        found |= {code for system, code in c.codes if system == "ICD-10-CM"} | set(c.within)
    return frozenset(found)


def _related(first: frozenset[str], second: frozenset[str]) -> bool:
    return any(a.startswith(b) or b.startswith(a) for a in first for b in second)


@cache
def disjoint(kind: str, value: str, accepted: str) -> bool:
    """Does the vocabulary show that ``value`` and ``accepted`` share nothing?"""
    if value in ancestors(kind, accepted) or accepted in ancestors(kind, value):
        return False
    concepts = kind_of(kind).concepts
    for common in ancestors(kind, value) & ancestors(kind, accepted):
        if concepts[common].partition:
            side = [
                {c for c in concepts if common in concepts[c].broader and c in ancestors(kind, x)}
                for x in (value, accepted)
            ]
            if side[0] and side[1] and not side[0] & side[1]:
                return True
    if kind_of(kind).closed:
        return True
    codes = touched_codes(kind, value), touched_codes(kind, accepted)
    return bool(codes[0] and codes[1]) and not _related(*codes)


def _code_disjoint(kind: str, code: str, accepted: str) -> bool:
    codes = touched_codes(kind, accepted)
    return bool(codes) and not _related(frozenset([code]), codes)


@lru_cache(maxsize=1 << 16)
def match(value: Value, accepted: tuple[str, ...]) -> tuple[Truth, str | None]:
    """Does ``value`` name one of the ``accepted`` concepts (or a narrower one)? With the
    question that would settle an unknown."""
    if value.concept is None:
        if value.code is None or value.code[0] != "ICD-10-CM":
            return None, f"{value.text!r} is not in the {value.kind} vocabulary (unrecognised): name it another way"
        open_ = [a for a in accepted if not _code_disjoint(value.kind, value.code[1], a)]
    else:
        if ancestors(value.kind, value.concept) & set(accepted):
            return True, None
        open_ = [a for a in accepted if not disjoint(value.kind, value.concept, a)]
    if not open_:
        return False, None
    labels = " or ".join(kind_of(value.kind).concepts[a].label for a in open_)
    return None, f"{value.text!r} is broader than or overlaps what the policy accepts: is it {labels}?"


def match_any(values: tuple[Value, ...], accepted: tuple[str, ...], count: int = 1) -> tuple[Truth, list[str]]:
    """Do at least ``count`` of a list's values match? (a given list is taken as complete)."""
    results = [match(value, accepted) for value in values]
    met = sum(1 for truth, _ in results if truth is True)
    questions = [question for truth, question in results if truth is None and question]
    if met >= count:
        return True, []
    return (None, questions) if met + len(questions) >= count else (False, [])


__all__ = ["CodeError", "Value", "match", "match_any", "read_value", "ancestors", "kind_of"]

"""The concept vocabulary: one TOML file per kind in ``data/``, read strictly.

A concept has an id, a label, synonyms (the words clinicians and policies use), the concepts
it is a kind of (``broader``), its codes (ICD-10-CM ``icd10cm`` whose whole subtree it is,
ICD-10-CM ``within`` that hold it and others, NUCC ``nucc``, HCPCS ``hcpcs``, RxNorm
``rxnorm``, NDC ``ndc``) and the source that says so. ``partition = true`` says its narrower
concepts exclude each other; a kind marked ``closed`` holds concepts that are different
unless one is broader than the other (a specialty, a drug, a line of therapy).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from kb.concepts.codes import normal_code

DATA = Path(__file__).parent / "data"
CODE_FIELDS = {"icd10cm": "ICD-10-CM", "nucc": "NUCC", "hcpcs": "HCPCS", "rxnorm": "RxNorm", "ndc": "NDC"}
CONCEPT_KEYS = {"id", "label", "synonyms", "broader", "within", "partition", "source", *CODE_FIELDS}
KIND_KEYS = {"name", "closed", "source"}


class VocabularyError(ValueError):
    """A vocabulary file that does not follow the format, naming the file and entry."""


def phrase_key(text: str) -> str:
    """A phrase as the vocabulary indexes it: lower case, no marks (® ™ † *), hyphens as
    spaces, '&' as 'and', one space, no leading article, no list punctuation at the end."""
    text = re.sub(r"[®™†*‡]", "", text.replace("’", "'").replace("&", " and ")).casefold()
    text = re.sub(r"\s*-\s*", " ", text)
    text = re.sub(r"\s+", " ", text).strip(" ,;:.")
    return re.sub(r"^(?:an?|the) ", "", text)


@dataclass(frozen=True)
class Concept:
    kind: str
    id: str
    label: str
    source: str
    synonyms: tuple[str, ...] = ()
    broader: tuple[str, ...] = ()
    codes: tuple[tuple[str, str], ...] = ()
    within: tuple[str, ...] = ()
    partition: bool = False


@dataclass
class Kind:
    """One kind of concept (diagnosis, specialty ...) with its indexes."""

    name: str
    closed: bool
    source: str
    path: Path
    concepts: dict[str, Concept] = field(default_factory=dict)
    by_phrase: dict[str, str] = field(default_factory=dict)
    by_code: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, concept: Concept) -> None:
        if concept.id in self.concepts:
            raise VocabularyError(f"{self.path}: concept {concept.id!r} is defined twice")
        self.concepts[concept.id] = concept
        for phrase in (concept.id, concept.label, *concept.synonyms):
            other = self.by_phrase.setdefault(phrase_key(phrase), concept.id)
            if other != concept.id and phrase in concept.synonyms:
                raise VocabularyError(f"{self.path}: synonym {phrase!r} of {concept.id!r} already names {other!r}")
        for code in concept.codes:
            self.by_code[code] = concept.id


def _concept(kind: str, path: Path, entry: dict[str, object]) -> Concept:
    unknown = set(entry) - CONCEPT_KEYS
    where = f"{path}: concept {entry.get('id', '?')!r}"
    if unknown:
        raise VocabularyError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; expected {sorted(CONCEPT_KEYS)}")
    missing = {"id", "label", "source"} - set(entry)
    if missing:
        raise VocabularyError(f"{where}: missing {', '.join(sorted(missing))}")
    try:
        codes = tuple(normal_code(CODE_FIELDS[key], code, False) for key in CODE_FIELDS for code in entry.get(key, []))  # type: ignore[attr-defined]
        within = tuple(normal_code("ICD-10-CM", code, False)[1] for code in entry.get("within", []))  # type: ignore[attr-defined]
    except ValueError as error:
        raise VocabularyError(f"{where}: {error}") from error
    return Concept(
        kind,
        str(entry["id"]),
        str(entry["label"]),
        str(entry["source"]),
        tuple(entry.get("synonyms", [])),  # type: ignore[arg-type]
        tuple(entry.get("broader", [])),  # type: ignore[arg-type]
        codes,
        within,
        bool(entry.get("partition", False)),
    )


def load_kind(path: Path) -> Kind:
    """One vocabulary file, checked: known keys, sources, valid codes, broader concepts that exist."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise VocabularyError(f"{path}: not TOML ({error})") from error
    head = data.get("kind", {})
    if set(head) - KIND_KEYS or "name" not in head or set(data) - {"kind", "concept"}:
        raise VocabularyError(f"{path}: expected a [kind] table (name, closed, source) and [[concept]] entries")
    kind = Kind(head["name"], bool(head.get("closed", False)), head.get("source", ""), path)
    for entry in data.get("concept", []):
        kind.add(_concept(kind.name, path, entry))
    for concept in kind.concepts.values():
        missing = [b for b in concept.broader if b not in kind.concepts]
        if missing:
            raise VocabularyError(f"{path}: concept {concept.id!r}: broader concept(s) {missing} not defined")
    return kind


@cache
def vocabulary(folder: Path = DATA) -> dict[str, Kind]:
    """Every kind of the vocabulary, by name (read once)."""
    kinds = [load_kind(path) for path in sorted(folder.glob("*.toml"))]
    return {kind.name: kind for kind in kinds}

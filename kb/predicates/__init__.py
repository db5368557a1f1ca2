"""Predicates as data: each criterion's text read into a machine-readable condition.

The language is in ``language`` (documented in ``kb/concepts/README.md``), the reading in
``reader`` (structure) and ``rules`` (one kind of text each), the phrase helpers in
``phrases``. Per-policy overrides are data in ``kb/data/predicates/<policy>.toml``.
"""

from kb.predicates.language import Predicate, PredicateError, canonical, check, facts_read, needs_review
from kb.predicates.reader import OVERRIDES, criterion_columns, normalise, overrides, predicate_for, read
from kb.predicates.rules import fact

__all__ = [
    "OVERRIDES",
    "Predicate",
    "PredicateError",
    "canonical",
    "check",
    "criterion_columns",
    "fact",
    "facts_read",
    "needs_review",
    "normalise",
    "overrides",
    "predicate_for",
    "read",
]

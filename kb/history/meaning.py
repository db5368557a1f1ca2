"""What a text states, as the audit compares it: its logic, its polarities and its values.

"If Philadelphia chromosome-negative, both of the following (i and ii):" states the logic
*all*, the polarity ``chromosome negative`` and no value; "Age ≥ 65 years" the value
``65 year``. A clause of the log is read the same way, so that an operation's change can be
held against the clause it cites: a change of logic, polarity or value the clause does not
state is a problem (``kb.history.scrutiny``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.model import Logic
from loaders.logic import logic_of
from revisions.clauses import quantities

_POLARITY = re.compile(r"\b([A-Za-z0-9]+)[\s-](positive|negative)\b", re.IGNORECASE)
_WITH = re.compile(r"\b(with|without)\s+(?:an?\s+|the\s+)?([A-Za-z0-9]+)", re.IGNORECASE)
_NEGATION = re.compile(r"\b(?:not|no longer|never|no)\b", re.IGNORECASE)
_LOGIC_WORDS = {
    Logic.ALL: re.compile(r"[“\"]and[”\"]|\bboth\b|\ball of\b|\(\w+ and \w+\)", re.IGNORECASE),
    Logic.ANY: re.compile(r"[“\"]or[”\"]|\bone of\b|\bany of\b|\beither\b|\(\w+ or \w+\)", re.IGNORECASE),
}
_WORD = re.compile(r"[a-z0-9]+(?:\.[a-z0-9]+)*")
_STOP = frozenset(
    {"the", "and", "for", "with", "that", "this", "from", "are", "has", "have", "its", "was", "were", "into"}
    | {"per", "than", "then", "each", "when", "only", "following", "both", "one", "all", "any", "must", "meet"}
)


@dataclass(frozen=True)
class Meaning:
    """What a text states: ``logic`` (None: no logic words), ``polarities`` (term, sign) such as
    ("chromosome", "negative") or ("tki", "without"), ``negations`` (how many "not", "no longer" ...)
    and ``values`` (quantities as ``revisions.clauses.quantity`` writes them)."""

    logic: Logic | None
    polarities: frozenset[tuple[str, str]]
    negations: int
    values: frozenset[str]


def meaning_of(text: str | None) -> Meaning:
    """Read a text for its logic, polarity and value words."""
    text = text or ""
    polar = {(term.casefold(), sign.casefold()) for term, sign in _POLARITY.findall(text)}
    polar |= {(noun.casefold(), word.casefold()) for word, noun in _WITH.findall(text)}
    return Meaning(logic_of(text).logic, frozenset(polar), len(_NEGATION.findall(text)), frozenset(quantities(text)))


def states_logic(clause: str, logic: Logic) -> bool:
    """Does a clause state a logic (a quoted "or", "one of", "(a or b)" ...)?"""
    words = _LOGIC_WORDS.get(logic)
    return words is not None and words.search(clause) is not None


def signs(meaning: Meaning, term: str) -> set[str]:
    """The signs a text gives a term ("chromosome" -> {"negative"}, "tki" -> {"without"})."""
    return {sign for t, sign in meaning.polarities if t == term}


def content_words(text: str) -> set[str]:
    """The words that carry a text's content (short and function words left out)."""
    return {w for w in _WORD.findall(text.casefold()) if (len(w) > 2 or w.isdigit()) and w not in _STOP}


def states_words(clause: str, text: str) -> bool:
    """Does a clause state every content word of a text (so that it vouches for the text)?"""
    wanted = content_words(text)
    return bool(wanted) and wanted <= content_words(clause)


def shares_words(clause: str, text: str) -> bool:
    """Does a clause state at least half the content words of a text (it speaks of it, partly)?"""
    wanted = content_words(text)
    return bool(wanted) and 2 * len(wanted & content_words(clause)) >= len(wanted)

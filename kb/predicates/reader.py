"""Reading a criterion's text into a predicate: structure first, then the rules, then overrides.

``read(text, context)`` normalises the text and reads its structure: a referral; a heading
or "... one of the following" (the sub-items, with any condition its own words add); "X; Y";
"If X, Y" (read by where it stands: in a must-meet-all list "(not X) or Y", as an option of a
one-of list "X and Y"); "For X: Y" (X a product, a diagnosis or a use: read as "If"); then
the rules of ``kb.predicates.rules`` on what is left, in the frame the parent's words set
("Diagnosis of one of the following": its items are diagnoses). A text no rule reads is
stored as "needs clinical review", never guessed. Per-policy overrides, keyed by normalised
text (and, where one text reads differently under two parents, by the parent too), are data
in ``kb/data/predicates/<policy>.toml``.
"""

from __future__ import annotations

import json
import re
import tomllib
from functools import cache, lru_cache
from pathlib import Path

from kb.concepts.match import ancestors, read_phrase
from kb.errors import ChangeDataError
from kb.predicates.language import Predicate, PredicateError, check, facts_read
from kb.predicates.maxima import resolve
from kb.predicates.phrases import concept, concepts, normalise
from kb.predicates.rules import fact, read_atom

MAX_READ_CHARS = 5_000
"""The longest text the rules read (the corpus's longest record has 1,652 characters): a longer
one is left to clinical review, and reading time stays bounded whatever a document holds."""
OVERRIDES = Path(__file__).resolve().parents[1] / "data" / "predicates"
HINT = r"\((?:[a-z0-9]{1,4}(?:,? (?:or|and) [a-z0-9]{1,4}|(?:, [a-z0-9]{1,4})+,? (?:or|and) [a-z0-9]{1,4}| [–-] [a-z0-9]{1,4}))\)"
LOGIC_HINT = re.compile(rf"\s*(?:\(must meet[^)]*\)|{HINT})")
NEUTRAL = re.compile(
    r"^(?:(?:member|request) (?:meets|has|does not have)|diagnosis of|age is|prescribed for|disease meets|"
    r"(?:.+ (?:is|are) )?prescribed in|request is for|(?:new )?dose does not exceed|"
    r"(?:.+ (?:is|are) )?not prescribed concurrently with)? ?"
    r"(?:(?:one|both|all|any|either|two) of the following(?: \w+)*|either|both|the following)?$"
    r"|^.+ has all of the following characteristics.*$"
)
SUBITEMS = re.compile(
    r"\b(?:one|both|all|any|either|two|each) of the following\b|^(?:either|both)$|\b(?:and|,) (?:either|both)$"
    r"|does not exceed the following$"
    rf"|\(must meet (?:all|\d+ or \d+)\)$|{HINT}$"
)

SERIAL = re.compile(r"^[^,;:]+(?:, [^,;:]+)+, and [^,;:]+$")
"""A serial list ("bortezomib, melphalan, and prednisone"): one list, not "X, and Y" clauses."""


def frame(context: str | None) -> str | None:
    """What the parent's words make its items: diagnoses, ages, doses, uses, excluded drugs ..."""
    if not context:
        return None
    c = LOGIC_HINT.sub("", context)
    rules = [
        (
            "diagnosis",
            r"diagnos(?:is|es)\b.*of the following|of the following diagnoses|^prescribed for one of the following",
        ),
        ("age", r"^age is one of the following"),
        ("dose", r"dose does not exceed"),
        ("use", r"one of the following uses"),
        ("concurrent", r"prescribed concurrently with (?:either|any|all|one) of the following"),
        ("failed", r"failure of (?:all|both|\d+) of the following"),
    ]
    for name, pattern in rules:
        if re.search(pattern, c):
            return name
    if re.search(r"\d+ (?:tablets?|mg) per (?:day|week)", c):
        return "dose"
    if re.search(r"in combination with (?:one|either) of the following", c):
        return "combination"
    return "diagnosis" if read_phrase("diagnosis", c).concept else None


def _review(text: str) -> Predicate:
    return {"op": "review", "reason": f"no extraction rule reads {text.strip()!r}"}


def _condition(t: str) -> tuple[Predicate, str] | None:
    """The condition of "For X:" or "For X requests": a product, a diagnosis, a use."""
    t = re.sub(r"\s+(?:only|requests?)$", "", t.removeprefix("for "))
    for name, kind in (("requested_drug", "drug"), ("diagnosis", "diagnosis"), ("requested_use", "use")):
        found = concepts(kind, t)
        if found:
            return fact(name, "in", found), f"for {kind}"
    return None


def _subitems(clean: str, bare: str, context: str | None) -> tuple[Predicate, str] | None:
    """An item with sub-items: the sub-items, under any condition its own words add."""
    if not SUBITEMS.search(clean):
        return None
    if re.search(r"\(must meet", clean):
        return {"op": "children"}, "sub-items"
    return _with_children(bare, context)


def _with_children(bare: str, context: str | None) -> tuple[Predicate, str]:
    if conditional := re.match(r"^if (.+?), (.+)$", bare):
        cond, rule = read(conditional[1])
        inner = _with_children(conditional[2], context)
        return {"op": "if", "cond": cond, "then": inner[0]}, f"if {rule} + {inner[1]}"
    if (labelled := re.match(r"^(for [^:]+): (.+)$", bare)) and (found := _condition(labelled[1])):
        inner = _with_children(labelled[2], context)
        return {"op": "if", "cond": found[0], "then": inner[0]}, f"{found[1]} + {inner[1]}"
    prefix = re.split(
        r",?\s+(?:and|requiring)\s+(?:meets\s+)?(?=(?:one|both|all|either|any) of the following|either$|both$)", bare
    )
    if NEUTRAL.match(prefix[0]):
        return {"op": "children"}, "sub-items"
    own, rule = (
        read(prefix[0], context)
        if len(prefix) == 2
        else (_compound(bare, context) or (_review(bare), "needs clinical review"))
    )
    return {"op": "all", "args": [own, {"op": "children"}]}, f"{rule} + sub-items"


@lru_cache(maxsize=1 << 14)
def read(text: str | None, context: str | None = None) -> tuple[Predicate, str]:
    """The predicate a text states (under its parent's text ``context``), and the rule(s) that read it."""
    if text is None:
        return {"op": "review", "reason": "the criterion's text is unknown"}, "unknown text"
    if (longest := max(len(text), len(context or ""))) > MAX_READ_CHARS:
        whose = "criterion's" if len(text) == longest else "parent criterion's"
        reason = f"the {whose} text has {longest:,} characters; no criterion of the template has more than {MAX_READ_CHARS:,}"
        return {"op": "review", "reason": reason}, "needs clinical review"
    clean = normalise(text)
    context = normalise(context) if context else None
    if (
        re.search(r"\brefer to\b|\bpolicy for the relevant line of business\b", clean)
        and "continuity of care" not in clean
    ):
        return {"op": "refer"}, "referral"
    bare = LOGIC_HINT.sub("", clean).strip(" :,")
    if (found := _subitems(clean, bare, context)) is not None:
        return found
    return _compound(bare, context) or (_review(text), "needs clinical review")


def _compound(t: str, context: str | None) -> tuple[Predicate, str] | None:
    """ "X; Y", "If X, Y", "For X: Y", a negated frame, or one rule."""
    if "; " in t:
        parts = [read(part, context) for part in t.split("; ")]
        return {"op": "all", "args": [p for p, _ in parts]}, " + ".join(n for _, n in parts)
    if conditional := re.match(r"^if (.+?), (.+)$", t):
        (cond, cond_rule), (then, then_rule) = read(conditional[1]), read(conditional[2], context)
        return {"op": "if", "cond": cond, "then": then}, f"if {cond_rule} then {then_rule}"
    for labelled in (re.match(r"^(for [^:]+): ?(.+)$", t), re.match(r"^(for [^,]+), (.+)$", t)):
        found = _condition(labelled[1]) if labelled else None
        if labelled and found:
            then, rule = read(labelled[2], context)
            return {"op": "if", "cond": found[0], "then": then}, f"{found[1]} then {rule}"
    if (" only)" in t or "all products except" in t) and (
        product := re.match(r"^(.+) \((?:(.+) only|all products except (.+))\)$", t)
    ):
        # "Y (X only)" is "For X only: Y": read as "If", which reads right wherever the item
        # stands (an option of a one-of list: X and Y; a must-meet-all item: (not X) or Y)
        drugs = concepts("drug", product[2] or product[3])
        inner, rule = read(product[1], context)
        if drugs and inner["op"] != "review":
            which = fact("requested_drug", "in", drugs)
            return {
                "op": "if",
                "cond": which if product[2] else {"op": "not", "arg": which},
                "then": inner,
            }, f"product + {rule}"
    if ", and " in t:
        if SERIAL.match(t) and (whole := read_atom(t, frame(context))):
            return whole
        parts = [read(part, context) for part in t.split(", and ")]
        if all(p["op"] != "review" for p, _ in parts):
            return {"op": "all", "args": [p for p, _ in parts]}, " + ".join(n for _, n in parts)
    return read_atom(t, frame(context))


@cache
def overrides(policy_id: str, folder: Path = OVERRIDES) -> dict[tuple[str, str | None], tuple[Predicate, str]]:
    """A policy's overrides: (normalised text, normalised parent text or None) -> (predicate, note)."""
    path = folder / f"{policy_id}.toml"
    if not path.exists():
        return {}
    found: dict[tuple[str, str | None], tuple[Predicate, str]] = {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for index, entry in enumerate(data.get("override", [])):
            predicate = json.loads(entry["predicate"])
            check(predicate, f"override {index + 1}")
            parent = normalise(entry["parent"]) if entry.get("parent") else None
            found[(normalise(entry["text"]), parent)] = (predicate, f"override: {entry['note']}")
    except (tomllib.TOMLDecodeError, KeyError, json.JSONDecodeError, PredicateError) as error:
        raise ChangeDataError(
            str(path), 0, "[[override]] entries with text, predicate (JSON), note and optional parent", str(error)
        ) from error
    return found


def predicate_for(
    policy_id: str, text: str | None, folder: Path = OVERRIDES, context: str | None = None
) -> tuple[Predicate, str]:
    """The override for this text (under this parent, or any), if the policy has one, else what the rules read."""
    if text is not None:
        table = overrides(policy_id, folder)
        key = normalise(text)
        found = table.get((key, normalise(context) if context else None)) or table.get((key, None))
        if found:
            return found
    return read(text, normalise(context) if context else None)


SUBJECT = re.compile(r"^(?P<subject>.+?) (?:is|are|will be) (?:prescribed|used)\b")


def policy_products(drugs: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[str, ...] | None:
    """The drug concepts of a policy's products (its header's brand names, else the generic
    name), or None when one of them is not in the vocabulary."""
    found = []
    for generic, brands in drugs:
        names = brands or (generic,)
        ids = [concept("drug", name) for name in names]
        if None in ids:
            return None
        found += ids
    return tuple(dict.fromkeys(found)) or None  # type: ignore[arg-type]


def subject_restriction(
    text: str | None, predicate: Predicate, products: tuple[str, ...] | None
) -> tuple[Predicate, str] | None:
    """ "Darzalex Faspro is prescribed in combination with ...": where the subject names some,
    not all, of the policy's products, the item holds for those products only (requested_drug
    and the condition); a subject naming every product adds nothing."""
    match = SUBJECT.match(normalise(text)) if text and products else None
    named = concepts("drug", match["subject"]) if match else None
    if not named or predicate["op"] in ("review", "refer") or "requested_drug" in facts_read(predicate):
        return None
    if all(ancestors("drug", product) & set(named) for product in products or ()):
        return None
    return {"op": "all", "args": [fact("requested_drug", "in", named), predicate]}, "subject product"


@lru_cache(maxsize=1 << 16)
def criterion_columns(
    policy_id: str,
    text: str | None,
    footnote: str | None,
    context: str | None = None,
    products: tuple[str, ...] | None = None,
) -> dict[str, str | None]:
    """The stored predicate columns of a criterion row: its predicate, the rule, its footnote's
    (cached: the same texts recur across versions and policies; callers copy, never change, it).
    ``products``: the policy's products (``policy_products``), for an item whose subject names
    only some of them."""
    predicate, rule = predicate_for(policy_id, text, context=context)
    if not rule.startswith("override") and (restricted := subject_restriction(text, predicate, products)):
        predicate, rule = restricted[0], f"{restricted[1]} + {rule}"
    if resolved := resolve(predicate, policy_id):
        predicate, rule = resolved, f"{rule} + section V maxima"
    return {
        "predicate": json.dumps(predicate, ensure_ascii=False),
        "predicate_rule": rule,
        "footnote_predicate": json.dumps(footnote_predicate(policy_id, footnote), ensure_ascii=False)
        if footnote
        else None,
    }


def footnote_predicate(policy_id: str, footnote: str) -> Predicate:
    """A footnote's condition; a footnote that states no condition on the member is a note."""
    predicate, rule = predicate_for(policy_id, footnote)
    if predicate["op"] == "refer":
        return {"op": "note"}
    if rule == "needs clinical review" and re.match(
        r"^(?:prior authorization may be required|.+ is the preferred)", normalise(footnote)
    ):
        return {"op": "note"}
    return predicate

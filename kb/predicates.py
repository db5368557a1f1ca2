"""Predicates as data: each criterion's text read into a machine-readable condition.

A predicate is JSON: ``{"fact": F, "op": ">=", "value": 15}``, ``{"op": "all"|"any", "args": [...]}``,
``{"op": "if", "cond": P, "then": P}`` (read by where it stands: in a must-meet-all list
"(not X) or Y", as an option of a one-of list "X and Y"), ``{"op": "children"}`` (the item's
sub-items, combined by its logic), ``{"op": "refer"}`` (a referral to another policy) and
``{"op": "review", "reason": ...}``: a leaf no rule understands needs clinical review, never a
guess. Rules are tried in order on the normalised text; per-policy overrides, keyed by
normalised text, are data in ``kb/data/predicates/<policy>.toml``.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from kb.errors import ChangeDataError

Predicate = dict[str, Any]
OVERRIDES = Path(__file__).parent / "data" / "predicates"


def fact(name: str, op: str, value: Any) -> Predicate:
    return {"fact": name, "op": op, "value": value}


def _number(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() else value


def _dose(match: re.Match[str]) -> Predicate:
    per_cycle = fact("dose_mg_per_m2_per_cycle", "<=", _number(match["cycle"]))
    doses = [_number(d) for d in re.findall(r"([\d.]+) mg/m²", match["schedule"] or "")]
    return {"op": "all", "args": [per_cycle, fact("dose_mg_per_m2_per_dose", "<=", max(doses))]} if doses else per_cycle


def _specialties(match: re.Match[str]) -> Predicate:
    names = [n.strip() for n in re.split(r",\s*|\s+or\s+|\s+and\s+", match[1]) if n.strip()]
    return fact("prescriber_specialty", "in", [re.sub(r"^(?:an?|the)\s+", "", n) for n in names])


def _age(match: re.Match[str]) -> Predicate:
    limit = fact("age_years", {"≥": ">=", "≤": "<=", ">": ">", "<": "<"}[match["cmp"]], _number(match["n"]))
    return {"op": "any", "args": [limit, read(match["alt"])[0]]} if match["alt"] else limit


def _continuing(match: re.Match[str]) -> Predicate:
    documented = {
        "op": "all",
        "args": [
            fact("receiving_for_covered_indication", "is", True),
            fact("days_on_therapy", ">=", int(match["days"])),
        ],
    }
    return {"op": "any", "args": [fact("receiving_via_plan_benefit", "is", True), documented]}


RULES: list[tuple[str, re.Pattern[str], Callable[[re.Match[str]], Predicate]]] = [
    (name, re.compile(pattern), build)
    for name, pattern, build in [
        ("referral", r"\brefer to\b|\bpolicy for the relevant line of business\b", lambda m: {"op": "refer"}),
        (
            "sub-items",
            r"\b(?:one|both|all|any) of the following\b|\(must meet (?:all|\d+ or \d+)\)$",
            lambda m: {"op": "children"},
        ),
        ("diagnosis", r"^diagnosis of (.+)$", lambda m: fact("diagnosis", "in", [m[1]])),
        ("specialty", r"^prescribed by or in consultation with (.+)$", _specialties),
        ("age", r"^(?:member is )?age (?P<cmp>[≥≤<>]) ?(?P<n>\d+) years?(?: or (?P<alt>.+))?$", _age),
        ("marker", r"^.+ is (?P<m>cd\d+) positive$", lambda m: fact(f"{m['m']}_positive", "is", True)),
        (
            "disease status",
            r"^disease is (relapsed or refractory|relapsed|refractory)$",
            lambda m: fact("disease_status", "in", m[1].split(" or ")),
        ),
        (
            "philadelphia",
            r"^philadelphia chromosome-(negative|positive)(?: disease)?$",
            lambda m: fact("ph_status", "==", m[1]),
        ),
        (
            "line of therapy",
            r"^(?:besponsa is )?prescribed as (?:an? )?(\w+) therapy$",
            lambda m: fact("line_of_therapy", "has", m[1]),
        ),
        ("pediatric", r"^pediatric all$", lambda m: fact("age_years", "<", 18)),
        ("single agent", r"prescribed as a single agent$", lambda m: fact("single_agent", "is", True)),
        (
            "cycle cap",
            r"prescribed for no more than (\d+) cycles total$",
            lambda m: fact("cycles_total", "<=", int(m[1])),
        ),
        (
            "cycles received",
            r"^member has not received ≥ (\d+) cycles\b",
            lambda m: fact("cycles_received", "<", int(m[1])),
        ),
        (
            "dose limit",
            r"^(?:new )?dose does not exceed (?P<cycle>[\d.]+) mg/m² per cycle(?: \((?P<schedule>.+)\))?$",
            _dose,
        ),
        (
            "evidence",
            r"^(?:new )?dose is supported by .+\(prescriber must submit supporting evidence\)$",
            lambda m: {
                "op": "all",
                "args": [
                    fact("supporting_evidence_submitted", "is", True),
                    {"op": "review", "reason": "whether the submitted guidelines or literature support the dose"},
                ],
            },
        ),
        (
            "response",
            r"^member is responding positively to therapy$",
            lambda m: fact("response_to_therapy", "==", "positive"),
        ),
        (
            "tki",
            r"^disease is intolerant or refractory to a tyrosine kinase inhibitor(?: \(tki\))?$",
            lambda m: fact("tki_intolerant_or_refractory", "is", True),
        ),
        ("dose increase", r"^request is for a dose increase$", lambda m: fact("dose_increase", "is", True)),
        ("comorbidities", r"^substantial comorbidities$", lambda m: fact("substantial_comorbidities", "is", True)),
        (
            "regimen",
            r"^prescribed regimen must be fda-approved or recommended by nccn$",
            lambda m: fact("regimen_fda_or_nccn", "is", True),
        ),
        (
            "continuing",
            r"^currently receiving medication via .+ benefit, or documentation supports that member is currently "
            r"receiving .+ for a covered indication and has received this medication for at least (?P<days>\d+) days$",
            _continuing,
        ),
    ]
]


def normalise(text: str) -> str:
    """Lower case, one space, ``\\geq`` as ≥, no list punctuation at the end."""
    text = text.replace("\\geq", "≥").replace("\\leq", "≤").replace("’", "'")
    text = re.sub(r"\s+", " ", text).strip().casefold()
    return re.sub(r"(?:[;.:,*]|\s+(?:or|and))+$", "", text).strip()


def read(text: str | None) -> tuple[Predicate, str]:
    """The predicate a text states, and the name of the rule (or rules) that read it."""
    if text is None:
        return {"op": "review", "reason": "the criterion's text is unknown"}, "unknown text"
    clean = normalise(text)
    for name, pattern, build in RULES[:2]:
        if pattern.search(clean):
            if name == "sub-items" and (conditional := re.match(r"^if (.+?), (.+)$", clean)):
                return {"op": "if", "cond": read(conditional[1])[0], "then": {"op": "children"}}, "if + sub-items"
            return build(pattern.search(clean)), name  # type: ignore[arg-type]
    if "; " in clean:
        parts = [read(part) for part in clean.split("; ")]
        return {"op": "all", "args": [p for p, _ in parts]}, " + ".join(n for _, n in parts)
    if conditional := re.match(r"^if (.+?), (.+)$", clean):
        (cond, cond_rule), (then, then_rule) = read(conditional[1]), read(conditional[2])
        return {"op": "if", "cond": cond, "then": then}, f"if {cond_rule} then {then_rule}"
    for name, pattern, build in RULES[2:]:
        if match := pattern.search(clean):
            return build(match), name
    return {"op": "review", "reason": f"no extraction rule reads {text.strip()!r}"}, "needs clinical review"


@cache
def overrides(policy_id: str, folder: Path = OVERRIDES) -> dict[str, tuple[Predicate, str]]:
    """A policy's predicate overrides: normalised text -> (predicate, note)."""
    path = folder / f"{policy_id}.toml"
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return {
            normalise(entry["text"]): (json.loads(entry["predicate"]), f"override: {entry['note']}")
            for entry in data.get("override", [])
        }
    except (tomllib.TOMLDecodeError, KeyError, json.JSONDecodeError) as error:
        raise ChangeDataError(
            str(path), 0, "[[override]] entries with text, predicate (JSON) and note", str(error)
        ) from error


def predicate_for(policy_id: str, text: str | None, folder: Path = OVERRIDES) -> tuple[Predicate, str]:
    """The override for this text, if the policy has one, else what the rules read."""
    if text is not None and (found := overrides(policy_id, folder).get(normalise(text))):
        return found
    return read(text)


@lru_cache(maxsize=1 << 16)
def criterion_columns(policy_id: str, text: str | None, footnote: str | None) -> dict[str, str | None]:
    """The stored predicate columns of a criterion row: its predicate, the rule, its footnote's
    (cached: the same texts recur across versions and policies; callers copy, never change, it)."""
    predicate, rule = predicate_for(policy_id, text)
    return {
        "predicate": json.dumps(predicate, ensure_ascii=False),
        "predicate_rule": rule,
        "footnote_predicate": json.dumps(predicate_for(policy_id, footnote)[0], ensure_ascii=False)
        if footnote
        else None,
    }

"""The reading rules: each turns one kind of criterion text into a predicate, or gives way.

A rule takes the normalised text (and the frame its parent sets: "diagnosis", "age", "dose",
"use", "not-concurrent", "failed") and returns a predicate or None. Rules are tried in order;
the first that reads the whole text wins. Nothing is guessed: a rule that understands only
part of a text gives way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

from kb.concepts.facts import FACTS
from kb.predicates.doses import per_eye, schedule
from kb.predicates.language import Predicate
from kb.predicates.phrases import COMPARATOR, EXAMPLES, concepts, conjunction, dose, lab, normalise, number

Rule = Callable[[str, str | None], Predicate | None]


def fact(name: str, op: str, value: object) -> Predicate:
    return {"fact": name, "op": op, "value": value}


def _in(name: str, kind: str, text: str) -> Predicate | None:
    found = concepts(kind, text)
    return fact(name, "in", found) if found else None


def diagnosis(t: str, frame: str | None) -> Predicate | None:
    match = re.match(r"^(?:diagnosis of|prescribed for|for the treatment of) (.+)$", t)
    if match:
        return _in("diagnosis", "diagnosis", match[1])
    if match := re.match(r"^member has (.+)$", t):
        return _in("diagnosis", "diagnosis", match[1])
    return _in("diagnosis", "diagnosis", t) if frame == "diagnosis" else None


def specialty(t: str, frame: str | None) -> Predicate | None:
    match = re.match(r"^prescribed by or in consultation with (.+)$", t)
    found = concepts("specialty", match[1]) if match else None
    if not found:
        return None
    return {
        "op": "any",
        "args": [fact("prescriber_specialty", "in", found), fact("consulting_specialties", "has", found)],
    }


def age(t: str, frame: str | None) -> Predicate | None:
    pattern = r"^(?:member is |age is |age )?(?P<cmp>[≥≤<>]) ?(?P<n>\d+) years?(?: of age)?$"
    match = re.match(r"^(?:member is )?age (?P<cmp>[≥≤<>]) ?(?P<n>\d+) years?(?: or (?P<alt>.+))?$", t)
    if match is None and frame == "age":
        match = re.match(pattern, t)
    if match is None:
        return None
    limit = fact("age_years", COMPARATOR[match["cmp"]], int(match["n"]))
    if match.groupdict().get("alt"):
        other = finding(match["alt"], None)
        return {"op": "any", "args": [limit, other]} if other else None
    return limit


def pediatric(t: str, frame: str | None) -> Predicate | None:
    return fact("age_years", "<", 18) if re.match(r"^pediatric (?:all|patients?|members?)$", t) else None


def marker(t: str, frame: str | None) -> Predicate | None:
    match = re.match(r"^.+ is (cd\d+) positive$", t)
    return fact(f"{match[1]}_positive", "is", True) if match and f"{match[1]}_positive" in FACTS else None


def disease_status(t: str, frame: str | None) -> Predicate | None:
    match = re.match(r"^(?:disease is|member has|for) (.+?)(?: disease)?$", t)
    return _in("disease_status", "disease_status", match[1]) if match else None


def philadelphia(t: str, frame: str | None) -> Predicate | None:
    match = re.match(r"^philadelphia chromosome-(negative|positive)(?: disease)?$", t)
    return fact("ph_status", "in", [match[1]]) if match else None


def line_of_therapy(t: str, frame: str | None) -> Predicate | None:
    match = re.match(r"^(?:.+ is )?prescribed (?:as (?:an? )?)?(.+?) (?:therapy|treatment)$", t)
    found = concepts("therapy_line", f"{match[1]} therapy") if match else None
    return fact("line_of_therapy", "has", found) if found else None


def single_agent(t: str, frame: str | None) -> Predicate | None:
    match = re.match(r"^(?:.+ is )?prescribed as (?:a single agent|monotherapy)(?: as (.+))?$", t)
    if not match:
        return None
    if match[1] is None:
        return fact("single_agent", "is", True)
    line = line_of_therapy(f"prescribed as {match[1]}", frame)
    return {"op": "all", "args": [fact("single_agent", "is", True), line]} if line else None


def cycles(t: str, frame: str | None) -> Predicate | None:
    if match := re.search(r"prescribed for no more than (\d+) cycles total$", t):
        return fact("cycles_total", "<=", int(match[1]))
    if match := re.match(r"^member has not received ≥ (\d+) cycles\b", t):
        return fact("cycles_received", "<", int(match[1]))
    if match := re.match(r"^member has not received ≥ (\d+) days of therapy\b", t):
        return fact("days_on_therapy", "<", int(match[1]))
    return None


def dose_limit(t: str, frame: str | None) -> Predicate | None:
    match = re.match(r"^(?:new )?dose does not exceed (?P<cycle>[\d.]+) mg/m² per cycle(?: \((?P<schedule>.+)\))?$", t)
    if match:
        per_cycle = dose(f"{match['cycle']} mg/m² per cycle")
        doses = [number(d) for d in re.findall(r"([\d.]+) mg/m²", match["schedule"] or "")]
        if not doses:
            return per_cycle
        return {"op": "all", "args": [per_cycle, fact("dose", "<=", max(doses)) | {"unit": "mg/m2", "per": "dose"}]}
    match = re.match(r"^(?:new )?dose does not exceed (.+)$", t)
    text = match[1] if match else (t if frame == "dose" else None)
    if text is None:
        return None
    parts = [dose(part) for part in re.split(r" and (?=\d)", text)]
    if not parts or None in parts:
        return None
    return parts[0] if len(parts) == 1 else {"op": "all", "args": parts}


FDA_MAXIMUM = r"(?:new )?dose is within fda maximum limit for any fda-approved indication(?: in section v)?"
EVIDENCE = (
    r"(?:new )?(?:dose|dosing regimen) is supported by (?:practice guidelines or peer-reviewed literature|.+)"
    r" for the relevant off-label use \(prescriber must submit supporting evidence\)"
)


def _evidence() -> Predicate:
    return {
        "op": "all",
        "args": [
            fact("supporting_evidence_submitted", "is", True),
            {"op": "review", "reason": "whether the submitted guidelines or literature support the dose"},
        ],
    }


def evidence(t: str, frame: str | None) -> Predicate | None:
    if re.match(rf"^{EVIDENCE}$", t):
        return _evidence()
    if re.match(
        rf"^{FDA_MAXIMUM} or is supported by practice guidelines or peer-reviewed literature for the relevant off-label use \(prescriber must submit supporting evidence\)$",
        t,
    ):
        return {"op": "any", "args": [fact("dose_within_fda_maximum", "is", True), _evidence()]}
    if re.match(r"^(?:new )?dose does not exceed the maximum indicated regimen in section v$", t):
        return fact("dose_within_section_v_maximum", "is", True)
    if re.match(
        r"^(?:new )?dose does not exceed the fda-approved maximum recommended dose for the relevant indication$", t
    ):
        return fact("dose_within_fda_maximum", "is", True)
    return None


def continuing(t: str, frame: str | None) -> Predicate | None:
    if re.match(
        r"^currently receiving medication via centene benefit or member has previously met initial approval criteria$",
        t,
    ):
        return {
            "op": "any",
            "args": [fact("receiving_via_plan_benefit", "is", True), fact("met_initial_criteria", "is", True)],
        }
    if re.match(
        r"^member is currently receiving medication and is enrolled in a state and product with continuity of care regulations(?: \(refer to state specific addendums? for [^)]*\))?$",
        t,
    ):
        return {
            "op": "all",
            "args": [fact("currently_receiving", "is", True), fact("continuity_of_care_state", "is", True)],
        }
    match = re.match(
        r"^currently receiving medication via .+ benefit, or documentation supports that member is currently "
        r"receiving .+ for a covered indication and has received this medication for at least (?P<days>\d+) days$",
        t,
    )
    if not match:
        return None
    documented = {
        "op": "all",
        "args": [
            fact("receiving_for_covered_indication", "is", True),
            fact("days_on_therapy", ">=", int(match["days"])),
        ],
    }
    return {"op": "any", "args": [fact("receiving_via_plan_benefit", "is", True), documented]}


def response(t: str, frame: str | None) -> Predicate | None:
    if re.match(r"^member is responding positively to therapy(?: \((?:examples may include|see appendix)[^)]*\))?$", t):
        return fact("response_to_therapy", "in", ["positive"])
    return None


def concurrent(t: str, frame: str | None) -> Predicate | None:
    match = re.match(r"^(?:.+? (?:is|are) )?not prescribed concurrently with (.+)$", t)
    if match is None and frame == "concurrent":
        found = concepts("drug", t)
        return fact("concurrent_drugs", "has", found) if found else None
    found = concepts("drug", match[1]) if match else None
    return {"op": "not", "arg": fact("concurrent_drugs", "has", found)} if found else None


def combination(t: str, frame: str | None) -> Predicate | None:
    match = re.match(
        r"^(?:.+? (?:is|will be) )?(?:prescribed|used) (?:in combination|concurrently|concomitantly) with (.+)$"
        r"|^member continues to receive (.+)$",
        t,
    )
    if not match and frame != "combination":
        return None
    text = (match[1] or match[2]) if match else t
    if " plus " in text:
        parts = [
            combination(f"prescribed in combination with {part}", frame)
            for part in re.split(r" plus (?:either )?", text)
        ]
        return {"op": "all", "args": parts} if None not in parts else None  # type: ignore[dict-item]
    found = concepts("drug", text)
    if not found:
        return None
    # a regimen's drugs are all given ("bortezomib, cyclophosphamide, dexamethasone"); "or" offers a choice
    if not re.search(r"\bor\b", EXAMPLES.sub("", text)) and len(found) > 1:
        return {"op": "all", "args": [fact("concurrent_drugs", "has", [drug]) for drug in found]}
    return fact("concurrent_drugs", "has", found)


def requested(t: str, frame: str | None) -> Predicate | None:
    if match := re.match(r"^the requested agent (?:will be|is being) used as part of an? (.+)$", t):
        return _in("requested_use", "use", match[1])
    match = re.match(r"^request is for (.+)$", t)
    if match:
        return _in("requested_drug", "drug", match[1]) or _in("requested_use", "use", match[1])
    return _in("requested_use", "use", t) if frame == "use" else None


UNLESS_EACH = r"unless contraindicated or clinically significant adverse effects are experienced"
UNLESS_ALL = r"unless clinically significant adverse effects are experienced or (?:all|both) are contraindicated"


def _tried(facts: list[str], found: list[str]) -> Predicate:
    tried = [fact(name, "has", found) for name in facts]
    return tried[0] if len(tried) == 1 else {"op": "any", "args": tried}


def intolerance(t: str, frame: str | None) -> Predicate | None:
    """ "Disease is intolerant or refractory to X", "member has intolerance or contraindication to X"."""
    words = {
        "intolerant": "drugs_not_tolerated",
        "intolerance": "drugs_not_tolerated",
        "refractory": "drugs_failed",
        "contraindication": "drugs_contraindicated",
        "contraindicated": "drugs_contraindicated",
    }
    match = re.match(r"^(?:disease|member) (?:is|has) (?:an? )?(\w+)(?: or (\w+))? to (.+)$", t)
    if not match or match[1] not in words or (match[2] and match[2] not in words):
        return None
    found = concepts("drug", match[3])
    return _tried([words[w] for w in (match[1], match[2]) if w], found) if found else None


def never_received(t: str, frame: str | None) -> Predicate | None:
    match = re.match(r"^member has not previously received (.+)$", t)
    found = concepts("drug", match[1]) if match else None
    return {"op": "not", "arg": fact("drugs_received", "has", found)} if found else None


def prior_therapy(t: str, frame: str | None) -> Predicate | None:
    match = re.match(rf"^failure of (?P<drugs>.+?)(?:,? (?P<unless>{UNLESS_EACH}|{UNLESS_ALL}))?$", t)
    found = concepts("drug", match["drugs"]) if match else None
    if not found:
        return None
    unless = match["unless"] or ""  # type: ignore[index]

    def one(drug: str) -> Predicate:
        tried = [fact("drugs_failed", "has", [drug])]
        if unless:
            tried.append(fact("drugs_not_tolerated", "has", [drug]))
        if unless.startswith("unless contraindicated"):
            tried.append(fact("drugs_contraindicated", "has", [drug]))
        return tried[0] if len(tried) == 1 else {"op": "any", "args": tried}

    each = [one(drug) for drug in found]
    logic = conjunction(EXAMPLES.sub("", match["drugs"]))  # type: ignore[index]
    combined = each[0] if len(each) == 1 else {"op": logic, "args": each}
    if re.match(UNLESS_ALL, unless):
        contraindicated = [fact("drugs_contraindicated", "has", [drug]) for drug in found]
        every = contraindicated[0] if len(found) == 1 else {"op": "all", "args": contraindicated}
        return {"op": "any", "args": [combined, every]}
    return combined


def laboratory(t: str, frame: str | None) -> Predicate | None:
    return lab(t)


def weight(t: str, frame: str | None) -> Predicate | None:
    if match := re.match(r"^member weighs ([≥≤<>]) ?(\d+(?:\.\d+)?) kg$", t):
        return fact("weight_kg", COMPARATOR[match[1]], number(match[2]))
    if re.match(
        r"^documentation of member's (?:current )?(?:body )?weight(?: \(in kg\)| in kg)?(?: \(if requesting a higher dose than previously requested\))?$",
        t,
    ):
        return {"fact": "weight_kg", "op": "known"}
    return None


@cache
def _phrases() -> dict[str, Predicate]:
    found: dict[str, Predicate] = {}
    for name, item in FACTS.items():
        found |= {normalise(p): fact(name, "is", True) for p in item.phrases}
        found |= {normalise(p): fact(name, "is", False) for p in item.negations}
    return found


def finding(t: str, frame: str | None) -> Predicate | None:
    """A boolean fact named by one of its phrases in the fact vocabulary (``kb/concepts/facts.toml``)."""
    return _phrases().get(t)


RULES: list[tuple[str, Rule]] = [
    ("finding", finding),
    ("continuing", continuing),
    ("specialty", specialty),
    ("age", age),
    ("pediatric", pediatric),
    ("diagnosis", diagnosis),
    ("marker", marker),
    ("philadelphia", philadelphia),
    ("disease status", disease_status),
    ("single agent", single_agent),
    ("line of therapy", line_of_therapy),
    ("cycles", cycles),
    ("evidence", evidence),
    ("dose schedule", schedule),
    ("dose per eye", per_eye),
    ("dose limit", dose_limit),
    ("response", response),
    ("concurrent therapy", concurrent),
    ("combination", combination),
    ("requested product", requested),
    ("prior therapy", prior_therapy),
    ("intolerance", intolerance),
    ("never received", never_received),
    ("laboratory value", laboratory),
    ("weight", weight),
]


def read_atom(t: str, frame: str | None) -> tuple[Predicate, str] | None:
    """The first rule that reads the whole text, and its name."""
    for name, rule in RULES:
        found = rule(t, frame)
        if found is not None:
            return found, name
    return None

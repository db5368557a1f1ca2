"""Da Vinci DTR: the criteria in force as a FHIR R4 Questionnaire, and a filled response read as a request.

``questionnaire(answer)`` writes one item per fact the version's criteria read (linkId = the
fact's name in ``kb/concepts/facts.toml``), typed from the fact vocabulary, with answer options
in the code systems the concept vocabulary gives (ICD-10-CM, NUCC, HCPCS, RxNorm, NDC) or in
this project's own systems (``urn:policy-as-data:fact:NAME`` for a choice fact's values,
``urn:policy-as-data:concept:KIND`` for a concept without codes). ``enableWhen`` follows the
criteria tree: an item read only under "If X, ..." (or only in the initial or the continued
therapy section) is enabled by X (or by ``request_type``); each criterion an item serves is a
``display`` child quoting it, with its source, enabled as that criterion's own conditions say.
Criteria that need clinical review, referrals and criteria whose text is unknown in the history
are display items saying so. The form claims DTR's ``dtr-std-questionnaire`` profile, with a
narrative (its description, escaped) and ``subjectType`` Patient; the facts an EHR holds are
prefilled by SDC expressions (``kb.surfaces.fhir.prefill``). A filled response is read back in ``kb.surfaces.fhir.response``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Any

from fhir.resources.R4B.questionnaire import Questionnaire

from kb.concepts.codes import SYSTEMS
from kb.concepts.facts import DERIVED, FACTS, REQUEST_TYPES, Fact
from kb.concepts.match import KIND_SYSTEMS, kind_of, narrower
from kb.dates import to_date, utc_now
from kb.decide.ruleset import SECTIONS, Node, RuleSet
from kb.errors import KBError
from kb.predicates import Predicate, facts_read
from kb.store.asof import Answer
from kb.surfaces.fhir.prefill import initial_expression, launch_extensions

URL_PREFIX = "urn:policy-as-data:Questionnaire:"
DTR_STD = "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/dtr-std-questionnaire"
FACT_SYSTEM = "urn:policy-as-data:fact:"
CONCEPT_SYSTEM = "urn:policy-as-data:concept:"
SOURCE_EXTENSION = "urn:policy-as-data:StructureDefinition:criterion-source"
"""On a display item quoting a criterion: where the criterion comes from (document and line, or
the revision-log clause that reconstructed it, with its confidence)."""
UNIT_OPTION = "http://hl7.org/fhir/StructureDefinition/questionnaire-unitOption"
HEADER = ("request_type", "date_of_service")
"""Questions of the request itself, asked first; the line of business and the renewal date too
where the approval durations depend on them and no criterion asks them."""


class NotCovered(KBError):
    """No version in force on the date: there are no criteria to ask about."""


def url(policy: str) -> str:
    return URL_PREFIX + policy


def canonical_reference(policy: str, version: str | None) -> str:
    """The canonical reference (``url|version``) of a policy version's Questionnaire."""
    return f"{url(policy)}|{version}"


@dataclass(frozen=True)
class When:
    """One condition an item is asked under: ``question`` ``operator`` ``answer`` (an enableWhen)."""

    question: str
    operator: str
    kind: str  # answerBoolean, answerCoding, answerDecimal, answerInteger
    value: Any
    display: str

    def fhir(self) -> dict[str, Any]:
        return {"question": self.question, "operator": self.operator, self.kind: self.value}


@dataclass(frozen=True)
class Use:
    """A fact read by a criterion, under the conditions its place in the tree sets."""

    fact: str
    node: Node
    when: tuple[When, ...]


def _choice(name: str, value: str) -> dict[str, str]:
    return {"system": FACT_SYSTEM + name, "code": value, "display": value}


def _concept_codings(kind: str, concept_id: str) -> list[dict[str, str]]:
    """A concept as Codings: its codes in their FHIR systems, or this project's own system."""
    concept = kind_of(kind).concepts.get(concept_id)
    if concept is None:
        return []
    coded = [{"system": SYSTEMS[system][0], "code": code, "display": concept.label} for system, code in concept.codes]
    return coded or [{"system": CONCEPT_SYSTEM + kind, "code": concept.id, "display": concept.label}]


def _condition(p: Predicate) -> tuple[When, ...] | None:
    """A condition as enableWhen entries (all must hold), or None where FHIR cannot say it exactly
    (then what it conditions is asked unconditionally: asking more is safe, asking less is not)."""
    if p.get("op") == "all":
        parts = [_condition(arg) for arg in p["args"]]
        return None if None in parts else tuple(w for part in parts for w in part or ())
    name = p.get("fact")
    fact = FACTS.get(name or "")
    if fact is None or name in DERIVED:
        return None
    op, value = p["op"], p.get("value")
    if op == "is":
        return (When(name, "=", "answerBoolean", value, f"{name} is {str(value).lower()}"),)
    if op == "known":
        return (When(name, "exists", "answerBoolean", True, f"{name} is given"),)
    if op in ("<", "<=", ">", ">=", "==") and fact.type in ("number", "integer") and "unit" not in p:
        kind = "answerInteger" if fact.type == "integer" else "answerDecimal"
        return (When(name, "=" if op == "==" else op, kind, value, f"{name} {op} {value}"),)
    if op in ("in", "has") and isinstance(value, list) and len(value) == 1:
        if fact.type == "choice":
            return (When(name, "=", "answerCoding", _choice(name, value[0]), f"{name} is {value[0]}"),)
        # FHIR compares codings for equality: only a concept without codes (whose subtrees a code
        # would have) and without narrower concepts is said exactly by one coding
        kind = fact.kind or ""
        if kind not in KIND_SYSTEMS and narrower(kind, value[0]) == {value[0]}:
            coding = _concept_codings(kind, value[0])[0]
            return (When(name, "=", "answerCoding", coding, f"{name} is {value[0]}"),)
    return None


def _reads(p: Predicate, when: tuple[When, ...]) -> Iterator[tuple[str, tuple[When, ...]]]:
    """(fact, conditions) for each fact a predicate reads: "If X, Y" reads Y under X."""
    if "fact" not in p and p["op"] == "if":
        yield from ((name, when) for name in sorted(facts_read(p["cond"])))
        yield from _reads(p["then"], when + (_condition(p["cond"]) or ()))
    elif "fact" not in p and p["op"] in ("all", "any", "at_least"):
        for arg in p["args"]:
            yield from _reads(arg, when)
    elif "fact" not in p and p["op"] == "not":
        yield from _reads(p["arg"], when)
    else:
        yield from ((name, when) for name in sorted(facts_read(p)))


def _inner(p: Predicate) -> Iterator[Predicate]:
    """Every part of a predicate."""
    yield p
    for arg in p.get("args", []):
        yield from _inner(arg)
    for key in ("arg", "cond", "then"):
        if key in p:
            yield from _inner(p[key])


def _children_when(p: Predicate) -> tuple[When, ...]:
    """The conditions a node's sub-items are read under: "If X, the following" sets X."""
    if p["op"] == "if" and {"op": "children"} in (p["then"], *p["then"].get("args", [])):
        return _condition(p["cond"]) or ()
    return ()


@dataclass
class Walk:
    """The criteria of one version walked in policy order: facts with their uses, and notes."""

    uses: dict[str, list[Use]]
    order: list[tuple[str, Any]]  # ("fact", name) or ("note", item)


def _section_when(request_type: str) -> When:
    return When("request_type", "=", "answerCoding", _choice("request_type", request_type), f"{request_type} request")


def walk(rules: RuleSet) -> Walk:
    """The facts the criteria of sections I (initial) and II (continued therapy) read, in policy
    order, each with the criteria that read it and their conditions; and the display notes."""
    found = Walk({}, [])

    def visit(node: Node, when: tuple[When, ...]) -> None:
        if node.row["text"] is None:
            found.order.append(("note", _unknown_item(node, when)))
            return
        predicate = node.predicate
        if predicate["op"] == "refer" or (node.row["parent_id"] is None and node.is_referral()):
            found.order.append(("note", _referral_item(node, when)))
            return
        inner = when + _children_when(predicate)
        reads = list(_reads(predicate, when))
        if node.footnote is not None:
            reads += list(_reads(node.footnote, inner))
        for name, conditions in reads:
            for asked in DERIVED.get(name, (name,)):
                if asked not in found.uses:
                    found.order.append(("fact", asked))
                found.uses.setdefault(asked, [])
                if not any(use.node is node for use in found.uses[asked]):
                    found.uses[asked].append(Use(asked, node, conditions))
        reviewed = [part for part in _inner(predicate) if part["op"] in ("review", "never")]
        if reviewed:
            found.order.append(("note", _review_item(node, reviewed, when)))
        for child in node.children:
            visit(child, inner)

    for request_type, section in SECTIONS.items():
        for node in rules.sets.get(section, []):
            visit(node, (_section_when(request_type),))
    return found


def _enable(item: dict[str, Any], when: tuple[When, ...]) -> dict[str, Any]:
    if when:
        item["enableWhen"] = [w.fhir() for w in when]
        if len(when) > 1:
            item["enableBehavior"] = "all"
    return item


def _quote(node: Node) -> str:
    return f"{node.where} {node.row['text']}"


def _source(node: Node) -> list[dict[str, str]]:
    return [{"url": SOURCE_EXTENSION, "valueString": node.source}] if node.source else []


def _note(link: str, text: str, node: Node, when: tuple[When, ...]) -> dict[str, Any]:
    item = {"linkId": link, "type": "display", "text": text}
    if node.source:
        item["extension"] = _source(node)
    return _enable(item, when)


def _review_item(node: Node, parts: list[Predicate], when: tuple[When, ...]) -> dict[str, Any]:
    """One display item for a criterion's parts that need clinical review (or are never met)."""
    why = "; ".join(
        f"{'needs clinical review' if part['op'] == 'review' else 'is never met'}: {part.get('reason', '')}"
        for part in parts
    )
    return _note(f"review:{node.where}", f"{_quote(node)} — {why}", node, when)


def _referral_item(node: Node, when: tuple[When, ...]) -> dict[str, Any]:
    text = f"{_quote(node)} — refers the request to other policies; this questionnaire does not ask their criteria"
    return _note(f"refer:{node.where}", text, node, when)


def _unknown_item(node: Node, when: tuple[When, ...]) -> dict[str, Any]:
    text = f"{node.where} — the text of this criterion is unknown in the history; a reviewer must decide it"
    return _note(f"unknown:{node.where}", text, node, when)


def _accepted(uses: list[Use]) -> list[str]:
    """The concept ids the criteria accept for a fact, in the order they name them."""
    found: dict[str, None] = {}
    for use in uses:
        for predicate in (use.node.predicate, use.node.footnote or {"op": "note"}):
            for part in _inner(predicate):
                if part.get("fact") == use.fact and part["op"] in ("in", "has"):
                    found.update(dict.fromkeys(part["value"]))
    return list(found)


def _units(uses: list[Use]) -> list[str]:
    """Dose units as the criteria state limits: 'mg/m2 per cycle'."""
    found: dict[str, None] = {}
    for use in uses:
        for part in _inner(use.node.predicate):
            if part.get("fact") == use.fact and "unit" in part:
                found[f"{part['unit']} per {part.get('per', 'dose')}"] = None
    return list(found)


def _answers(fact: Fact, uses: list[Use]) -> dict[str, Any]:
    """type, repeats and answer options of a fact's item, from its vocabulary entry."""
    if fact.type in ("boolean", "integer", "date"):
        return {"type": fact.type}
    if fact.type == "number":
        return {"type": "decimal"}
    if fact.type == "choice":
        return {"type": "choice", "answerOption": [{"valueCoding": _choice(fact.name, v)} for v in fact.values]}
    if fact.type in ("concept", "concepts"):
        kind = fact.kind or ""
        ids = _accepted(uses) if kind in KIND_SYSTEMS else list(kind_of(kind).concepts)
        options = [{"valueCoding": coding} for concept in ids for coding in _concept_codings(kind, concept)]
        item: dict[str, Any] = {"type": "open-choice"} | ({"answerOption": options} if options else {})
        return item | ({"repeats": True} if fact.type == "concepts" else {})
    units = _units(uses) if fact.type == "quantity" else list(fact.units)
    extension = [{"url": UNIT_OPTION, "valueCoding": {"code": unit, "display": unit}} for unit in units]
    item = {"type": "quantity"} | ({"extension": extension} if extension else {})
    return item | ({"repeats": True} if fact.type == "quantity" else {})


HOW = {
    "concept": "one of the options{systems}, or words",
    "concepts": "every one that applies: options{systems}, or words",
    "quantity": "each dose with its unit written 'UNIT per INTERVAL' (mg/m2 per cycle, mg per 1 day, mg per dose)",
}


def _fact_item(name: str, uses: list[Use]) -> dict[str, Any]:
    fact = FACTS[name]
    common = tuple(w for w in uses[0].when if all(w in use.when for use in uses))
    systems = ", ".join(KIND_SYSTEMS.get(fact.kind or "", ()))
    how = HOW.get(fact.type, "").format(systems=f" or any code of {systems}" if systems else "")
    text = fact.meaning[0].upper() + fact.meaning[1:] + (f" ({how})" if how else "")
    children = [
        _note(
            f"{name}/{use.node.where}",
            f"{_quote(use.node)}" + (f" — asked when {' and '.join(w.display for w in extra)}" if extra else ""),
            use.node,
            extra,
        )
        for use in uses
        for extra in [tuple(w for w in use.when if w not in common)]
    ]
    item = {"linkId": name, "text": text, **_answers(fact, uses), "item": children}
    if prefill := initial_expression(name):
        item["extension"] = [*item.get("extension", []), *prefill]
    return _enable(item, common)


def _header(answer: Answer, read: set[str]) -> list[dict[str, Any]]:
    request_type = {
        "linkId": "request_type",
        "text": "Is the request for initial approval (section I) or continued therapy (section II)?",
        "type": "choice",
        "required": True,
        "answerOption": [{"valueCoding": _choice("request_type", t)} for t in REQUEST_TYPES],
        "initial": [{"valueCoding": _choice("request_type", "initial")}],
    }
    service = {
        "linkId": "date_of_service",
        "text": "Date of service (when not answered, the response's authored date is taken)",
        "type": "date",
    }
    items = [request_type, service]
    durations = answer.records.get("duration", [])
    if len({row["line_of_business"] for row in durations}) > 1 and "line_of_business" not in read:
        lines = sorted({row["line_of_business"] for row in durations})
        items.append(
            {
                "linkId": "line_of_business",
                "text": "The member's line of business (the approval duration depends on it)",
                "type": "choice",
                "answerOption": [{"valueCoding": _choice("line_of_business", line)} for line in lines],
                "item": [
                    {
                        "linkId": f"line_of_business/duration-{number}",
                        "type": "display",
                        "text": f"{row['section']}.{row['indication']} {row['line_of_business']}"
                        + (f" ({row['condition']})" if row.get("condition") else "")
                        + f": {row['text'] or 'approval duration unknown in the history'}",
                    }
                    for number, row in enumerate(durations, 1)
                ],
            }
        )
    renewing = sorted({row["line_of_business"] for row in durations if row.get("rule") and "renewal" in row["rule"]})
    if renewing and "renewal_date" not in read:

        def when(line: str) -> list[dict[str, Any]]:
            return [
                {"question": "line_of_business", "operator": "=", "answerCoding": _choice("line_of_business", line)}
            ]

        items.append(
            {
                "linkId": "renewal_date",
                "text": "The member's plan renewal date (the approval runs to it when that is longer)",
                "type": "date",
                "enableWhen": [w for line in renewing for w in when(line)],
                "enableBehavior": "any",
            }
        )
    return items


def questionnaire(answer: Answer, generated_at: datetime | None = None) -> Questionnaire:
    """The criteria in force in ``answer`` as a Questionnaire (validated by the R4B model);
    ``meta.lastUpdated`` says when it was generated, ``date`` the knowledge time."""
    if not answer.covered:
        raise NotCovered(f"{answer.policy_id} on {answer.as_of}: {answer.status}: {answer.reason}")
    rules = RuleSet.of(answer)
    found = walk(rules)
    version = answer.version or {}
    label = version.get("label")
    items = _header(answer, set(found.uses))
    for what, value in found.order:
        if what == "note":
            items.append(value)
        elif value not in HEADER:
            items.append(_fact_item(value, found.uses[value]))
    period = {"start": version["valid_from"]}
    if version.get("valid_to"):
        period["end"] = (to_date(version["valid_to"]) - timedelta(days=1)).isoformat()
    windows = " ".join(f"{w['note']} Differs: {'; '.join(w['differences'])}." for w in answer.rule_dependent)
    description = (
        f"The criteria of {answer.policy_id} version {label} (in force {version['valid_from']} to "
        f"{version.get('valid_to') or 'open'}, effective-date rule {answer.rule}), {answer.knowledge()}. "
        "Each question is a fact of the request (linkId = fact name); its display children quote the "
        "criteria it serves and their source. Unanswered questions are unknown: the decision pends on them."
        + (f" {windows}" if windows else "")
    )
    return Questionnaire.model_validate(
        {
            "resourceType": "Questionnaire",
            "meta": {"lastUpdated": (generated_at or utc_now()).isoformat(timespec="seconds"), "profile": [DTR_STD]},
            "text": {
                "status": "generated",
                "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{escape(description)}</div>',
            },
            "extension": launch_extensions(set(found.uses)) or None,
            "url": url(answer.policy_id),
            "version": label,
            "name": "".join(c if c.isalnum() else "_" for c in f"{answer.policy_id}_{label}"),
            "title": f"{answer.policy_id} prior authorization criteria, version {label}",
            "status": "active",
            "subjectType": ["Patient"],
            "date": answer.known_at_text or answer.loaded_at,
            "publisher": "policy-as-data",
            "description": description,
            "effectivePeriod": period,
            "item": items,
        }
    )


def export_questionnaire(answer: Answer, generated_at: datetime | None = None) -> str:
    """``kb export --format questionnaire``: the Questionnaire as JSON."""
    return questionnaire(answer, generated_at).model_dump_json(indent=2, exclude_none=True)


def _coding_text(coding: Any) -> str:
    system = coding.system or ""
    own = system.startswith((FACT_SYSTEM, CONCEPT_SYSTEM))
    named = {uri: name for name, (uri, _) in SYSTEMS.items()}.get(system, system)
    code = coding.code if own else f"{named} {coding.code}"
    return f"{coding.display} ({code})" if coding.display and coding.display != coding.code else code


def _when_text(item: Any) -> str:
    """An item's enableWhen in words: "request_type = initial and line_of_therapy = frontline"."""
    parts = []
    for when in item.enableWhen or []:
        value = next(
            getattr(when, k) for k in type(when).model_fields if k.startswith("answer") and getattr(when, k) is not None
        )
        shown = value.code if hasattr(value, "code") else str(value).lower() if isinstance(value, bool) else value
        parts.append(
            f"{when.question} is given" if when.operator == "exists" else f"{when.question} {when.operator} {shown}"
        )
    return f" {'or' if item.enableBehavior == 'any' else 'and'} ".join(parts)


def readable(form: Questionnaire) -> dict[str, Any]:
    """A Questionnaire as the site page shows it: each item with its conditions, answers and sources in words."""

    def item_view(item: Any) -> dict[str, Any]:
        sources = [e.valueString for e in item.extension or [] if e.url == SOURCE_EXTENSION]
        units = [e.valueCoding.code for e in item.extension or [] if e.url == UNIT_OPTION]
        return {
            "linkId": item.linkId,
            "type": item.type,
            "text": item.text,
            "repeats": item.repeats,
            "when": _when_text(item),
            "options": [_coding_text(o.valueCoding) for o in item.answerOption or [] if o.valueCoding],
            "units": units,
            "source": sources[0] if sources else None,
            "children": [item_view(child) for child in item.item or []],
        }

    period = form.effectivePeriod
    return {
        "title": form.title,
        "url": form.url,
        "version": form.version,
        "start": period.start if period else None,
        "end": period.end if period else None,
        "date": form.date,
        "description": form.description,
        "item": [item_view(item) for item in form.item or []],
    }

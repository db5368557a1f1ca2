"""Plain-text rendering of an answer: the criteria tree as the policy reads, and its tables."""

from __future__ import annotations

from typing import Any

from kb.decide.evaluate import Decision
from kb.store.asof import Answer
from kb.store.sources import provenance_text


def _source_note(row: dict[str, Any], documents: dict[str, dict[str, Any]] | None = None) -> str:
    return f"[{provenance_text(row, documents)}]"


def window_lines(answer: Answer) -> list[str]:
    """The rule-dependent windows holding the date, each with what the other rule reads."""
    out = []
    for window in answer.rule_dependent:
        out.append(f"  RULE-DEPENDENT: {window['note']}")
        out += [f"    under {window['other_rule']}, differs: {line}" for line in window["differences"]]
    return out


def criteria_lines(
    rows: list[dict[str, Any]], with_sources: bool = True, documents: dict[str, dict[str, Any]] | None = None
) -> list[str]:
    """The criteria tree, indented by depth, with labels and logic words as written."""
    children: dict[str | None, list[dict[str, Any]]] = {}
    for row in rows:
        children.setdefault(row["parent_id"], []).append(row)
    lines: list[str] = []
    sections: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for row in sorted(children.get(parent, []), key=lambda r: (r["section"] != "I", r["section"], r["position"])):
            if parent is None and row["section"] not in sections:
                sections.append(row["section"])
                lines.append(f"Section {row['section']}")
            text = row["text"] if row["text"] is not None else "[unknown]"
            note = f"  {_source_note(row, documents)}" if with_sources else ""
            marker = row["footnote_marker"] or ""
            lines.append(f"{'  ' * (depth + 1)}{row['label']} {text}{marker}{note}")
            if row["footnote_text"]:
                lines.append(f"{'  ' * (depth + 2)}{marker} {row['footnote_text']}")
            walk(row["item_id"], depth + 1)

    walk(None, 0)
    return lines


def answer_text(answer: Answer) -> str:
    """The whole answer as a reader would want it in a terminal."""
    head = f"{answer.policy_id} as of {answer.as_of}"
    knowledge = f"  effective-date rule {answer.rule}; knowledge: {answer.knowledge()}"
    if not answer.covered:
        return "\n".join([f"{head}: NOT COVERED", f"  {answer.reason}", knowledge, *window_lines(answer)])
    version = answer.version or {}
    docs = answer.documents
    out = [
        f"{head}: version {version['label']} in force {version['valid_from']} .. "
        f"{version['valid_to'] or 'open'} ({version['basis']}; rule {answer.rule})",
        knowledge,
        *window_lines(answer),
    ]
    out += ["", "Criteria", *criteria_lines(answer.criteria(), documents=docs)]
    out += ["", "Approval durations"]
    for row in answer.records.get("duration", []):
        text = row["text"] if row["text"] is not None else "[unknown]"
        out.append(
            f"  {row['section']}.{row['indication']} {row['line_of_business']}: {text}  {_source_note(row, docs)}"
        )
    out += ["", "Cross-references"]
    for row in answer.records.get("cross_reference", []):
        out.append(
            f"  {row['item_id']} {row['line_of_business']} ({row['role']}): {row['policy_ref']}  {_source_note(row, docs)}"
        )
    out += ["", "Codes"] + [
        f"  {r['system']} {r['code'] or '[code not in source]'}: {r['description']}"
        for r in answer.records.get("code", [])
    ]
    out += ["", "References"] + [
        f"  {r['citation']} {r['url'] or ''} (accessed {r['accessed'] or 'n/a'})"
        for r in answer.records.get("reference", [])
    ]
    out += [f"  [unknown] {u['reason']}" for u in answer.records.get("unknown", []) if u["kind"] == "reference"]
    indications = [r for r in answer.records.get("statement", []) if r["kind"] == "fda_indication"]
    out += ["", "FDA-approved indication(s)"] + [
        f"  {r['text'] or '[unknown]'}  {_source_note(r, docs)}" for r in indications
    ]
    unknown = answer.records.get("unknown", [])
    if unknown:
        out += ["", "Unknown in this version"] + [f"  {r['kind']} {r['scope']}: {r['reason']}" for r in unknown]
    return "\n".join(out)


MARKS = {"met": "✓", "not met": "✗", "unknown": "?"}


def decision_text(decision: Decision) -> str:
    """A trace an evaluator can read: the decision, why, and each criterion with the facts it read."""
    request = decision.request
    version = decision.version or {}
    out = [
        f"{request.request_id or 'request'}: {decision.decision.upper()} under {decision.policy} "
        f"{version.get('label', '(no version)')} ({version.get('basis', '-')}), date of service {request.date_of_service}",
        f"  rules {(decision.rules_hash or '-')[:16]}, effective-date rule {decision.effective_date_rule}, known at {decision.known_at}, evaluated {decision.evaluated_at or '-'}",
    ]
    if decision.evaluated_as_of:
        out.append(f"  AS OF {decision.evaluated_as_of} (--as-of): the rules in force then, not on the date of service")
    out += [f"  RULE-DEPENDENT: {note['note']}" for note in decision.rule_dependent]
    out += [
        f"  UNDER THE {other['rule'].upper()} RULE: {other['version'] or 'no version (not covered)'} would {other['decision']}"
        + (" (the decision differs)" if other["differs"] else " (the same decision)")
        for other in decision.other_rule
    ]
    out += [f"  because {reason}" for reason in decision.reasons]
    if decision.needed:
        out.append("  would be settled by: " + "; ".join(decision.needed))
    for entry in decision.criteria:
        facts = ", ".join(f"{k}={v!r}" for k, v in entry["facts"].items())
        reading = f" ({entry['reading']})" if entry.get("reading") else ""
        out.append(f"  {'  ' * entry['depth']}{MARKS[entry['result']]} {entry['where']} {entry['text']}{reading}")
        if facts or entry["needs"]:
            detail = f"read {facts}" if facts else ""
            needs = f" needs {'; '.join(entry['needs'])}" if entry["needs"] else ""
            out.append(f"  {'  ' * entry['depth']}    {detail}{needs}  [{entry['source']}]")
    if decision.duration:
        d = decision.duration
        out.append(f"  approval duration ({d['line_of_business']}): {d['text']} -> until {d['end_date']}")
        if d.get("cycles_remaining") is not None:
            left = d["cycles_remaining"] - d["cycles_approved"]
            out.append(
                f"    cycles: {d['cycles_approved']} approved of the {d['cycles_remaining']} that remained under "
                f"the cap of {d['cycle_cap']}; {left} remain after this approval"
            )
        if d.get("days_approved") is not None:
            out.append(f"    days: {d['days_approved']} approved, {d['days_remaining']} remain of the course's total")
        if d.get("injections_approved") is not None:
            out.append(f"    injections: {d['injections_approved']} covered by the approval")
        if d.get("note"):
            out.append(f"    note: {d['note']}")
    for ref in decision.referral:
        out.append(f"  refer to {ref['policy']} ({ref['role']}, {ref['line_of_business']}) [{ref['source']}]")
    return "\n".join(out)

"""What a page's parameters say, in words: every empty or refused answer explains itself.

``check`` reads the policy, date, version-label and knowledge-time parameters of a canned query
or a plugin page against the knowledge base. Problems mean the page shows no rows (the SQL
matches nothing for them either); notes are facts about the answer worth knowing (a label read
as its date, a span starting before the knowledge base covers the policy, a rule-dependent date).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from kb.dates import to_timestamp
from kb.errors import KBError
from kb.surfaces.api import KnowledgeBase

DATE_PARAMETERS = ("as_of", "from", "to")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})?)?")
DATE_EXAMPLE = "YYYY-MM-DD (e.g. 2024-08-01)"


@dataclass
class Checked:
    """The outcome of a check: problems (no answer until fixed), notes, the dates resolved and the
    knowledge time read (None: as known now)."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    days: dict[str, str] = field(default_factory=dict)
    policy: str | None = None
    known_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def policy_problem(kb: KnowledgeBase, value: str) -> str | None:
    """None for a known policy; otherwise the problem, with a suggestion (case-insensitive first)."""
    if not value:
        return "Enter a policy reference number in the policy field, e.g. CP.PHAR.359."
    known = [row["policy_id"] for row in kb.connection.execute("SELECT policy_id FROM policy ORDER BY policy_id")]
    if value in known:
        return None
    same = [policy for policy in known if policy.casefold() == value.casefold()]
    close = same or difflib.get_close_matches(value.upper(), known, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(close)}?" if close else f" The knowledge base holds {len(known)} policies."
    return f"No policy {value!r} in the knowledge base (reference numbers are matched exactly).{hint}"


def day_problem(kb: KnowledgeBase, policy: str | None, name: str, value: str) -> tuple[str | None, str | None]:
    """``(date, None)`` for a date or a version label of ``policy``; ``(None, problem)`` otherwise."""
    label = " or a version label such as V2024-05" if policy else ""
    if not value:
        return None, f"Enter a date in the {name} field, as {DATE_EXAMPLE}{label}."
    if value.startswith("V"):
        if policy is None:
            return None, f"{name} {value!r} looks like a version label, which needs a policy: enter a date instead."
        try:
            return str(kb.resolve(policy, value)), None
        except KBError:
            labels = ", ".join(v["label"] for v in kb.versions(policy))
            return None, f"{policy} has no version {value!r}; its versions are {labels}."
    if not ISO_DATE.fullmatch(value):
        return None, f"{name} {value!r} is not a date: expected {DATE_EXAMPLE}{label}."
    try:
        date.fromisoformat(value)
    except ValueError as error:
        return None, f"{name} {value!r} is not a calendar date ({error})."
    return value, None


def read_known_at(value: str) -> tuple[datetime | None, str | None]:
    """``(timestamp, None)`` for an ISO date or timestamp, ``(None, None)`` for a blank (now);
    ``(None, problem)`` saying what is expected otherwise."""
    if not value:
        return None, None
    expected = "expected an ISO date or timestamp such as 2026-01-15 or 2026-01-15T09:30:00+00:00"
    if not ISO_TIME.fullmatch(value):
        return None, f"known_at {value!r} is not a knowledge time: {expected}."
    try:
        return to_timestamp(datetime.fromisoformat(value.replace("Z", "+00:00"))), None
    except ValueError as error:
        return None, f"known_at {value!r} is not a real date and time ({error}): {expected}."


def check(kb: KnowledgeBase, parameters: set[str], args: dict[str, str], reversed_ok: bool = False) -> Checked:
    """Check the ``parameters`` a page uses (policy, as_of, from, to, known_at) in ``args``; with
    ``reversed_ok`` a span given the wrong way round is turned round, with a note."""
    checked = Checked()
    value = args.get("policy", "").strip()
    if "policy" in parameters:
        problem = policy_problem(kb, value)
        if problem:
            checked.problems.append(problem)
        else:
            checked.policy = value
    for name in (n for n in DATE_PARAMETERS if n in parameters):
        raw = args.get(name, "").strip()
        if "policy" in parameters and checked.policy is None and raw.startswith("V"):
            continue  # a label cannot be read without its policy, whose problem is already said
        resolved, problem = day_problem(kb, checked.policy, name, raw)
        if problem:
            checked.problems.append(problem)
        elif resolved:
            checked.days[name] = resolved
            if resolved != raw:
                checked.notes.append(f"{name} {raw} is version {raw} of {checked.policy}, in force from {resolved}.")
    if "known_at" in parameters:
        checked.known_at, problem = read_known_at(args.get("known_at", "").strip())
        if problem:
            checked.problems.append(problem)
    if checked.ok:
        _coverage(kb, checked)
        _span(kb, checked, reversed_ok)
    return checked


def _coverage(kb: KnowledgeBase, checked: Checked) -> None:
    """A date the knowledge base does not cover is a problem that says why; windows are notes."""
    if checked.policy is None or "as_of" not in checked.days:
        return
    answer = kb.as_of(checked.policy, checked.days["as_of"], checked.known_at)
    if not answer.covered:
        checked.problems.append(f"{checked.policy} is not covered on {checked.days['as_of']}: {answer.reason}.")
    checked.notes += [f"Rule-dependent date: {note['note'].rstrip('.')}." for note in answer.rule_dependent]


def _span(kb: KnowledgeBase, checked: Checked, reversed_ok: bool) -> None:
    """A reversed span is a problem (or turned round); a span starting before the policy's coverage is a note."""
    if "from" not in checked.days or "to" not in checked.days:
        return
    start, end = checked.days["from"], checked.days["to"]
    if start > end and reversed_ok:
        checked.days["from"], checked.days["to"] = start, end = end, start
        checked.notes.append(f"from {end} is after to {start}: shown from the earlier date to the later one.")
    if start > end:
        checked.problems.append(f"from {start} is after to {end}: no change lies in that span; swap the two dates.")
    elif checked.policy:
        first = kb.versions(checked.policy)[0]["valid_from"]
        if start < first:
            checked.notes.append(
                f"The knowledge base covers {checked.policy} from {first} only: nothing before that date is known "
                "to compare with."
            )


def parameters_of(sql: str) -> set[str]:
    """The named parameters a canned query's SQL uses (outside its string literals)."""
    return set(re.findall(r"(?<!:):([a-z_]+)", re.sub(r"'(?:[^']|'')*'", "''", sql)))


def request_args(request: Any) -> dict[str, str]:
    return {key: request.args.get(key, "") for key in request.args}

"""Where a reader can go from a page: the timeline, each version as it read, the neighbouring
versions and their diffs, the changes and coverage of a policy, and the recent-changes spans."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from kb.history.reviews import quarter_bounds

Link = tuple[str, str]


def url(path: str, **params: str) -> str:
    return f"{path}?{urlencode(params)}" if params else path


def policy_url(policy: str, as_of: str) -> str:
    return url("/-/kb/policy", policy=policy, as_of=as_of)


def diff_url(policy: str, before: str, after: str) -> str:
    return url("/-/kb/diff", policy=policy, **{"from": before, "to": after})


def questionnaire_url(policy: str, as_of: str, fmt: str | None = None) -> str:
    return url("/-/kb/questionnaire", policy=policy, as_of=as_of, **({"format": fmt} if fmt else {}))


def in_force(versions: list[dict[str, Any]], day: str) -> int | None:
    """The index of the version in force on ``day`` (ISO date), or None where none is."""
    for index, version in enumerate(versions):
        if version["valid_from"] <= day and (version["valid_to"] is None or day < version["valid_to"]):
            return index
    return None


def policy_links(database: str, policy: str) -> list[Link]:
    """The pages every policy page links to."""
    return [
        ("Version timeline", url(f"/{database}/version_timeline", policy=policy)),
        ("Revision log", url(f"/{database}/revision_log", policy=policy)),
        ("Document coverage", url("/-/kb/coverage", policy=policy)),
    ]


def version_links(database: str, policy: str, versions: list[dict[str, Any]], index: int) -> list[Link]:
    """From the policy as version ``index`` read: its neighbours as they read and the diffs to them."""
    links = policy_links(database, policy)
    version = versions[index]
    if index > 0:
        before = versions[index - 1]
        links.append((f"← {before['label']} as it read", policy_url(policy, before["label"])))
        links.append(
            (f"Diff {before['label']} → {version['label']}", diff_url(policy, before["label"], version["label"]))
        )
    if index + 1 < len(versions):
        after = versions[index + 1]
        links.append(
            (f"Diff {version['label']} → {after['label']}", diff_url(policy, version["label"], after["label"]))
        )
        links.append((f"{after['label']} as it read →", policy_url(policy, after["label"])))
    links.append(
        ("Criteria in force (table)", url(f"/{database}/criteria_in_force", policy=policy, as_of=version["label"]))
    )
    links.append(("Questionnaire (FHIR DTR)", questionnaire_url(policy, version["label"])))
    return links


def diff_links(database: str, policy: str, versions: list[dict[str, Any]], days: tuple[str, str]) -> list[Link]:
    """From a diff: both versions as they read, the previous and next steps, the changes of the span."""
    links = policy_links(database, policy)
    first, last = in_force(versions, days[0]), in_force(versions, days[1])
    for index, day in ((first, days[0]), (last, days[1])):
        if index is not None:
            links.append((f"{versions[index]['label']} as it read ({day})", policy_url(policy, day)))
    if first is not None and first > 0:
        step = (versions[first - 1]["label"], versions[first]["label"])
        links.append((f"← previous step: {step[0]} → {step[1]}", diff_url(policy, *step)))
    if last is not None and last + 1 < len(versions):
        step = (versions[last]["label"], versions[last + 1]["label"])
        links.append((f"next step: {step[0]} → {step[1]} →", diff_url(policy, *step)))
    links.append(
        (
            "Changes, one row per event",
            url(f"/{database}/changes_between", policy=policy, **dict(zip(("from", "to"), days))),
        )
    )
    return links


def picker(action: str, policy: str, fields: dict[str, str], versions: list[dict[str, Any]]) -> dict[str, Any]:
    """A form to ask the same page of ``policy`` for other dates: each field takes a date or picks a
    version label from the list."""
    labels = {"as_of": "In force on", "from": "From", "to": "To"}
    return {
        "action": action,
        "policy": policy,
        "fields": [(name, labels.get(name, name), value) for name, value in fields.items()],
        "versions": [(version["label"], version["valid_from"]) for version in versions],
    }


def quarter(day: date) -> tuple[date, date]:
    """The first and last day of the calendar quarter holding ``day``."""
    return quarter_bounds(day.year, (day.month - 1) // 3 + 1)


def recent_spans(database: str, today: date) -> list[Link]:
    """Recent-changes pages for the spans compliance staff ask about."""
    this = quarter(today)
    last = quarter(this[0] - timedelta(days=1))
    spans = [
        (f"This quarter ({this[0]:%Y}-Q{(this[0].month + 2) // 3})", this),
        (f"Last quarter ({last[0]:%Y}-Q{(last[0].month + 2) // 3})", last),
        ("Last 12 months", (today - timedelta(days=365), today)),
        ("Last 3 years", (today - timedelta(days=3 * 365), today)),
    ]
    return [
        (label, url(f"/{database}/recent_changes", **{"from": start.isoformat(), "to": end.isoformat()}))
        for label, (start, end) in spans
    ]

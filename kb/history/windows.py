"""Rule-dependent windows, described: what the other effective-date rule would read there.

``kb.store.asof.rule_dependent`` finds the windows holding a date and the version each rule reads;
this module fills each window's ``differences`` with the diff between the two readings (the
substantive changes, and what cannot be compared), so that every surface can say not only
*that* the answer depends on the rule but *how*.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from typing import Any

from kb.history.diff import diff_answers
from kb.store.asof import as_of

Cache = dict[tuple[str, str | None, str | None, str | None], list[str]]


def differences(
    connection: sqlite3.Connection, policy_id: str, day: date, window: dict[str, Any], known_at: datetime | None
) -> list[str]:
    """The changes from the version read under the rule used to the one the other rule reads."""
    used, other = window["version"], window["other_version"]
    if used is None or other is None:
        rules = (window["rule"], window["other_rule"])
        (missing, covered), present = (rules, other) if used is None else (rules[::-1], used)
        return [f"under {missing} no version is vouched for; under {covered} {present} applies, all of it"]
    mine = as_of(connection, policy_id, day, known_at, window["rule"])
    theirs = as_of(connection, policy_id, day, known_at, window["other_rule"])
    found = []
    for change in diff_answers(mine, theirs).shown():
        if change.substantive is False:
            continue
        where = change.where_after or change.where_before or change.key
        doubt = "" if change.substantive else " (cannot be compared: one side is unknown)"
        found.append(f"{change.table} {where}: {change.summary}{doubt}")
    return found or ["no substantive difference"]


def describe(
    connection: sqlite3.Connection,
    policy_id: str,
    day: date,
    windows: list[dict[str, Any]],
    known_at: datetime | None = None,
    cache: Cache | None = None,
) -> list[dict[str, Any]]:
    """Fill each window's ``differences`` (cached by the pair of versions and knowledge time)."""
    for window in windows:
        key = (policy_id, window["version"], window["other_version"], known_at.isoformat() if known_at else None)
        if cache is None or key not in cache:
            found = differences(connection, policy_id, day, window, known_at)
            if cache is None:
                window["differences"] = found
                continue
            cache[key] = found
        window["differences"] = list(cache[key])
    return windows

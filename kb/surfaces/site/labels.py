"""The words a page shows for a canned query's columns and parameters, and its title.

Datasette shows a query's column names (``valid_from``, ``as_read``) and its SQL as the tab
title; the knowledge base's pages name the policy and the date instead and label each column
in the words of the policy and of a compliance officer. A column without a label here is shown
with its underscores as spaces.
"""

from __future__ import annotations

from collections.abc import Mapping

COLUMN_LABELS = {
    "version": "Version",
    "section": "Section",
    "indication": "Indication",
    "depth": "Depth",
    "criterion": "Criterion",
    "source": "Source",
    "lines": "Lines of the document",
    "item_id": "Item",
    "line_of_business": "Line of business",
    "condition": "Condition",
    "duration": "Duration as written",
    "months": "Months",
    "weeks": "Weeks",
    "days": "Days",
    "rule": "Rule",
    "cycle_cap": "Cycle cap",
    "reauthorization_permitted": "Re-authorization permitted",
    "revision": "Revision",
    "confidence": "Confidence",
    "first_line": "Line",
    "last_line": "Last line",
    "valid_from": "In force from",
    "valid_to": "In force until (exclusive)",
    "system": "Code system",
    "code": "Code",
    "description": "Description",
    "role": "Role",
    "policy": "Policy",
    "policy_id": "Policy",
    "label": "Version",
    "revision_date": "Revision date",
    "basis": "Basis",
    "as_read": "As it read",
    "diff_from_previous": "Diff from the previous version",
    "effective_date": "Effective date",
    "pending_from": "Rule-dependent from",
    "pending_to": "Rule-dependent until",
    "date": "Date",
    "event": "Event",
    "kind": "Kind",
    "item": "Item",
    "text": "Text",
    "before": "Text before",
    "note": "Note",
    "diff": "Diff",
    "title": "Title",
    "clauses": "Change clauses",
    "path": "Document",
    "reason": "Why it is doubted",
    "coverage": "Coverage",
    "leaves": "Leaf criteria",
    "factual": "Read as facts",
    "referral": "Referrals",
    "review": "Left to clinical review",
    "factual_pct": "Read as facts (%)",
    "read_pct": "Read (%)",
    "part": "Part",
}

PARAMETER_LABELS = {
    "policy": "Policy",
    "as_of": "In force on (date or version)",
    "known_at": "As known at (optional)",
    "from": "From (date or version)",
    "to": "To (date or version)",
}


def column_label(column: str) -> str:
    """The heading of ``column`` on a page."""
    return COLUMN_LABELS.get(column, column.replace("_", " "))


def parameter_label(name: str) -> str:
    """The label of a query parameter's field."""
    return PARAMETER_LABELS.get(name, name.replace("_", " "))


ASKED = {"as_of": "on {}", "from": "from {}", "to": "to {}", "known_at": "as known at {}"}
"""How a page title names each parameter's value (the policy is named as it is)."""


def page_title(title: str, values: Mapping[str, str]) -> str:
    """A canned query's title with the policy and dates it was asked about: "Criteria in force on a
    date: CP.PHAR.359 on 2025-12-01"."""
    asked = [ASKED.get(name, "{}").format(value) for name, value in values.items() if value]
    return f"{title}: {' '.join(asked)}" if asked else title

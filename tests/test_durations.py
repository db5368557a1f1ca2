"""Approval durations as the knowledge base stores them, one row per line of business and
length, read from duration lines written into a copy of the bundled policy.

Expected rows are what a reader of each line would say it grants (issue 30: the survivors of
loaders/durations.py that change an answer)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.surfaces.api import KnowledgeBase
from tests.conftest import BUNDLED

INITIAL_LINE = "HIM/Medicaid – 6 months (*up to 6 cycles total*)"


def _stored_durations(tmp_path: Path, line: str) -> list[dict]:
    """Load the bundled policy with its first HIM/Medicaid duration line replaced by ``line``
    (no change data: the document's own version) and return the stored initial durations."""
    text = BUNDLED.read_text(encoding="utf-8")
    assert text.count(INITIAL_LINE) == 2
    first = text.index(INITIAL_LINE)
    document = tmp_path / BUNDLED.name
    document.write_text(text[:first] + line + text[first + len(INITIAL_LINE) :], encoding="utf-8")
    (tmp_path / "changes").mkdir()
    with KnowledgeBase(tmp_path / "kb.sqlite", changes=tmp_path / "changes") as kb:
        kb.load([document])
        rows = kb.connection.execute(
            "SELECT line_of_business, months, weeks, days, condition, text FROM duration"
            " WHERE section = 'I' AND superseded_at IS NULL ORDER BY line_of_business, months"
        ).fetchall()
    return [dict(row) for row in rows]


def _months(rows: list[dict], line_of_business: str) -> list[int | None]:
    return [row["months"] for row in rows if row["line_of_business"] == line_of_business]


def test_a_length_for_one_state_leaves_the_other_lines_their_otherwise_length(tmp_path):
    # "HIM Texas – 6 months, otherwise 12 months": HIM members in Texas get 6 months, everyone
    # else (HIM elsewhere, and the Medicaid members this line also covers) gets 12.
    rows = _stored_durations(tmp_path, "HIM/Medicaid – HIM Texas – 6 months, otherwise 12 months")
    assert _months(rows, "Medicaid") == [12]
    assert sorted(_months(rows, "HIM")) == [6, 12]
    texas = next(row for row in rows if row["line_of_business"] == "HIM" and row["months"] == 6)
    assert "Texas" in texas["condition"]


def test_a_length_for_medicaid_members_is_medicaids_only(tmp_path):
    # "12 months; 6 months for Medicaid members": only Medicaid has a 6-month approval.
    rows = _stored_durations(tmp_path, "HIM/Medicaid – 12 months; 6 months for Medicaid members")
    assert 6 not in _months(rows, "HIM")
    assert 6 in _months(rows, "Medicaid")
    six = next(row for row in rows if row["line_of_business"] == "Medicaid" and row["months"] == 6)
    assert "Medicaid" in six["condition"]


@pytest.mark.parametrize(("line", "months"), [("HIM/Medicaid – 1 year", 12), ("HIM/Medicaid – 2 years", 24)])
def test_years_are_twelve_months_each(tmp_path, line, months):
    rows = _stored_durations(tmp_path, line)
    assert _months(rows, "HIM") == [months] and _months(rows, "Medicaid") == [months]


def test_weeks_and_days_are_kept_in_their_own_units(tmp_path):
    rows = _stored_durations(tmp_path, "HIM/Medicaid – 4 weeks")
    assert {(row["line_of_business"], row["weeks"], row["months"]) for row in rows if row["line_of_business"] != "Commercial"} == {
        ("HIM", 4, None),
        ("Medicaid", 4, None),
    }

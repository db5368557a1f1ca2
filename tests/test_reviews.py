"""The next scheduled review, inferred from the revision log's annual reviews (labels as printed)."""

from __future__ import annotations

from datetime import date

from kb.history.reviews import next_review, quarter_bounds

TODAY = date(2026, 11, 28)


def test_the_same_quarter_a_year_after_the_latest_annual_review():
    # CP.PHAR.359's log: 4Q 2021 ... 4Q 2025 annual reviews and an RT4 revision between them
    labels = [
        "4Q 2021 annual review",
        "4Q 2022 annual review",
        "4Q 2023 annual review",
        "RT4",
        "4Q 2024 annual review",
        "4Q 2025 annual review",
    ]
    found = next_review(labels, TODAY)
    assert found.quarter == "4Q 2026" and not found.passed
    assert found.basis == "the log's annual reviews stand in 4Q of each year from 2021 to 2025"


def test_a_moved_quarter_counts_from_the_move():
    # CP.PMN.219's log: 1Q 2022, 1Q 2023, then 3Q 2023, 3Q 2024, 3Q 2025
    labels = [
        "1Q 2022 annual review",
        "1Q 2023 annual review",
        "3Q 2023 annual review",
        "3Q 2024 annual review",
        "3Q 2025 annual review",
    ]
    found = next_review(labels, TODAY)
    assert found.quarter == "3Q 2026"
    assert found.basis.startswith("the log's annual reviews stand in 3Q of each year from 2023 to 2025")
    assert found.passed and "that quarter has passed" in found.basis  # 3Q 2026 ended on 2026-09-30


def test_one_annual_review_still_gives_a_year_later():
    # CP.PHAR.613's log has one: "1Q 2024 annual review: no significant changes ..."
    found = next_review(["Policy created", "2023-05-23", "1Q 2024 annual review"], date(2024, 6, 1))
    assert found.quarter == "1Q 2025" and not found.passed
    assert found.basis == "one year after the latest annual review, 1Q 2024 (the first in 1Q)"


def test_no_annual_review_is_unknown():
    found = next_review(["Policy created", "RT4", "2022-10-03"], TODAY)
    assert (
        not found.known
        and found.quarter is None
        and found.basis.startswith("unknown: the revision log has no annual-review row")
    )


def test_quarter_bounds():
    assert quarter_bounds(2026, 4) == (date(2026, 10, 1), date(2026, 12, 31))
    assert quarter_bounds(2024, 1) == (date(2024, 1, 1), date(2024, 3, 31))

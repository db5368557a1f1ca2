"""When a policy is next reviewed, as far as its revision log implies it.

Centene logs its yearly reviews as "4Q 2025 annual review": the quarter of the P&T meeting
and its year. The next review is inferred as the same quarter one year after the latest
annual review; the basis says how many annual reviews in a row stand in that quarter. A log
without such rows gives no rhythm: the next review is unknown, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

ANNUAL_REVIEW = re.compile(r"^\s*([1-4])Q\s*(\d{4})\s+annual\s+review\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class NextReview:
    """The quarter of the next scheduled review ("4Q 2026"), or None when the log implies none."""

    quarter: str | None
    basis: str
    passed: bool = False

    @property
    def known(self) -> bool:
        return self.quarter is not None


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    """The first and the last day of a calendar quarter (1..4)."""
    after = date(year + 1, 1, 1) if quarter == 4 else date(year, quarter * 3 + 1, 1)
    return date(year, quarter * 3 - 2, 1), after - timedelta(days=1)


def next_review(labels: Iterable[str], today: date) -> NextReview:
    """The next annual review implied by the revision-log row labels of one policy."""
    reviews = sorted({(int(m.group(2)), int(m.group(1))) for label in labels if (m := ANNUAL_REVIEW.match(label))})
    if not reviews:
        return NextReview(None, "unknown: the revision log has no annual-review row (such as '4Q 2025 annual review')")
    year, quarter = reviews[-1]
    run = 1
    while (year - run, quarter) in reviews:
        run += 1
    basis = (
        f"the log's annual reviews stand in {quarter}Q of each year from {year - run + 1} to {year}"
        if run > 1
        else f"one year after the latest annual review, {quarter}Q {year} (the first in {quarter}Q)"
    )
    passed = quarter_bounds(year + 1, quarter)[1] < today
    if passed:
        basis += "; that quarter has passed: a document newer than the one loaded may exist"
    return NextReview(f"{quarter}Q {year + 1}", basis, passed)

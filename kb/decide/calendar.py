"""Calendar arithmetic the evaluator needs: whole months forward (approval end dates) and back
(laboratory values "within the past 3 months")."""

from __future__ import annotations

import calendar
from datetime import date


def add_months(start: date, months: int) -> tuple[date, str | None]:
    """``start`` plus whole months; where the day does not exist, the month's last day and a note.
    A month outside the calendar (before year 1, after 9999) is an ``OverflowError``, as in ``datetime``."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    if not date.min.year <= year <= date.max.year:
        raise OverflowError(f"{start.isoformat()} + {months} months is outside the calendar (years 1 to 9999)")
    last = calendar.monthrange(year, month)[1]
    if start.day <= last:
        return date(year, month, start.day), None
    return date(year, month, last), (
        f"{start.isoformat()} + {months} months is ambiguous: {year}-{month:02d} has no day {start.day}; "
        f"{date(year, month, last).isoformat()} (the month's last day) is given, the next day is another reading"
    )


def months_before(day: date, months: int) -> date:
    """The same day ``months`` earlier (the month's last day where it does not exist); the
    calendar's first day when that is earlier still (every recorded date is after it)."""
    try:
        return add_months(day, -months)[0]
    except OverflowError:
        return date.min

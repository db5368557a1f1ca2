"""Dates as types: the policy formats (MM.DD.YY, MM.YY) and ISO text at the edges.

Inside the project every date is a ``datetime.date`` and every P&T month a ``Month``;
text only appears where data enters or leaves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from kb.errors import DateFormatError

_MDY = re.compile(r"^\s*(\d{1,2})\s*\.\s*(\d{1,2})\s*\.\s*(\d{2}|\d{4})\s*$")
_MY = re.compile(r"^\s*(\d{1,2})\s*\.\s*(\d{2}|\d{4})\s*$")
_LONG = re.compile(r"^\s*([A-Z][a-z]+)\.?\s+(\d{1,2}),\s*(\d{4})\s*$")
_MONTHS = {
    name: number
    for number, name in enumerate(
        [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ],
        start=1,
    )
}


def _year(text: str) -> int:
    """Two-digit years are 20YY: the template dates from 2010 onwards."""
    value = int(text)
    return value if value >= 100 else 2000 + value


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month, such as the P&T approval month "11.25"."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month must be 1..12, got {self.month}")

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def isoformat(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @classmethod
    def fromisoformat(cls, text: str) -> Month:
        year, month = text.split("-")
        return cls(int(year), int(month))

    def __str__(self) -> str:
        return self.isoformat()


def parse_policy_date(text: str) -> date:
    """Parse the template's MM.DD.YY (also MM.DD.YYYY, and "08. 12. 24" from flattened text)."""
    match = _MDY.match(text)
    if not match:
        raise DateFormatError(text, "a date as MM.DD.YY, e.g. 09.26.17")
    month, day, year = match.groups()
    try:
        return date(_year(year), int(month), int(day))
    except ValueError as error:
        raise DateFormatError(text, f"a real calendar date as MM.DD.YY ({error})") from None


def parse_policy_month(text: str) -> Month:
    """Parse the template's MM.YY (Last Review Date, P&T Approval Date)."""
    match = _MY.match(text)
    if not match:
        raise DateFormatError(text, "a month as MM.YY, e.g. 11.25")
    month, year = match.groups()
    try:
        return Month(_year(year), int(month))
    except ValueError:
        raise DateFormatError(text, "a month as MM.YY with MM in 01..12, e.g. 11.25") from None


def parse_long_date(text: str) -> date:
    """Parse "July 15, 2025" (reference accessed dates)."""
    match = _LONG.match(text)
    if not match or match.group(1) not in _MONTHS:
        raise DateFormatError(text, "a date such as July 15, 2025")
    name, day, year = match.groups()
    try:
        return date(int(year), _MONTHS[name], int(day))
    except ValueError as error:
        raise DateFormatError(text, f"a real calendar date ({error})") from None


def to_date(value: date | datetime | str) -> date:
    """The one factory from any date-like input (date, datetime, ISO text) to a ``date``."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise DateFormatError(str(value), "an ISO date YYYY-MM-DD, e.g. 2024-08-01") from None


def to_timestamp(value: datetime | str) -> datetime:
    """An aware UTC timestamp from a datetime or ISO text (a bare date means its midnight UTC)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise DateFormatError(value, "an ISO timestamp, e.g. 2026-11-27T12:00:00") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)

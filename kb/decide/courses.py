"""Course totals: an approval capped over the whole course counts what was already received.

"Up to 7 days of total treatment" caps the course, not the approval: the days the member has
received (``days_on_therapy``) count against it, and the approval covers what remains.
"Duration of request or up to 7 days ..., whichever is less" takes the course the request asks
for (``course_days_requested``) where it is shorter. Either fact unknown pends, naming it; no
day left denies. The end date is the date of service plus the days approved. The traced
decision (``kb.decide.outcomes.course_days``) and the compiled rules (``kb.decide.compiled``) both use
``course_of`` and ``verdict``. (Cycle caps, "up to 6 cycles total", are counted beside.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

TOTAL = re.compile(r"\bup to (?P<days>\d+) days of total (?:treatment|therapy)\b")
OF_REQUEST = re.compile(r"^duration of request\b.*\bwhichever is less$")


@dataclass(frozen=True)
class Course:
    """A course total in days; ``of_request``: the request's own length caps it too."""

    days: int
    of_request: bool

    def needs(self, values: dict[str, Any]) -> list[str]:
        names = ["days_on_therapy", *(["course_days_requested"] if self.of_request else [])]
        return [name for name in names if values.get(name) is None]

    def approved(self, values: dict[str, Any]) -> int:
        """Days approved (0 or less: none left)."""
        remaining = self.days - values["days_on_therapy"]
        return min(values["course_days_requested"], remaining) if self.of_request else remaining


def course_of(duration_text: str | None) -> Course | None:
    """The course total an approval duration's text states, if it states one."""
    text = (duration_text or "").casefold()
    total = TOTAL.search(text)
    return Course(int(total["days"]), bool(OF_REQUEST.match(text))) if total else None


def verdict(course: Course, values: dict[str, Any]) -> str:
    """approve, pend (a fact needed) or deny (no day left) under the course total."""
    if course.needs(values):
        return "pend"
    return "approve" if course.approved(values) > 0 else "deny"

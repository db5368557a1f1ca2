"""Reading the logic words of an item as written: "must meet all", "one of the following (a or b)"."""

from __future__ import annotations

import re

from kb.model import Logic

_PHRASES: tuple[tuple[re.Pattern[str], Logic], ...] = (
    (re.compile(r"must meet all(?: of the following)?", re.I), Logic.ALL),
    (re.compile(r"must meet (?:\d+|[a-z]) or (?:\d+|[a-z])(?: or (?:\d+|[a-z]))*", re.I), Logic.ANY),
    (re.compile(r"must meet (?:one|1|at least one) of the following", re.I), Logic.ANY),
    (re.compile(r"(?:at least )?one of the following(?: \w+)?(?: \([^)]*\))?", re.I), Logic.ANY),
    (re.compile(r"any of the following(?: \([^)]*\))?", re.I), Logic.ANY),
    (re.compile(r"(?:both|all) of the following(?: \([^)]*\))?", re.I), Logic.ALL),
)


def logic_of(text: str) -> tuple[Logic | None, str | None]:
    """The logic an item's words give its children, and those words; (None, None) for a leaf."""
    for pattern, logic in _PHRASES:
        match = pattern.search(text)
        if match:
            return logic, match.group(0).strip()
    return None, None


def footnote_marker(text: str) -> tuple[str | None, str]:
    """Split a trailing footnote marker ("...(a or b):*") off an item's text."""
    match = re.search(r"(?<=[:;.)])\s*(\*+|†)$", text)
    if not match:
        return None, text
    return match.group(1)[0], text[: match.start()].rstrip()

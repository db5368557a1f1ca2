"""The revision log as dated revisions: kind, Date, P&T month, effective date and change clauses."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta

from kb.dates import Month
from kb.model import RevisionRow

EffectiveDateRule = Callable[[RevisionRow], date]


def first_of_pt_month(row: RevisionRow) -> date:
    """Default: the first day of the P&T approval month; a row without one, its own Date."""
    return row.pt_month.first_day if row.pt_month else row.date


def revision_date(row: RevisionRow) -> date:
    """Alternative: a revision takes effect on the Date it was written."""
    return row.date


RULES: dict[str, EffectiveDateRule] = {"pt-month-start": first_of_pt_month, "revision-date": revision_date}
DEFAULT_RULE = "pt-month-start"

_CATEGORIES = (
    ("references", re.compile(r"references? (?:were )?reviewed(?: and updated)?", re.I)),
    ("coding", re.compile(r"HCPCS|code", re.I)),
    ("duration", re.compile(r"approval duration", re.I)),
    ("cross_reference", re.compile(r"references? to [A-Z]{2,4}\.|policy reference", re.I)),
    ("template", re.compile(r"template", re.I)),
    ("dosing", re.compile(r"dosing|dose", re.I)),
    ("criteria", re.compile(r"criteri|requirement|pathway|age|indicat|expansion|corrected|therapy", re.I)),
)


@dataclass(frozen=True)
class Clause:
    ordinal: int
    text: str
    category: str


@dataclass(frozen=True)
class Revision:
    ordinal: int
    label: str
    kind: str
    description: str
    date: date
    pt_month: Month | None
    effective_date: date
    rule: str
    clauses: tuple[Clause, ...]
    kept_from: str | None = None
    """For a row the newest document's log no longer prints: the SHA-256 of the older document
    it is kept from (a newer document adds to the history, it never erases it)."""

    @property
    def key(self) -> str:
        return self.date.isoformat()

    @property
    def clause_texts(self) -> dict[int, str]:
        """Clause text by its number, as change data cites it."""
        return {clause.ordinal: clause.text for clause in self.clauses}

    def effective_under(self, rule: str) -> date:
        """When the revision took effect under the named rule (whatever rule the timeline used)."""
        return RULES[rule](RevisionRow(self.ordinal, self.description, self.date, self.pt_month))

    def pending_window(self) -> tuple[date, date] | None:
        """The days on which the effective-date rules disagree whether the revision is in effect
        (from the earliest to the day before the latest of its effective dates), whatever rule
        the timeline used."""
        dates = sorted({self.effective_under(rule) for rule in RULES})
        if len(dates) < 2:
            return None
        return dates[0], dates[-1] - timedelta(days=1)


def split_clauses(description: str) -> list[str]:
    """The change clauses of a description: split at ';' and sentence ends, not inside quotes."""
    body = description.split(":", 1)[1] if re.match(r"^[^:]{1,40}:", description) else description
    clauses: list[str] = []
    current: list[str] = []
    depth = 0
    for index, char in enumerate(body):
        depth += {"“": 1, "”": -1}.get(char, 0)
        ends_sentence = char == "." and re.match(r"\s+[A-Z]", body[index + 1 : index + 4]) is not None
        quoted_end = char == "”" and "".join(current).rstrip().endswith(";")
        if quoted_end:  # “... longer;” ends its clause inside the quote
            current.append(char)
        if depth <= 0 and (char == ";" or ends_sentence or quoted_end):
            clauses.append("".join(current))
            current = []
        else:
            current.append(char)
    clauses.append("".join(current))
    whole = [c.strip().rstrip(".").strip() for c in clauses if c.strip().rstrip(".").strip()]
    return [part for clause in whole for part in _split_joined(clause)]


_REVIEWED = r"(?:references?\s+(?:were\s+)?reviewed|template\s+changes?)\b"
_ACTION = (
    r"(?:added|adds|removed|revised|updated|corrected|clarified|modified|changed|replaced|deleted|expanded"
    r"|extended|retired|converted|reformatted)\b"
)
_VERB = rf"(?:{_REVIEWED}|{_ACTION})"
# a bare trailing verb ("references reviewed and updated") does not start a clause of its own
_JOINT = re.compile(rf"(?:,\s*(?:and\s+)?|\s+and\s+)(?={_REVIEWED}|{_ACTION}\s+\w)", re.IGNORECASE)


def _split_joined(clause: str) -> list[str]:
    """A clause joining others with commas or "and" ("updated criteria, references reviewed";
    "added a pathway and revised a requirement"), split where each part starts with a change
    verb; a lead-in ("for Ph-negative disease, updated age to ...") or a quote stays whole."""
    if not re.match(_VERB, clause, re.IGNORECASE):
        return [clause]
    parts, start = [], 0
    for match in _JOINT.finditer(clause):
        before = clause[: match.start()]
        if before.count("“") > before.count("”") or before.count('"') % 2:
            continue
        parts.append(clause[start : match.start()])
        start = match.end()
    parts.append(clause[start:])
    return [part.strip() for part in parts if part.strip()]


def classify(clause: str) -> str:
    return next((name for name, pattern in _CATEGORIES if pattern.search(clause)), "other")


def revision_kind(description: str) -> tuple[str, str]:
    """("annual review", "4Q 2025 annual review") or ("ad hoc", "RT4") from the description's lead."""
    lead = description.split(":", 1)[0].strip() if ":" in description[:60] else ""
    if re.search(r"annual review", lead, re.I):
        return "annual review", lead
    if re.fullmatch(r"RT\d+", lead):
        return "ad hoc", lead
    return ("other", lead) if lead else ("other", "")


def merged_log(logs: list[tuple[str, tuple[RevisionRow, ...]]]) -> tuple[list[RevisionRow], dict[date, str]]:
    """The rows of successive documents' logs (``(sha256, rows)``, oldest document first): every
    row of the newest, and each row of an older one whose Date no newer document prints (payers
    trim old rows); with the document each such row is kept from, by Date. Rows are numbered
    again in order of Date."""
    rows: list[RevisionRow] = []
    kept: dict[date, str] = {}
    printed: set[date] = set()
    for index, (sha256, log) in enumerate(reversed(logs)):
        dates = {row.date for row in log}
        for row in log:
            if row.date not in printed:
                rows.append(row)
                if index:
                    kept[row.date] = sha256
        printed |= dates
    ordered = sorted(rows, key=lambda r: (r.date, r.ordinal))
    return [replace(row, ordinal=n) for n, row in enumerate(ordered, start=1)], kept


def revisions_from_log(rows: tuple[RevisionRow, ...] | list[RevisionRow], rule: str = DEFAULT_RULE) -> list[Revision]:
    """Dated revisions in order of Date, under the named effective-date rule."""
    if rule not in RULES:
        raise ValueError(f"unknown effective-date rule {rule!r}; expected one of {', '.join(RULES)}")
    revisions = []
    for row in sorted(rows, key=lambda r: (r.date, r.ordinal)):
        kind, label = revision_kind(row.description)
        clauses = tuple(Clause(n, text, classify(text)) for n, text in enumerate(split_clauses(row.description), 1))
        revisions.append(
            Revision(
                row.ordinal,
                label or row.date.isoformat(),
                kind,
                row.description,
                row.date,
                row.pt_month,
                RULES[rule](row),
                rule,
                clauses,
            )
        )
    return revisions

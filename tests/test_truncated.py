"""Documents cut off at the end: never loaded as whole.

Copies of the bundled policy, the corpus files and the unseen documents are cut in the test at
many points. Every cut is either refused with an error naming the file, a line and what was
expected, or loaded with a suspect passage (kind ``truncated``) naming the problem.

The rules (loaders/revision_log.py, ``parse_revision_log`` and ``check_complete``): every policy
of the template ends with the Important Reminder's copyright notice ("... exclusively owned by
Centene Corporation."). A document that stops before it

- is refused when its last revision-log row has no Date cell (or a Date cut short): the row
  was cut;
- is refused when the header's Last Review Date is newer than every log row (the month of
  each row's P&T approval or Date): the newest rows were cut;
- is refused, as before, when a part the template requires is missing (the error says where
  the text stops);
- otherwise loads, its last line flagged suspect: only the reminder's boilerplate is lost, or
  the log still reaches the Last Review Date.

A whole document whose Last Review Date is newer than every log row loads with that header
line flagged suspect: the header and the log disagree, but nothing shows a cut.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.errors import SourceError
from kb.model import PolicyDocument
from loaders.centene import load_text
from tests.conftest import BUNDLED, CORPUS, FIXTURES

DOCUMENTS = [
    BUNDLED,
    *sorted((CORPUS / "centene").glob("*.txt")),
    *sorted((FIXTURES / "unseen").glob("*.txt")),
]


def _cuts(text: str) -> list[int]:
    """Points to cut at: through the body, densely through the revision log, and in the reminder."""
    log = text.index("Reviews, Revisions")
    reminder = text.index("Important Reminder", log)
    body = [len(text) * k // 12 for k in range(2, 12)]
    in_log = [log + (reminder - log) * k // 25 for k in range(1, 25)]
    in_reminder = [reminder + (len(text) - reminder) * k // 5 for k in range(1, 5)] + [len(text) - 2]
    return sorted(set(body + in_log + [reminder] + in_reminder))


def _truncated(document: PolicyDocument) -> list[str]:
    return [block.reason for block in document.suspects if block.kind == "truncated"]


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name.split("_")[0])
def test_a_document_cut_anywhere_is_refused_or_flagged(path: Path):
    text = path.read_text(encoding="utf-8").rstrip()
    outcomes = {"refused": 0, "flagged": 0}
    for at in _cuts(text):
        try:
            document = load_text(path.name, text[:at])
        except SourceError as error:
            outcomes["refused"] += 1
            assert error.source == path.name
            assert "cut off" in error.expected, f"cut at {at}: {error}"
            assert error.line is not None or "the text stops at line" in error.expected, f"cut at {at}: {error}"
            continue
        outcomes["flagged"] += 1
        assert _truncated(document), f"cut at {at} ({text[at - 60 : at]!r}) loaded as whole"
    assert outcomes["refused"] and outcomes["flagged"]


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name.split("_")[0])
def test_a_whole_document_is_not_flagged_as_cut(path: Path):
    assert not _truncated(load_text(path.name, path.read_text(encoding="utf-8")))


def _bundled_lines() -> list[str]:
    return BUNDLED.read_text(encoding="utf-8").splitlines()


def _last_log_row(lines: list[str]) -> int:
    reminder = lines.index("Important Reminder")
    return max(n for n, line in enumerate(lines[:reminder]) if line.count("\t") == 2)


def test_a_log_row_cut_before_its_date_is_refused_with_its_line():
    lines = _bundled_lines()
    row = _last_log_row(lines)
    description = lines[row].split("\t")[0]
    for cut in (description[:40], description + "\t"):
        with pytest.raises(SourceError) as caught:
            load_text("cut.txt", "\n".join([*lines[:row], cut]))
        assert caught.value.line == row + 1
        assert "Date cell" in caught.value.expected and "cut off" in caught.value.expected


def test_a_flattened_log_row_cut_before_its_date_is_refused():
    path = FIXTURES / "unseen" / "CP.PHAR.370_emicizumab-kxwh.txt"
    text = path.read_text(encoding="utf-8")
    reminder = text.rindex("Important Reminder")
    last_date = text.rindex("11. 18. 24", 0, reminder)
    with pytest.raises(SourceError) as caught:
        load_text(path.name, text[:last_date])
    assert "Date cell" in caught.value.expected and "cut off" in caught.value.expected
    assert caught.value.line is not None


def test_newest_log_rows_cut_with_the_reminder_are_refused():
    lines = _bundled_lines()
    row = _last_log_row(lines)
    with pytest.raises(SourceError) as caught:
        load_text("cut.txt", "\n".join(lines[:row]))
    assert "Last Review Date" in caught.value.expected and "rows are missing" in caught.value.expected
    assert caught.value.found == "Last Review Date 2025-11, newest revision-log row 2024-11"
    assert caught.value.line == row  # the last row that is left


def test_a_whole_document_whose_log_stops_short_of_its_last_review_is_suspect():
    lines = _bundled_lines()
    row = _last_log_row(lines)
    document = load_text("short-log.txt", "\n".join(lines[:row] + lines[row + 1 :]))
    (reason,) = _truncated(document)
    assert "Last Review Date 2025-11 is newer than every revision-log row (2024-11)" in reason


def test_a_document_cut_in_its_reminder_loads_with_its_end_flagged():
    lines = _bundled_lines()
    document = load_text("cut.txt", "\n".join(lines[: lines.index("Important Reminder") + 2]))
    (reason,) = _truncated(document)
    assert "stops before the template's closing words" in reason
    assert len(document.revision_log) == 6

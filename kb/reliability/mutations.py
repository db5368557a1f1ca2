"""Mutations of real documents and requests, and what a load or an evaluation of each must do.

A mutation takes the text and integer choices (where to cut, which line, which character), so
the same operators serve a seeded random run (``kb reliability``) and hypothesis strategies
(the tests). ``try_document`` loads a mutated document into a copy of a knowledge base and
says what happened: refused with a message naming the file, or loaded with a report that tells
the truth about what it stored; a refused load must leave the file byte for byte as it was.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kb.errors import ChangeDataError, KBError
from kb.store.schema import KNOWN_TABLES, RECORD_TABLES
from kb.store.write import LoadReport
from kb.surfaces.api import KnowledgeBase
from loaders.source import CONTROL

INJECTED = ("\x00", "\x07", "\x1b[31m", "\ufeff", "\u202e", "\r", "\t", "<script>alert(1)</script>", "💊", "≥", "\\")
DATE = re.compile(r"\b\d{2}\.\d{2}(?:\.\d{2})?\b|\b\d{4}-\d{2}-\d{2}\b")
NUMBER = re.compile(r"\d+(?:\.\d+)?")
REPLACEMENT_NUMBERS = ("0", "-1", "500", "1e309", "NaN", "99999999999999999999", "1.5")
STAMP = datetime(2100, 1, 1, tzinfo=UTC)
"""When a mutated document is loaded: after every stamp of the knowledge base it is loaded into."""
REPLACEMENT_DATES = ("13.45.24", "02.30.25", "00.00.00", "12.31.99", "01.01.00", "2025-02-30", "9999-12-31")


def cut(text: str, a: int, b: int) -> str:
    """The text cut after a point (a document cut in half, a truncated file)."""
    return text[: a % (len(text) + 1)]


def drop_lines(text: str, a: int, b: int) -> str:
    lines = text.split("\n")
    start = a % len(lines)
    return "\n".join(lines[:start] + lines[start + 1 + b % 8 :])


def duplicate_line(text: str, a: int, b: int) -> str:
    lines = text.split("\n")
    i = a % len(lines)
    return "\n".join(lines[: i + 1] + [lines[i]] * (1 + b % 3) + lines[i + 1 :])


def swap_lines(text: str, a: int, b: int) -> str:
    lines = text.split("\n")
    i, j = a % len(lines), b % len(lines)
    lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


def inject(text: str, a: int, b: int) -> str:
    at = a % (len(text) + 1)
    return text[:at] + INJECTED[b % len(INJECTED)] + text[at:]


def _replace_match(text: str, pattern: re.Pattern[str], a: int, value: str) -> str:
    matches = list(pattern.finditer(text))
    if not matches:
        return text
    match = matches[a % len(matches)]
    return text[: match.start()] + value + text[match.end() :]


def change_date(text: str, a: int, b: int) -> str:
    return _replace_match(text, DATE, a, REPLACEMENT_DATES[b % len(REPLACEMENT_DATES)])


def change_number(text: str, a: int, b: int) -> str:
    return _replace_match(text, NUMBER, a, REPLACEMENT_NUMBERS[b % len(REPLACEMENT_NUMBERS)])


MUTATIONS: dict[str, Callable[[str, int, int], str]] = {
    "cut": cut,
    "drop lines": drop_lines,
    "duplicate a line": duplicate_line,
    "swap two lines": swap_lines,
    "inject a character": inject,
    "change a date": change_date,
    "change a number": change_number,
}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


@dataclass(frozen=True)
class Verdict:
    """What one mutated input did: "refused", "loaded" (or "decided"), "traceback" or "stored wrongly"."""

    outcome: str
    detail: str = ""


def try_document(base: Path, folder: Path, text: str) -> Verdict:
    """Load ``text`` as a file into a copy of the knowledge base ``base`` and judge the outcome."""
    database, document = folder / "kb.sqlite", folder / "mutant.txt"
    shutil.copy(base, database)
    document.write_bytes(text.encode("utf-8"))
    before = digest(database)
    with KnowledgeBase(database) as kb:
        try:
            reports = kb.load([document], now=STAMP, workers=1)
        except KBError as error:
            if digest(database) != before:
                return Verdict("stored wrongly", f"refused ({error}) but the knowledge base changed")
            if str(document) not in str(error) and not isinstance(error, ChangeDataError):
                return Verdict("stored wrongly", f"refused without naming the file: {error}")
            return Verdict("refused", str(error))
        except Exception as error:  # noqa: BLE001 (what is judged here is that nothing else escapes)
            return Verdict("traceback", f"{type(error).__name__}: {error}")
    problem = _dishonest_load(database, text, reports)
    return Verdict("stored wrongly", problem) if problem else Verdict("loaded")


def _dishonest_load(database: Path, text: str, reports: list[LoadReport]) -> str:
    """What is wrong with a load that was accepted ("" when it is sound and its report is true)."""
    if CONTROL.search(text):
        return "a document with control characters was loaded without --allow-control-characters"
    connection = sqlite3.connect(database)
    try:
        if connection.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            return "the knowledge base fails its integrity check"
        stored = connection.execute(
            "SELECT text FROM source_document WHERE sha256 = ?", (hashlib.sha256(text.encode()).hexdigest(),)
        ).fetchone()
        if stored is None or stored[0].replace("\r\n", "\n") != text.replace("\r\n", "\n"):
            return "the document was not stored as read"
        for report in reports:
            versions = connection.execute(
                "SELECT COUNT(*) FROM version WHERE policy_id = ? AND superseded_at IS NULL", (report.policy_id,)
            ).fetchone()[0]
            if versions < 1:
                return f"{report.policy_id} loaded with no version"
        stamp = STAMP.isoformat()
        added = superseded = 0
        for table in (*RECORD_TABLES, *KNOWN_TABLES):
            added += connection.execute(f"SELECT COUNT(*) FROM {table} WHERE recorded_at = ?", (stamp,)).fetchone()[0]
            superseded += connection.execute(
                f"SELECT COUNT(*) FROM {table} WHERE superseded_at = ?", (stamp,)
            ).fetchone()[0]
    finally:
        connection.close()
    said = (sum(r.rows_added for r in reports), sum(r.rows_superseded for r in reports))
    if said != (added, superseded):
        return f"the report says {said[0]} rows added, {said[1]} superseded; the knowledge base holds {added}, {superseded}"
    return ""


def mutate_request(request: dict[str, object], a: int, b: int) -> str:
    """A request file's text, mutated: a line cut, dropped, doubled or swapped, a character or a value changed."""
    text = json.dumps(request, indent=2, ensure_ascii=False)
    name = list(MUTATIONS)[(a + b) % len(MUTATIONS)]
    return MUTATIONS[name](text, a, b)

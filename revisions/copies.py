"""Older copies of a policy as source documents: what each shows, line by line, and where it stops.

A copy is kept beside the change data (``<policy>/copies/<source>.toml``): the version it
shows (the revision that led to it), where it was found, its confidence, and its lines, each
tied to the record it shows (``kind``/``key``; none for a line that shows no record). A line
marked ``cut`` is where the copy stops: it shows the beginning of its record and no value.
The text is the lines joined; its SHA-256 identifies the copy as a document's does.

Every line that shows a record is a witness of the copy's version (a reconstruction that
contradicts it is refused at load); a quote the change data makes of a copy (``[[copy]]``)
must be found in the copy's text.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from kb.errors import ChangeDataError
from kb.model import CONFIDENCE, RECORD_KINDS

_KINDS = {kind.KIND for kind in RECORD_KINDS}
_FILE_KEYS = {"source", "policy", "revision", "found", "shows", "confidence", "line"}
_LINE_KEYS = {"kind", "key", "text", "cut", "reading"}


@dataclass(frozen=True)
class CopyLine:
    """One line of a copy: its text, the record it shows (``kind``/``key``, empty for none),
    whether the copy stops inside it (``cut``), and for a cut line the one reading another
    source gives of the rest (``reading``: a single witness, so never more than low)."""

    text: str
    kind: str
    key: str
    cut: bool
    line: int
    reading: str = ""


@dataclass(frozen=True)
class CopyDocument:
    """An older copy of a policy: the version it shows (by its revision) and its lines."""

    path: str
    source: str
    policy: str
    revision: date
    found: str
    shows: str
    confidence: str
    lines: tuple[CopyLine, ...]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def line_of(self, kind: str, key: str) -> CopyLine | None:
        """The line that shows the record ``kind``/``key``, if the copy has one."""
        return next((line for line in self.lines if (line.kind, line.key) == (kind, key)), None)

    def quotes(self, words: str) -> bool:
        """Does the copy's text read ``words`` (spacing and case aside)?"""
        return squeeze(words) in squeeze(self.text)

    def out_of_order(self, places: dict[str, tuple[str | None, float]]) -> CopyLine | None:
        """The first criterion line printed after a sibling that follows it in a version
        (``places``: each item's parent and position there); None if the copy's order holds."""
        last: dict[str | None, float] = {}
        for line in self.lines:
            if line.kind != "criterion" or line.key not in places:
                continue
            parent, position = places[line.key]
            if position < last.get(parent, float("-inf")):
                return line
            last[parent] = position
        return None


def squeeze(text: str) -> str:
    """Text as compared for quoting: runs of space as one, case folded."""
    return re.sub(r"\s+", " ", text).strip().casefold()


def _lines_of(text: str, table: str) -> list[int]:
    return [n for n, line in enumerate(text.splitlines(), start=1) if line.strip() == f"[[{table}]]"]


def parse_copy(path: str, text: str) -> CopyDocument:
    """Read one copy file strictly: unknown keys and bad values name their line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ChangeDataError(path, None, "valid TOML", found=str(error)) from None
    if extra := set(data) - _FILE_KEYS:
        raise ChangeDataError(path, None, f"copy keys among {sorted(_FILE_KEYS)}", ", ".join(sorted(extra)))
    for key in ("source", "policy", "revision", "found", "shows"):
        if key not in data:
            raise ChangeDataError(path, None, f"a top-level '{key}' key")
    if not isinstance(data["revision"], date):
        raise ChangeDataError(path, None, "revision as a TOML date, e.g. 2023-08-06", str(data["revision"]))
    if data.get("confidence", "medium") not in CONFIDENCE:
        raise ChangeDataError(path, None, f"confidence one of {CONFIDENCE}", str(data.get("confidence")))
    numbers = _lines_of(text, "line")
    lines = tuple(_line(path, raw, numbers[i] if i < len(numbers) else 0) for i, raw in enumerate(data.get("line", [])))
    return CopyDocument(
        path,
        data["source"],
        data["policy"],
        data["revision"],
        data["found"],
        data["shows"],
        data.get("confidence", "medium"),
        lines,
    )


def _line(path: str, raw: dict[str, Any], number: int) -> CopyLine:
    if extra := set(raw) - _LINE_KEYS:
        raise ChangeDataError(path, number, f"line keys among {sorted(_LINE_KEYS)}", ", ".join(sorted(extra)))
    if not isinstance(raw.get("text"), str) or not raw["text"].strip():
        raise ChangeDataError(path, number, "a line with the 'text' the copy shows")
    kind, key = raw.get("kind", ""), raw.get("key", "")
    if (kind or key) and (kind not in _KINDS or not key):
        raise ChangeDataError(path, number, f"a record kind among {sorted(_KINDS)} and its key, or neither", kind)
    if raw.get("reading") and not raw.get("cut"):
        raise ChangeDataError(path, number, "a 'reading' only on a line the copy is cut off in ('cut = true')")
    return CopyLine(raw["text"], kind, key, bool(raw.get("cut", False)), number, str(raw.get("reading", "")))


def load_copies(folder: Path) -> list[CopyDocument]:
    """Every copy file of a policy's change-data folder (``copies/*.toml``)."""
    return [
        parse_copy(str(path), path.read_text(encoding="utf-8")) for path in sorted((folder / "copies").glob("*.toml"))
    ]

"""Reading a policy file into numbered, normalised lines (pure: no database).

Normalisation keeps each line's original text beside the cleaned one: LaTeX-like
``\\geq`` becomes ``≥``, inline ``$...$`` math loses its dollars, ``m ²`` becomes ``m²``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from kb.errors import SourceError
from loaders.flattened import is_flattened, unflatten

_LATEX = {r"\geq": "≥", r"\leq": "≤", r"\ge": "≥", r"\le": "≤", r"\times": "×", r"\pm": "±"}
_LATEX_RE = re.compile("|".join(re.escape(k) for k in sorted(_LATEX, key=len, reverse=True)) + r"(?![A-Za-z])")
_MATH_RE = re.compile(r"\$([^$\n]+)\$")
_SPACED_SUPERSCRIPT = re.compile(r"(\w) ([²³])")


@dataclass(frozen=True)
class Line:
    number: int
    raw: str
    text: str

    @property
    def blank(self) -> bool:
        return not self.text.strip()


def normalise(text: str) -> str:
    """The cleaned form of a piece of source text (one line or a cell)."""
    text = _MATH_RE.sub(lambda m: m.group(1), text)
    text = _LATEX_RE.sub(lambda m: _LATEX[m.group(0)], text)
    text = text.replace("\u00a0", " ")
    text = _SPACED_SUPERSCRIPT.sub(r"\1\2", text)
    return re.sub(r" {2,}", " ", text).rstrip()


@dataclass(frozen=True)
class SourceText:
    """A file as read: its own text and hash, and the numbered lines the parser reads.

    For the flattened text form (``loaders.flattened``) the lines are those of the reading
    ``unflatten`` makes; line numbers in provenance refer to that reading.
    """

    path: str
    sha256: str
    text: str
    lines: tuple[Line, ...]
    form: str = "lines"
    reading: str = ""


def decode(path: str, data: bytes) -> str:
    """UTF-8 text, or an error naming the line of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        bad = data[error.start : error.start + 4]
        raise SourceError(path, line, "UTF-8 text", found=f"bytes {bad!r}") from None


def read_source(path: str | Path) -> SourceText:
    """Read and decode one policy file; any reason it cannot be read is a SourceError."""
    name = str(path)
    target = Path(path)
    if not target.exists():
        raise SourceError(name, None, "an existing policy text file", found="no such file")
    if target.is_dir():
        raise SourceError(name, None, "a policy text file", found="a directory")
    data = target.read_bytes()
    return source_from_bytes(name, data)


def source_from_bytes(name: str, data: bytes) -> SourceText:
    text = decode(name, data)
    if not text.strip():
        raise SourceError(name, None, "a policy text", found="an empty file")
    form, reading = ("flattened", unflatten(text)) if is_flattened(text) else ("lines", text)
    lines = tuple(Line(number, raw, normalise(raw)) for number, raw in enumerate(reading.splitlines(), start=1))
    return SourceText(name, hashlib.sha256(data).hexdigest(), text, lines, form, reading)

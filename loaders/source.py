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
_SPACES = re.compile(r" {2,}")
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
    """The cleaned form of a piece of source text (one line or a cell). Each repair runs only
    where its character occurs: most lines need none."""
    if "$" in text:
        text = _MATH_RE.sub(lambda m: m.group(1), text)
    if "\\" in text:
        text = _LATEX_RE.sub(lambda m: _LATEX[m.group(0)], text)
    text = text.replace("\u00a0", " ")
    if "²" in text or "³" in text:
        text = _SPACED_SUPERSCRIPT.sub(r"\1\2", text)
    return _SPACES.sub(" ", text).rstrip() if "  " in text else text.rstrip()


def unread_long_lines(lines: tuple[Line, ...]) -> tuple[Line, ...]:
    """The lines with every line longer than ``MAX_LINE_CHARS`` left blank (its raw text kept)."""
    return tuple(Line(line.number, line.raw, "") if len(line.text) > MAX_LINE_CHARS else line for line in lines)


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
    has_control_characters: bool = False


def decode(path: str, data: bytes) -> str:
    """UTF-8 text, or an error naming the line of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        bad = data[error.start : error.start + 4]
        raise SourceError(path, line, "UTF-8 text", found=f"bytes {bad!r}") from None


@dataclass(frozen=True)
class ReadOptions:
    """Limits on what a file may hold: its size, and whether control characters (NUL ...)
    refuse it or are loaded with each one flagged as suspect."""

    max_bytes: int = 2_000_000
    allow_control_characters: bool = False


DEFAULT_READ = ReadOptions()
MAX_LINE_CHARS = 20_000
"""The longest line read (the corpus's longest, in its flattened reading, has 9,221 characters):
a longer one is flagged suspect and left unread, so reading time stays linear in the text."""
CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
"""Characters the template never uses (TAB, LF and CR aside, and the form feed a PDF's text
holds at each page break: layout, read as a line break)."""
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
"""Bidirectional embeddings, overrides and isolates (U+202E, right-to-left override, among them):
they make text display in another order than it reads, and the template never uses them."""
_CONTROL_BYTES = bytes(range(0, 9)) + b"\x0b" + bytes(range(14, 32)) + b"\x7f"


def read_source(path: str | Path, options: ReadOptions = DEFAULT_READ) -> SourceText:
    """Read and decode one policy file; any reason it cannot be read is a SourceError."""
    name = str(path)
    target = Path(path)
    if not target.exists():
        raise SourceError(name, None, "an existing policy text file", found="no such file")
    if target.is_dir():
        raise SourceError(name, None, "a policy text file", found="a directory")
    size = target.stat().st_size
    if size > options.max_bytes:
        raise SourceError(
            name,
            None,
            f"a policy text of at most {options.max_bytes:,} bytes (a larger limit can be set with --max-bytes)",
            found=f"{size:,} bytes",
        )
    return source_from_bytes(name, target.read_bytes(), options)


def source_from_bytes(name: str, data: bytes, options: ReadOptions = DEFAULT_READ) -> SourceText:
    text = decode(name, data)
    if not text.strip():
        raise SourceError(name, None, "a policy text", found="an empty file")
    has_control = len(data.translate(None, _CONTROL_BYTES)) != len(data)  # a fast scan: most files have none
    control = CONTROL.search(text) if has_control else None
    if control and not options.allow_control_characters:
        line = len((text[: control.start()] + "|").splitlines())
        raise SourceError(
            name,
            line,
            "text without control characters (load it anyway, each flagged as suspect, with "
            "--allow-control-characters)",
            found=f"U+{ord(control.group(0)):04X} at column {control.start() - text.rfind(chr(10), 0, control.start())}",
        )
    form, reading = ("flattened", unflatten(text)) if is_flattened(text) else ("lines", text)
    lines = tuple(Line(number, raw, normalise(raw)) for number, raw in enumerate(reading.splitlines(), start=1))
    return SourceText(name, hashlib.sha256(data).hexdigest(), text, lines, form, reading, control is not None)

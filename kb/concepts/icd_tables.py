"""What the vocabulary needs of ICD-10-CM (each category and subcategory code, its description
and inclusion terms), built once from the ``simple-icd-10-cm`` package into a SQLite cache file,
so that a command looks codes up without importing the package (about 3 s) every time.

The file is ``$KB_CACHE_DIR`` (else ``$XDG_CACHE_HOME/policy-as-data``, else
``~/.cache/policy-as-data``) ``/icd-10-cm-<package version>-<FORMAT>.sqlite``: a new package
version or a new layout is a new file, built on first use. It is written beside itself and
renamed into place, so a reader never sees half of it; where the folder cannot be written the
tables are built in memory for the process, with the same answers.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import warnings
from collections.abc import Iterator
from functools import cache
from importlib.metadata import version
from pathlib import Path

FORMAT = "v1"
SCHEMA = """
CREATE TABLE codes (code TEXT PRIMARY KEY, description TEXT NOT NULL);
CREATE TABLE names (code TEXT NOT NULL, name TEXT NOT NULL);
"""


def cache_path() -> Path:
    """Where the tables of the installed ``simple-icd-10-cm`` version are kept."""
    folder = os.environ.get("KB_CACHE_DIR") or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "policy-as-data"
    )
    return Path(folder) / f"icd-10-cm-{version('simple-icd-10-cm')}-{FORMAT}.sqlite"


def _package_rows() -> Iterator[tuple[str, str, list[str]]]:
    """(dotted code, description, inclusion terms) of every category and subcategory code."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import simple_icd_10_cm as icd

    for raw in icd.get_all_codes(False):
        if icd.is_category_or_subcategory(raw) or icd.is_extended_subcategory(raw):
            code = f"{raw[:3]}.{raw[3:]}" if len(raw) > 3 else raw
            yield code, icd.get_description(raw), icd.get_inclusion_term(raw)


def _fill(db: sqlite3.Connection) -> None:
    db.executescript(SCHEMA)
    for code, description, terms in _package_rows():
        db.execute("INSERT OR IGNORE INTO codes VALUES (?, ?)", (code, description))  # a block may share its code
        db.executemany("INSERT INTO names VALUES (?, ?)", [(code, name) for name in [description, *terms]])
    db.commit()


def build(path: Path) -> None:
    """Write the tables to ``path`` whole: into a file beside it, then renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, scratch = tempfile.mkstemp(prefix=path.name, suffix=".partial", dir=path.parent)
    os.close(handle)
    try:
        db = sqlite3.connect(scratch)
        try:
            _fill(db)
        finally:
            db.close()
        os.replace(scratch, path)
    finally:
        Path(scratch).unlink(missing_ok=True)


@cache
def tables() -> sqlite3.Connection:
    """The tables, read-only, built first if the installed package version has none yet."""
    path = cache_path()
    try:
        if not path.is_file():
            build(path)
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    except (OSError, sqlite3.Error):
        memory = sqlite3.connect(":memory:", check_same_thread=False)
        _fill(memory)
        return memory


def description(code: str) -> str | None:
    """The description of a category or subcategory code (C91.00 or C9100), None if there is none."""
    dotted = f"{code[:3]}.{code[3:]}" if "." not in code and len(code) > 3 else code
    row = tables().execute("SELECT description FROM codes WHERE code = ?", (dotted,)).fetchone()
    return row[0] if row else None


def names() -> Iterator[tuple[str, str]]:
    """(code, name) for every code's description, then its inclusion terms."""
    yield from tables().execute("SELECT code, name FROM names ORDER BY rowid")

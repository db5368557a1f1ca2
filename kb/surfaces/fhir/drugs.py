"""Drug identity: the policy for an ordered drug, by HCPCS code, by the payer's crosswalk, or by name.

- **HCPCS**: the policy whose stored coding implications list the drug concept's HCPCS codes (or
  the code itself); for a loaded policy whose text lost its codes (the corpus), the codes in
  ``data/policy_codes.toml`` (each with its source).
- **RxNorm and NDC**: through a crosswalk the payer loads as data: a CSV file with the header
  ``system,code,hcpcs,name,source`` (``system`` is ``RxNorm`` or ``NDC``; ``hcpcs`` the HCPCS
  code the product is billed under; ``source`` where the pairing comes from). The files are named
  by the environment variable ``KB_DRUG_CROSSWALK`` (paths separated by ``:``); without it, the
  small example ``data/drug-crosswalk.csv`` is read. A malformed file is a ``CrosswalkError``
  naming the file, the line and what was expected.
- **By name**: a medication given as text only (or a Medication whose code no crosswalk knows)
  is matched to the one loaded policy whose drug names (generic or brand, as the policy header
  gives them) it contains as words; the caller says on the card that it matched by name.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sqlite3
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from kb.concepts.codes import CodeError, normal_code
from kb.concepts.match import Value, kind_of, read_code
from kb.errors import KBError

DATA = Path(__file__).parent / "data"
CROSSWALK_ENV = "KB_DRUG_CROSSWALK"
COLUMNS = ["system", "code", "hcpcs", "name", "source"]


class CrosswalkError(KBError):
    """A crosswalk file that does not follow the format, naming the file and line."""


@dataclass(frozen=True)
class Pairing:
    """One crosswalk row: an RxNorm or NDC code billed under an HCPCS code, and its source."""

    system: str
    code: str
    hcpcs: str
    name: str
    source: str
    where: str


def _row(path: Path, line: int, row: dict[str, str]) -> Pairing:
    where = f"{path}, line {line}"
    if row.get("system") not in ("RxNorm", "NDC"):
        raise CrosswalkError(f"{where}: system: expected RxNorm or NDC; found {row.get('system')!r}")
    if not (row.get("source") or "").strip():
        raise CrosswalkError(f"{where}: source: expected where the pairing comes from; found nothing")
    try:
        _, code = normal_code(row["system"], row.get("code") or "", False)
        _, hcpcs = normal_code("HCPCS", row.get("hcpcs") or "", False)
    except (CodeError, ValueError) as error:
        raise CrosswalkError(f"{where}: {error}") from None
    return Pairing(row["system"], code, hcpcs, (row.get("name") or "").strip(), row["source"].strip(), where)


def read_crosswalk(path: Path) -> dict[tuple[str, str], Pairing]:
    """One crosswalk file, checked row by row."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames != COLUMNS:
                raise CrosswalkError(
                    f"{path}, line 1: expected the header {','.join(COLUMNS)}; found {reader.fieldnames}"
                )
            pairs = [_row(path, reader.line_num, row) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise CrosswalkError(f"{path}: cannot be read as a CSV crosswalk ({error})") from None
    found: dict[tuple[str, str], Pairing] = {}
    for pair in pairs:
        other = found.setdefault((pair.system, pair.code), pair)
        if other.hcpcs != pair.hcpcs:
            raise CrosswalkError(
                f"{pair.where}: {pair.system} {pair.code} is paired with {other.hcpcs} at {other.where}"
            )
    return found


@cache
def crosswalk(paths: tuple[Path, ...]) -> dict[tuple[str, str], Pairing]:
    """The pairings of every crosswalk file given (read once)."""
    found: dict[tuple[str, str], Pairing] = {}
    for path in paths:
        found |= read_crosswalk(path)
    return found


def crosswalk_paths() -> tuple[Path, ...]:
    """The payer's crosswalk files (``KB_DRUG_CROSSWALK``), else the bundled example."""
    named = os.environ.get(CROSSWALK_ENV, "")
    return tuple(Path(p) for p in named.split(os.pathsep) if p) or (DATA / "drug-crosswalk.csv",)


def crosswalked(drug: Value | None) -> tuple[Value | None, Pairing | None]:
    """An RxNorm or NDC drug read as the HCPCS code the crosswalk pairs it with (and the pairing)."""
    if drug is None or drug.code is None or drug.code[0] not in ("RxNorm", "NDC"):
        return drug, None
    pairing = crosswalk(crosswalk_paths()).get(drug.code)
    return (read_code("drug", "HCPCS", pairing.hcpcs), pairing) if pairing else (drug, None)


@cache
def _policy_codes() -> dict[str, list[str]]:
    data = tomllib.loads((DATA / "policy_codes.toml").read_text(encoding="utf-8"))
    return {policy: entry["hcpcs"] for policy, entry in data.items()}


def policy_for_drug(connection: sqlite3.Connection, drug: Value | None) -> str | None:
    """The loaded policy whose HCPCS codes name the drug (its concept's codes or its own code)."""
    if drug is None:
        return None
    codes = (
        [code for system, code in kind_of("drug").concepts[drug.concept].codes if system == "HCPCS"]
        if drug.concept
        else []
    )
    if drug.code and drug.code[0] == "HCPCS":
        codes.append(drug.code[1])
    if not codes:
        return None
    marks = ",".join("?" * len(codes))
    row = connection.execute(
        f"SELECT policy_id FROM code WHERE system = 'HCPCS' AND code IN ({marks}) AND superseded_at IS NULL"
        " ORDER BY policy_id LIMIT 1",
        codes,
    ).fetchone()
    if row:
        return row[0]
    stored = {
        r[0] for r in connection.execute("SELECT DISTINCT policy_id FROM code WHERE system = 'HCPCS' AND code != ''")
    }
    loaded = {r[0] for r in connection.execute("SELECT policy_id FROM policy")}
    return next(
        (p for p, listed in sorted(_policy_codes().items()) if p in loaded - stored and set(codes) & set(listed)),
        None,
    )


def _words(text: str) -> str:
    return " " + re.sub(r"[^a-z0-9]+", " ", text.casefold()) + " "


def policy_by_name(connection: sqlite3.Connection, texts: list[str]) -> tuple[str, str] | None:
    """(policy, the drug name found) for the one loaded policy whose drug names the texts contain
    as words; None when none or several policies match."""
    said = " ".join(_words(text) for text in texts)
    found: dict[str, str] = {}
    for policy, drugs in connection.execute("SELECT policy_id, drugs FROM policy"):
        for drug in json.loads(drugs or "[]"):
            for name in [drug.get("generic_name") or "", *(drug.get("brand_names") or [])]:
                if name.strip() and _words(name) in said:
                    found.setdefault(policy, name)
    return next(iter(found.items())) if len(found) == 1 else None

"""Mutated FHIR payloads and CDS Hooks requests: never an internal error, never an HTTP 500, and
refusals in FHIR's words (a path and what was expected), not the models' internals.

The seeds are real payloads (the Da Vinci examples beside the checkout and the project's own
Besponsa payloads). A mutation picks one element of the JSON tree and puts there a value FHIR
allows in some element (dates and partial dates, datetimes with zones, big numbers, a resource
of an unknown type) or one no element allows (null, an empty object, a deep nest); or it cuts
the text, or writes a 5,000-digit number into it. Every mutated QuestionnaireResponse and
Bundle goes to ``kb evaluate``, every hook request to the site's CDS service.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
SEED_FOLDERS = (ROOT.parent / "shared" / "fhir-examples", ROOT / "tests" / "fixtures" / "fhir")
VALUES: tuple[Any, ...] = (
    "2024-08-01",
    "2025",
    "2025-02",
    "9999-12-31",
    "0001-01-01",
    "2024-08-01T10:30:00+05:00",
    "2024-08-01T23:59:59.999-12:00",
    "2024-02-30",
    "",
    " ",
    "x" * 5_000,
    "\u202e\u0000",
    0,
    -1,
    1e308,
    12345678901234567890123456789,
    True,
    None,
    [],
    {},
    {"resourceType": "Foo"},
    [{"resourceType": "Foo", "id": "x"}],
    {"coding": [{}]},
    [[[[[[]]]]]],
)
DATES = (
    "2024-08-01",
    "2025",
    "2025-02",
    "9999-12-31",
    "0001-01-01",
    "2024-08-01T10:30:00+05:00",
    "2024-08-01T10:30:00Z",
    "2024-08-01T23:59:59.999-12:00",
    "2024-02-30",
    "2024-08-01T10:30:00",
    "24-08-01",
)
"""Dates as FHIR writes them (a date, a partial date, a dateTime with its zone, the ends of the
calendar) and a few FHIR does not allow, put where a payload holds a date."""
DATE = re.compile(r"^\d{4}(?:-\d{2}(?:-\d{2})?)?(?:T.*)?$")
BAD = ("internal error", "internals")
"""The outcomes that are problems: an internal error (or an HTTP 500), a refusal in the models' words."""
INTERNALS = re.compile(r"instance of|\.root\b|__root__|pydantic|Input should|ValidationError|Traceback|internal error")
"""Words of the models and of Python, never of FHIR: a refusal holding one speaks of internals."""


def _nodes(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    children = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in children:
        yield from _nodes(value, (*path, key))


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        data = data[step]
    return data


def _replaced(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copy = dict(data) if isinstance(data, dict) else list(data)
    copy[path[0]] = _replaced(data[path[0]], path[1:], value)
    return copy


def mutate(data: Any, pick: random.Random) -> str:
    """One mutation of a JSON payload, as text."""
    nodes = list(_nodes(data))
    path = pick.choice(nodes[1:] or nodes)
    how = pick.randrange(10)
    dates = [node for node in nodes if isinstance(_at(data, node), str) and DATE.match(_at(data, node))]
    if dates and how >= 7:
        return json.dumps(_replaced(data, pick.choice(dates), pick.choice(DATES)))
    if how == 0:
        text = json.dumps(data)
        return text[: pick.randrange(len(text))]
    if how == 1:
        return json.dumps(_replaced(data, path, "NUMBER")).replace('"NUMBER"', "9" * 5_000, 1)
    if how == 2 and isinstance(parent := _at(data, path[:-1]), dict):
        return json.dumps(_replaced(data, path[:-1], {k: v for k, v in parent.items() if k != path[-1]}))
    return json.dumps(_replaced(data, path, pick.choice(VALUES)))


def seeds(folders: tuple[Path, ...] = SEED_FOLDERS) -> list[tuple[str, Any]]:
    """(name, payload) of every hook request, QuestionnaireResponse and Bundle in the folders."""
    found = []
    for folder in folders:
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and (
                "hook" in data or data.get("resourceType") in ("QuestionnaireResponse", "Bundle")
            ):
                found.append((path.name, data))
    return found


@dataclass(frozen=True)
class Outcome:
    """What became of one mutated payload."""

    seed: str
    surface: str  # "kb evaluate" or "CDS service"
    status: str  # "answered", "refused", "internal error", "internals"
    detail: str


def _judge(seed: str, surface: str, ok: bool, refused: bool, output: str) -> Outcome:
    if INTERNALS.search(output) and not ok:
        status = "internal error" if re.search(r"internal error|Traceback|HTTP 500", output) else "internals"
        return Outcome(seed, surface, status, output[-300:])
    return Outcome(seed, surface, "answered" if ok else "refused" if refused else "internal error", output[-300:])


def try_evaluate(command: click.Command, database: Path, path: Path, seed: str) -> Outcome:
    """``kb evaluate`` of one mutated payload file."""
    result = CliRunner().invoke(command, ["evaluate", str(path), "--db", str(database)])
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    output = result.output + (f" Traceback {result.exception!r}" if crashed else "")
    return _judge(seed, "kb evaluate", result.exit_code == 0, result.exit_code == 1 and not crashed, output)


async def _post_all(datasette: Any, bodies: list[tuple[str, str]]) -> list[Outcome]:
    outcomes = []
    for seed, body in bodies:
        headers = {"content-type": "application/json"}
        response = await datasette.client.post("/cds-services/policy-as-data-order-sign", content=body, headers=headers)
        text = response.text if response.status_code != 500 else f"HTTP 500 {response.text}"
        outcomes.append(
            _judge(seed, "CDS service", response.status_code == 200, 400 <= response.status_code < 500, text)
        )
    return outcomes


def fuzz(command: click.Command, database: Path, scratch: Path, count: int, seed: int) -> list[Outcome]:
    """``count`` mutated payloads, each tried where it goes."""
    from datasette.app import Datasette

    pick = random.Random(seed)
    payloads = seeds()
    if not payloads:
        return []
    hooks: list[tuple[str, str]] = []
    outcomes = []
    for trial in range(count):
        name, data = pick.choice(payloads)
        text = mutate(data, pick)
        if "hook" in data:
            hooks.append((name, text))
            continue
        path = scratch / f"fhir-{trial}.json"
        path.write_text(text, encoding="utf-8")
        outcomes.append(try_evaluate(command, database, path, name))
    datasette = Datasette(immutables=[str(database)])
    outcomes += asyncio.run(_post_all(datasette, hooks))
    return outcomes

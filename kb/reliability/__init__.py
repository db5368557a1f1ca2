"""Reliability: broken and hostile input, kills during a load, and the figures ``kb reliability``
prints (README, Reliability).

Every figure is counted from what a run did: broken inputs to every command
(``catalogue``), seeded mutations of the bundled policy and of requests (``mutations``), a
hostile policy on every HTML page (``hostile``), loads killed at random moments (``kills``)
and the time and memory of a large one-line file (``resources``).
"""

from __future__ import annotations

import json
import random
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import click

from kb.reliability.catalogue import REQUEST, run_catalogue, try_batch, try_request
from kb.reliability.hostile import load_hostile, report_pages, scan, site_metadata, site_pages
from kb.reliability.kills import kill_loads
from kb.reliability.mutations import MUTATIONS, Verdict, mutate_request, try_document
from kb.reliability.resources import measure
from kb.surfaces.api import KnowledgeBase, bundled_policy_paths

T = TypeVar("T")


@dataclass(frozen=True)
class Row:
    """One kind of input tried, and what became of it."""

    check: str
    tried: int
    refused: int
    accepted: int
    wrong: int
    tracebacks: int
    unclear: int


def _row(check: str, verdicts: list[Verdict]) -> Row:
    seen = Counter(v.outcome for v in verdicts)
    return Row(
        check,
        len(verdicts),
        seen["refused"],
        seen["loaded"] + seen["decided"],
        seen["stored wrongly"],
        seen["traceback"],
        seen["unclear"],
    )


def catalogue_row(command: click.Command, scratch: Path) -> tuple[Row, list[str]]:
    outcomes = run_catalogue(command, scratch)
    problems = [
        f"{o.case.command} ({o.case.broken}): exit {o.exit_code}: {o.output[-200:]!r}" for o in outcomes if not o.clear
    ]
    row = Row(
        "broken inputs to every command",
        len(outcomes),
        sum(o.clear for o in outcomes),
        sum(o.exit_code == 0 for o in outcomes),
        sum(o.stored_wrongly for o in outcomes),
        sum(o.traceback for o in outcomes),
        sum(not o.clear and not o.traceback and o.exit_code != 0 for o in outcomes),
    )
    return row, problems


def document_row(scratch: Path, count: int, seed: int) -> tuple[Row, list[str]]:
    base = scratch / "base.sqlite"
    KnowledgeBase(base).load()
    text = bundled_policy_paths()[0].read_text(encoding="utf-8")
    pick = random.Random(seed)
    verdicts = []
    for trial in range(count):
        name = pick.choice(sorted(MUTATIONS))
        folder = scratch / f"document-{trial}"
        folder.mkdir()
        verdicts.append(try_document(base, folder, MUTATIONS[name](text, pick.randrange(10**6), pick.randrange(100))))
    problems = [v.detail for v in verdicts if v.outcome not in ("refused", "loaded")]
    return _row("mutated policy documents", verdicts), problems


def request_row(command: click.Command, scratch: Path, count: int, seed: int) -> tuple[Row, list[str]]:
    database = scratch / "kb.sqlite"
    KnowledgeBase(database).load()
    pick = random.Random(seed)
    verdicts = []
    for trial in range(count):
        a, b = pick.randrange(10**6), pick.randrange(100)
        if trial % 2:
            path = scratch / f"request-{trial}.json"
            path.write_text(mutate_request(REQUEST, a, b), encoding="utf-8")
            verdicts.append(try_request(command, database, path))
        else:
            lines = "\n".join(json.dumps(REQUEST | {"request_id": f"r{i}"}) for i in range(4))
            path = scratch / f"batch-{trial}.jsonl"
            path.write_text(MUTATIONS[sorted(MUTATIONS)[b % len(MUTATIONS)]](lines, a, b), encoding="utf-8")
            verdicts.append(try_batch(command, database, path))
    problems = [v.detail for v in verdicts if v.outcome not in ("refused", "decided")]
    return _row("mutated requests and batches", verdicts), problems


def html_line(scratch: Path, metadata: Path) -> tuple[str, list[str]]:
    with load_hostile(scratch) as kb:
        pages = {**report_pages(kb), **site_pages(kb.path, site_metadata(metadata))}
    live = [f"{name}: {found}" for name, html in pages.items() for found in scan(html)[0]]
    return (
        f"HTML reports and Datasette pages checked with a hostile copy of the policy: {len(pages)}; "
        f"live markup from document text: {len(live)}",
        live,
    )


def kill_line(scratch: Path, count: int, seed: int) -> tuple[str, list[str]]:
    kills = kill_loads(scratch, count, seed=seed)
    reopened = Counter(k.new_reader.split(":")[0] for k in kills)
    line = (
        f"loads killed (SIGKILL) at random moments: {len(kills)}; survived (both readers saw a whole, committed "
        f"state): {sum(k.survived for k in kills)}; a reader opened before the load saw the old state: "
        f"{sum(k.running_reader == 'old' for k in kills)}; reopened after the kill: "
        + ", ".join(f"{name} {reopened[name]}" for name in ("old", "new", "mixed", "damaged"))
        + f"; kills that landed while the load was writing: {sum(k.while_writing for k in kills)}"
    )
    return line, [str(k) for k in kills if not k.survived]


def resource_lines(scratch: Path, megabytes: float) -> list[str]:
    return [
        f"a {megabytes:g} MB one-line file, {m.limit}: {m.outcome} ({m.seconds:.2f} s; "
        f"peak memory {m.peak_mb:.0f} MB, {m.before_mb:.0f} MB after imports)"
        for m in measure(scratch, megabytes)
    ]


def table(rows: list[Row]) -> str:
    head = ("input", "tried", "refused with a clear message", "accepted", "stored wrongly", "tracebacks", "unclear")
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += [
        f"| {r.check} | {r.tried} | {r.refused} | {r.accepted} | {r.wrong} | {r.tracebacks} | {r.unclear} |"
        for r in rows
    ]
    return "\n".join(lines)


def report(
    command: click.Command, metadata: Path, kills: int, documents: int, requests: int, megabytes: float, seed: int
) -> tuple[str, list[str]]:
    """Run every check in a scratch folder: (the figures as text, the problems found)."""
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)

        def run(name: str, check: Callable[[Path], tuple[T, list[str]]]) -> T:
            (folder / name).mkdir()
            figure, found = check(folder / name)
            problems.extend(found)
            return figure

        rows = [
            run("catalogue", lambda f: catalogue_row(command, f)),
            run("documents", lambda f: document_row(f, documents, seed)),
            run("requests", lambda f: request_row(command, f, requests, seed)),
        ]
        lines = [run("html", lambda f: html_line(f, metadata)), run("kills", lambda f: kill_line(f, kills, seed))]
        if megabytes:
            lines += run("big", lambda f: (resource_lines(f, megabytes), []))
    return "\n".join([table(rows), "", *lines]), problems

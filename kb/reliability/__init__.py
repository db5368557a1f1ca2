"""Reliability: broken and hostile input, kills during a load, and the figures ``kb reliability``
prints (README, Reliability).

Every figure is counted from what a run did: broken inputs to every command
(``catalogue``), seeded mutations of the bundled policy and of requests (``mutations``), of
FHIR payloads and CDS hook requests (``fhir_fuzz``), a hostile policy on every HTML page
(``hostile``), loads killed at random moments (``kills``), the CDS service, the site across a
publication and formula-like export cells (``site_probes``), criteria of very long lines
(``long_lines``) and the time and memory of a large one-line file (``resources``).
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
from kb.reliability.fhir_fuzz import BAD, fuzz
from kb.reliability.hostile import load_hostile, report_pages, scan, site_metadata, site_pages
from kb.reliability.kills import kill_loads
from kb.reliability.long_lines import SLOW, long_loads
from kb.reliability.mutations import MUTATIONS, Verdict, digest, mutate_request, try_document
from kb.reliability.resources import measure
from kb.reliability.site_probes import cds_probe, formula_cells, publication
from kb.surfaces.api import KnowledgeBase, bundled_policy_paths
from kb.surfaces.site.cds import MAX_BODY_BYTES

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


def fhir_row(command: click.Command, scratch: Path, count: int, seed: int) -> tuple[Row, list[str]]:
    """Mutated FHIR payloads through ``kb evaluate`` and hook requests to the CDS service."""
    database = scratch / "kb.sqlite"
    KnowledgeBase(database).load()
    before = digest(database)
    outcomes = fuzz(command, database, scratch, count, seed)
    seen = Counter(o.status for o in outcomes)
    wrong = int(digest(database) != before)
    problems = [f"{o.surface} ({o.seed}): {o.status}: {o.detail[-200:]!r}" for o in outcomes if o.status in BAD]
    row = Row(
        "mutated FHIR payloads and CDS hook requests",
        len(outcomes),
        seen["refused"],
        seen["answered"],
        wrong,
        seen["internal error"],
        seen["internals"],
    )
    return row, problems + (["evaluating FHIR payloads changed the knowledge base"] if wrong else [])


def long_line(characters: int) -> tuple[str, list[str]]:
    loads = long_loads(characters)
    slowest = max(loads, key=lambda load: load.ratio)
    line = (
        f"a criterion of {characters:,} characters on one line, {len(loads)} kinds ("
        + ", ".join(load.kind for load in loads)
        + f"): loaded {sum(load.outcome == 'loaded' for load in loads)}; slowest {slowest.ratio:.1f}x the plain "
        f"load ({slowest.kind}, {slowest.seconds:.2f} s)"
    )
    return line, [f"{load.kind}: {load.ratio:.1f}x the plain load" for load in loads if load.ratio > SLOW]


def site_lines(scratch: Path) -> tuple[list[str], list[str]]:
    """The CDS service under a large or mistyped request, the site across a publication, and
    exports of a criterion that begins as a formula."""
    KnowledgeBase(scratch / "kb.sqlite").load()
    cds = cds_probe(scratch / "kb.sqlite")
    (scratch / "publication").mkdir()
    published = publication(scratch / "publication")
    with KnowledgeBase(scratch / "kb.sqlite") as kb:
        formulas, risky = formula_cells(kb)
    lines = [
        f"CDS service: a body over {MAX_BODY_BYTES:,} bytes answered {cds.too_large}, a text/plain body "
        f"{cds.plain_text}; GET / sent during a hook request of {cds.body_bytes:,} bytes answered in "
        f"{cds.home_seconds:.2f} s (the hook request took {cds.hook_seconds:.2f} s)",
        f"a load published while the site served: newest version on a canned query and on the home page "
        f"{' / '.join(published.before)} before, {' / '.join(published.after)} after; replaced files held open: "
        f"{len(published.held)}",
        f"exports of a criterion beginning '=HYPERLINK(': xlsx cells stored as formulas {formulas}, "
        f"CSV cells beginning as a formula {risky}",
    ]
    problems = [] if (cds.too_large, cds.plain_text) == (413, 415) else [f"CDS service: {cds}"]
    problems += [] if cds.home_seconds < cds.hook_seconds / 2 else ["GET / waited for the hook request"]
    problems += [] if len(set(published.after)) == 1 and not published.held else [f"publication: {published}"]
    problems += [] if formulas == risky == 0 else ["an export holds a cell that runs as a formula"]
    return lines, problems


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


@dataclass(frozen=True)
class Sizes:
    """How much of each kind ``kb reliability`` tries."""

    kills: int = 20
    documents: int = 100
    requests: int = 100
    megabytes: float = 50.0
    fhir: int = 500
    long_line: int = 200_000


def report(command: click.Command, metadata: Path, sizes: Sizes, seed: int) -> tuple[str, list[str]]:
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
            run("documents", lambda f: document_row(f, sizes.documents, seed)),
            run("requests", lambda f: request_row(command, f, sizes.requests, seed)),
            run("fhir", lambda f: fhir_row(command, f, sizes.fhir, seed)),
        ]
        lines = [
            run("html", lambda f: html_line(f, metadata)),
            run("kills", lambda f: kill_line(f, sizes.kills, seed)),
            *run("site", site_lines),
        ]
        if sizes.long_line:
            lines.append(run("long", lambda f: long_line(sizes.long_line)))
        if sizes.megabytes:
            lines += run("big", lambda f: (resource_lines(f, sizes.megabytes), []))
    return "\n".join([table(rows), "", *lines]), problems

"""The ``kb`` command: a thin layer over ``kb.api.KnowledgeBase``.

Each command parses its arguments, calls one API method, formats the result and maps the
project's errors to a clear message and a non-zero exit.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any

import click
from rich.progress import Progress

from kb.api import BUNDLED_CHANGES, KnowledgeBase
from kb.errors import KBError, MissingKnowledgeBase
from kb.export import EXPORTS
from kb.facts import fact_vocabulary
from kb.fhir import pas
from kb.fhir.questionnaire import decide_response
from kb.fhir.resources import FhirError, operation_outcome
from kb.render import answer_text, decision_text
from kb.reports import history_text, mutation_text, plain, render_diffs
from kb.request_files import naming, parse_request, read_batch, read_object, read_record, read_requests
from kb.site import site_metadata
from kb.staging import check_database
from loaders.source import ReadOptions
from revisions.log import DEFAULT_RULE, RULES

CHANGES_OPTION = click.option(
    "--changes",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=BUNDLED_CHANGES,
    show_default="the bundled change data",
    help="The change-data folder (one sub-folder of TOML files per policy).",
)
DB_OPTION = click.option(
    "--db", default="kb.sqlite", show_default=True, type=click.Path(dir_okay=False), help="The knowledge base file."
)


def reports_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the project's errors into a one-line message and exit code 1."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except KBError as error:
            raise click.ClickException(str(error)) from error

    return wrapper


JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def _emit(as_json: bool, data: Any, text: Callable[[], str]) -> None:
    """Print ``data`` as JSON, or the text a reader wants."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str) if as_json else text())


class KBGroup(click.Group):
    """Every failure a user can meet ends as a message and exit 1, never a traceback: a file the
    system cannot read or write is named; a SQLite error says so; anything else is reported as an
    internal error (KB_DEBUG=1 shows its traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KBError as error:
            raise click.ClickException(str(error)) from error
        except OSError as error:
            raise click.ClickException(f"{error.filename or 'a file'}: {error.strerror or error}") from error
        except sqlite3.Error as error:
            raise click.ClickException(f"the knowledge base could not be read or written: {error}") from error
        except Exception as error:
            if os.environ.get("KB_DEBUG"):
                raise
            raise click.ClickException(
                f"internal error ({type(error).__name__}: {error}); please report it with the command that caused it"
                " (KB_DEBUG=1 shows the traceback)"
            ) from error


@click.group(cls=KBGroup)
@click.version_option(package_name="policy-as-data")
def cli() -> None:
    """policy-as-data: a versioned knowledge base of clinical drug policies.

    Load policy documents, then ask what applied on any date, with every answer traced
    to the source text or the revision that made it.
    """


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@DB_OPTION
@click.option(
    "--rule",
    type=click.Choice(sorted(RULES)),
    default=DEFAULT_RULE,
    show_default=True,
    help="When a revision takes effect: first day of its P&T month, or its own Date.",
)
@click.option("--max-bytes", default=ReadOptions.max_bytes, show_default=True, help="Refuse a file larger than this.")
@click.option(
    "--allow-control-characters",
    is_flag=True,
    help="Load a file holding control characters (NUL ...), each flagged as suspect, instead of refusing it.",
)
@CHANGES_OPTION
@click.option(
    "--wait",
    default=300.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds to wait for another load to finish publishing before giving up (saying who holds it).",
)
@reports_errors
def load(
    paths: tuple[Path, ...],
    db: str,
    rule: str,
    max_bytes: int,
    allow_control_characters: bool,
    changes: Path,
    wait: float,
) -> None:
    """Load policy documents (default: the bundled CP.PHAR.359) in one transaction."""
    options = ReadOptions(max_bytes, allow_control_characters)
    with KnowledgeBase(db, changes=changes, rule=rule, wait=wait) as kb:
        for report in kb.load(paths or None, options=options):
            state = "loaded" if report.changed else "unchanged (already loaded; nothing written)"
            click.echo(f"{report.policy_id}: {state} from {report.source}")
            click.echo(
                f"  {report.versions} versions; rows added {report.rows_added}, superseded {report.rows_superseded}"
            )
            chars = report.characters
            click.echo(
                f"  {report.form} text; lines: {report.parsed_lines} parsed, {report.boilerplate_lines} boilerplate, "
                f"{report.unparsed_lines} unparsed; characters: {chars['parsed']} parsed, {chars['boilerplate']} "
                f"boilerplate, {chars['unparsed']} unparsed ({report.share('unparsed'):.2%}), "
                f"{chars['suspect']} suspect ({report.share('suspect'):.2%})"
            )
            for block in report.unparsed:
                click.echo(f"  unparsed, line {block.span}: {block.text[:100]!r}")
            for block in report.suspects:
                click.echo(f"  suspect, line {block.span} ({block.kind}): {block.reason}: {block.text[:100]!r}")
            for audit in kb.document_audits(report.policy_id) if report.changed else []:
                step, matched = audit.steps[0], sum(f.status == "matched" for f in audit.clauses)
                click.echo(
                    f"  document of {step['to']} against {step['from']}: {len(audit.clauses)} clause(s), "
                    f"{matched} matched; {len(audit.problems())} problem(s) (kb audit {report.policy_id})"
                )
            for found in report.disagreements:
                says = "disagrees with" if found.status == "differs" else "tells what was unknown in"
                click.echo(
                    f"  document of {found.version} {says} the reconstruction: {found.kind} "
                    f"{found.key}: {_summary(found.reconstructed)} -> {_summary(found.document)}"
                )
        click.echo(coverage_text(kb.predicate_coverage()))


def coverage_text(rows: list[dict[str, Any]]) -> str:
    """Predicate coverage of the newest versions, one line per policy and the total."""
    lines = ["predicate coverage of leaf criteria (newest versions; factual % = factual / (leaves - referrals)):"]
    lines += [
        f"  {row['policy_id']:<14} {row['leaves']:>4} leaves: {row['factual']:>4} factual, {row['referral']:>3} referrals, "
        f"{row['review']:>3} need clinical review; factual {row['factual_pct']}%"
        for row in rows
    ]
    return "\n".join(lines)


def _summary(content: dict[str, Any] | None) -> str:
    if content is None:
        return "(none)"
    text = content.get("text", content.get("citation", content.get("policy_ref")))
    return repr(text) if text is not None else "(unknown)"


@cli.command()
@DB_OPTION
@JSON_OPTION
@reports_errors
def policies(db: str, as_json: bool) -> None:
    """List the policies in the knowledge base."""
    with KnowledgeBase(db) as kb:
        rows = kb.policies()
    _emit(
        as_json,
        rows,
        lambda: "\n".join(
            f"{row['policy_id']}\t{row['title']}\t{row['versions']} versions from {row['earliest_vouched']}"
            for row in rows
        ),
    )


@cli.command()
@click.argument("policy")
@DB_OPTION
@JSON_OPTION
@reports_errors
def show(policy: str, db: str, as_json: bool) -> None:
    """Print a policy as its newest version reads: criteria tree, durations, codes, references."""
    with KnowledgeBase(db) as kb:
        answer = kb.show(policy)
    _emit(as_json, answer.to_json(), lambda: answer_text(answer))


@cli.command()
@click.argument("policy")
@click.argument("date")
@DB_OPTION
@click.option("--known-at", help="Answer as the knowledge base knew it at this ISO timestamp.")
@JSON_OPTION
@reports_errors
def asof(policy: str, date: str, db: str, known_at: str | None, as_json: bool) -> None:
    """What POLICY said on DATE (YYYY-MM-DD): version, criteria, durations, sources, unknowns."""
    with KnowledgeBase(db) as kb:
        answer = kb.as_of(policy, date, known_at)
    _emit(as_json, answer.to_json(), lambda: answer_text(answer))


@cli.command()
@click.argument("policy")
@DB_OPTION
@JSON_OPTION
@reports_errors
def versions(policy: str, db: str, as_json: bool) -> None:
    """The version timeline of POLICY: label, window and whether read or reconstructed."""
    with KnowledgeBase(db) as kb:
        rows = kb.versions(policy)
    _emit(
        as_json,
        rows,
        lambda: "\n".join(
            f"{row['label']}\t{row['valid_from']} .. {row['valid_to'] or 'open'}\t{row['basis']}"
            f"\t(revision {row['revision_date']})"
            for row in rows
        ),
    )


DIFF_FORMATS = ("text", "markdown", "json", "csv", "html")
DIFF_COLOURS = {
    "-": {"fg": "red", "strikethrough": True},
    "+": {"fg": "green", "underline": True},
    "heading": {"bold": True},
}


@cli.command()
@click.argument("arguments", nargs=-1, metavar="[POLICY] FROM TO")
@click.option("--all", "every_policy", is_flag=True, help="Diff every policy in the knowledge base (no POLICY).")
@click.option("--format", "fmt", type=click.Choice(DIFF_FORMATS), default="text", show_default=True)
@click.option("--all-changes", is_flag=True, help="Show formatting-only changes too.")
@click.option("--no-audit", is_flag=True, help="Skip the revision-log audit.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file.")
@click.option("--known-at", help="Compare as the knowledge base knew it at this ISO timestamp.")
@DB_OPTION
@reports_errors
def diff(
    arguments: tuple[str, ...],
    every_policy: bool,
    fmt: str,
    all_changes: bool,
    no_audit: bool,
    output: Path | None,
    known_at: str | None,
    db: str,
) -> None:
    """What changed between the versions in force on FROM and TO (dates or version labels).

    Items are matched by identity, so a renumbered item is reported as renumbered; values are
    named ("age ≥ 15 years -> age ≥ 18 years"); the revision-log audit matches each logged
    clause to the changes it describes.
    """
    if len(arguments) != (2 if every_policy else 3):
        raise click.UsageError("expected POLICY FROM TO, or --all FROM TO")
    policy, before, after = (None, *arguments) if every_policy else arguments
    with KnowledgeBase(db) as kb:
        diffs = (
            kb.diff_all(before, after, not no_audit, known_at)
            if policy is None
            else [kb.diff(policy, before, after, not no_audit, known_at)]
        )
        colour = output is None and sys.stdout.isatty()

        def style(role: str, text: str) -> str:
            return click.style(text, **DIFF_COLOURS[role]) if colour and role in DIFF_COLOURS else plain(role, text)

        rendered = render_diffs(diffs, fmt, all_changes, style, single=policy is not None)
    _write(rendered, output)


def _write(rendered: str | bytes, output: Path | None) -> None:
    """To the terminal, or to a file; a .csv file starts with a byte-order mark so that
    spreadsheets read it as UTF-8 (≥, ’ ...)."""
    if output is not None:
        if isinstance(rendered, bytes):
            output.write_bytes(rendered)
        else:
            output.write_text(rendered, encoding="utf-8-sig" if output.suffix.lower() == ".csv" else "utf-8")
        click.echo(f"wrote {output}", err=True)
    elif isinstance(rendered, bytes):
        raise click.UsageError("this format is binary: give -o FILE")
    else:
        click.echo(rendered)


@cli.command()
@click.argument("policy")
@click.option("--as-of", "when", required=True, help="The date (YYYY-MM-DD) or version label.")
@click.option("--format", "fmt", type=click.Choice(sorted(EXPORTS)), default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file.")
@click.option("--known-at", help="Export as the knowledge base knew it at this ISO timestamp.")
@DB_OPTION
@reports_errors
def export(policy: str, when: str, fmt: str, output: Path | None, known_at: str | None, db: str) -> None:
    """Export the rules of POLICY in force on a date: tables (csv, json, xlsx) or the policy as it
    read; every format states the effective-date rule, the rule-dependent windows, the
    knowledge time and when it was generated."""
    with KnowledgeBase(db) as kb:
        answer = kb.as_of(policy, kb.resolve(policy, when), known_at)
    _write(EXPORTS[fmt](answer), output)


@cli.command()
@click.argument("policy")
@click.option(
    "--mutations", is_flag=True, help="Also plant defects in a copy of the change data and count those caught."
)
@click.option("--known-at", help="Audit the history as the knowledge base knew it at this ISO timestamp.")
@click.option(
    "--changes",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Audit this change-data folder (one sub-folder per policy) instead of the one the knowledge base was built with.",
)
@DB_OPTION
@JSON_OPTION
@reports_errors
def audit(policy: str, mutations: bool, known_at: str | None, changes: Path | None, db: str, as_json: bool) -> None:
    """Audit POLICY's history against its revision log: every clause matched to the change it
    names (values compared), every change to a clause, every citation of the change data, what
    it claims against the log and the stored copies; and each loaded document against the one
    before it. With --changes DIR, the history built from DIR is audited."""
    with KnowledgeBase(db, changes=changes or BUNDLED_CHANGES) as kb:
        result = kb.audit(policy, known_at, changes)
        report = kb.mutations(policy) if mutations else None
    data = {
        "policy": policy,
        "history": result.history.to_json(),
        "documents": [audit.to_json() for audit in result.documents],
        "change_data": result.change_data,
        "problems": result.problems(),
        "mutations": None
        if report is None
        else {
            "mutants": len(report.outcomes),
            "caught": report.caught,
            "share": report.share,
            "by_status": dict(report.counts()),
            "by_operator": {op: {"caught": c, "total": t} for op, (c, t) in report.by_operator().items()},
            "missed": [o.mutant.name for o in report.outcomes if o.status == "missed"],
        },
    }
    _emit(as_json, data, lambda: history_text(result) + (f"\n\n{mutation_text(report)}" if report else ""))


@cli.command()
@click.argument("request_file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--as-of", "when", help="Evaluate under the version in force on this date instead of the date of service."
)
@click.option(
    "--batch", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="A JSON Lines file of requests."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where --batch writes decisions (JSON Lines).",
)
@click.option("--no-trace", is_flag=True, help="With --batch: decisions only, through the compiled rules (fast).")
@click.option(
    "--replay",
    "replay_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A stored decision record (JSON): evaluate it again and compare.",
)
@DB_OPTION
@JSON_OPTION
@reports_errors
def evaluate(
    request_file: Path | None,
    when: str | None,
    batch: Path | None,
    output: Path | None,
    no_trace: bool,
    replay_file: Path | None,
    db: str,
    as_json: bool,
) -> None:
    """Decide a prior-authorization request (JSON, or a filled FHIR QuestionnaireResponse) under the
    rules in force on its date of service; a Da Vinci PAS request Bundle (FHIR R4) is answered with a
    PAS response Bundle."""
    with KnowledgeBase(db) as kb:
        if replay_file is not None:
            record = read_record(replay_file)
            with naming(str(replay_file)):
                again = kb.replay(record)
            same = again.decision == record["decision"] and again.rules_hash == record["rules_hash"]
            _emit(as_json, again.to_json(), lambda: decision_text(again))
            if not same:
                raise click.ClickException(f"replay differs: {record['decision']} -> {again.decision}")
            click.echo(f"replay: same decision ({again.decision}) and rules {again.rules_hash[:16]}", err=True)
            return
        if batch is None:
            if request_file is None:
                raise click.UsageError("give REQUEST_FILE, --batch FILE or --replay FILE")
            data = read_object(request_file, "a request or a FHIR resource (a JSON object)")
            if data.get("resourceType") == "QuestionnaireResponse":
                with answers_fhir():
                    decision, notes = decide_response(kb, data, str(request_file), when)
                click.echo("\n".join(notes), err=True, nl=bool(notes))
            elif "resourceType" in data:
                _answer_pas(kb, data, str(request_file), when)
                return
            else:
                with naming(str(request_file)):
                    decision = kb.evaluate(parse_request(data, str(request_file)), when)
            _emit(as_json, decision.to_json(), lambda: decision_text(decision))
            return
        if output is None:
            raise click.UsageError("--batch needs -o FILE")
        _decide_batch(kb, batch, output, when, not no_trace)


def _answer_pas(kb: KnowledgeBase, data: dict[str, Any], source: str, when: str | None) -> None:
    """A PAS request Bundle answered with a PAS response Bundle; a defective or non-PAS payload
    answered with an OperationOutcome."""
    if when:
        raise click.UsageError("--as-of does not apply to a PAS request: its items carry their dates of service")
    with answers_fhir():
        click.echo(pas.answer_json(kb, data, source))


@contextmanager
def answers_fhir() -> Iterator[None]:
    """A defective FHIR payload is answered with an OperationOutcome (stdout), one line on stderr, exit 1."""
    try:
        yield
    except FhirError as error:
        click.echo(operation_outcome(error).model_dump_json(indent=2, exclude_none=True))
        raise click.ClickException(str(error)) from None


def _decide_batch(kb: KnowledgeBase, batch: Path, output: Path, when: str | None, traced: bool) -> None:
    """Decide every good line of ``batch``, write one record per line (a decision or the line's
    error) to ``output``, print the counts; exit 1 when a line was refused."""
    items = list(read_batch(batch))
    counts: dict[str, int] = {}
    refused: list[str] = []
    with output.open("w", encoding="utf-8") as out, Progress(transient=True) as progress:
        task = progress.add_task(f"evaluating {len(items)} requests", total=len(items))
        for record in kb.decide_batch(items, str(batch), when, traced):
            if record["decision"] is None:
                refused.append(record["error"])
            else:
                counts[record["decision"]] = counts.get(record["decision"], 0) + 1
            out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            progress.advance(task)
    click.echo(
        f"{sum(counts.values())} decisions written to {output}: "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        + f"; {len(refused)} line(s) refused, each with an error record"
    )
    for message in refused[:20]:
        click.echo(message, err=True)
    if refused:
        more = f" ({len(refused) - 20} more in {output})" if len(refused) > 20 else ""
        raise click.ClickException(f"{len(refused)} of {len(items)} requests refused{more}")


METADATA = Path(__file__).resolve().parents[1] / "datasette_metadata.json"


@cli.command()
@DB_OPTION
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--metadata", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=METADATA, show_default=True
)
@reports_errors
def serve(db: str, host: str, port: int, metadata: Path) -> None:
    """Publish the knowledge base with Datasette, read-only (build it first with `kb load`)."""
    path = Path(db)
    if not path.is_file():
        raise MissingKnowledgeBase(db)
    check_database(path)
    read_object(metadata, "Datasette metadata (a JSON object)")
    metadata = site_metadata(metadata, path.stem)
    click.echo(f"serving {path} read-only at http://{host}:{port}/", err=True)
    command = ["datasette", "serve", "-i", str(path), "--metadata", str(metadata), "--host", host, "--port", str(port)]
    os.execvp(sys.executable, [sys.executable, "-m", *command])


@cli.command()
@click.argument("name", required=False)
@JSON_OPTION
def facts(name: str | None, as_json: bool) -> None:
    """The fact vocabulary of a request: each fact's type, meaning, and the values and code
    systems it accepts (NAME: one fact, with every concept it knows)."""
    rows = fact_vocabulary()
    if name is not None:
        if name not in rows:
            raise click.ClickException(f"no fact {name!r}; see `kb facts`")
        rows = {name: rows[name]}
    _emit(as_json, rows, lambda: "\n".join(_fact_lines(fact, row, name is not None) for fact, row in rows.items()))


def _fact_lines(name: str, row: dict[str, Any], every: bool) -> str:
    line = f"{name:<40} {row['type']:<12} {row['accepts']}\n{'':<40} {row['meaning']}"
    if row.get("values") and every:
        line += "\n" + "\n".join(f"{'':<40}   {value['id']}: {value['label']}" for value in row["values"])
    elif row.get("values"):
        line += f" ({len(row['values'])} known; `kb facts {name}` lists them)"
    return line


@cli.command()
@click.argument("policy")
@click.argument("before", metavar="FROM")
@click.argument("after", metavar="TO")
@click.option(
    "--requests", "requests_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@DB_OPTION
@JSON_OPTION
@reports_errors
def impact(policy: str, before: str, after: str, requests_file: Path, db: str, as_json: bool) -> None:
    """The requests that the versions in force on FROM and TO would decide differently, and why."""
    with KnowledgeBase(db) as kb:
        changed = kb.impact(policy, before, after, read_requests(requests_file))

    def text() -> str:
        lines = [f"{len(changed)} request(s) decided differently"]
        for item in changed:
            lines.append(
                f"  {item['request_id']}: {item['before']} under {item['versions'][0]} -> "
                f"{item['after']} under {item['versions'][1]}"
            )
            lines += [f"    {c['where']} {c['text']}: {c['before']} -> {c['after']}" for c in item["criteria"]]
        return "\n".join(lines)

    _emit(as_json, changed, text)


@cli.command()
@click.option("--quick", is_flag=True, help="A small run for CI: 100 policies, fewer repeats (under a minute).")
@click.option(
    "--runs", default=2000, show_default=True, type=click.IntRange(min=1), help="Timed runs per latency figure."
)
@click.option(
    "--sizes",
    default="1000,10000",
    show_default=True,
    callback=lambda _, __, value: _counts(value),
    help="Synthetic knowledge-base sizes (policies), comma-separated.",
)
@click.option("--versions", default=7, show_default=True, help="Versions per synthetic policy.")
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path), help="Build the synthetic corpora here.")
def bench(quick: bool, runs: int, sizes: list[int], versions: int, keep: Path | None) -> None:
    """Figures for the bundled policy and a synthetic payer-scale knowledge base, each beside a
    baseline measured in the same run (see README, Performance)."""
    import tempfile

    from kb.bench import bundled_figures, scale_figures, table
    from kb.bench_corpus import corpus_figures

    runs = 200 if quick else runs
    counts = [100] if quick else sizes
    figures = bundled_figures(runs) + corpus_figures(max(runs * 10, 2000))
    with tempfile.TemporaryDirectory() as scratch:
        for count in counts:
            folder = (keep or Path(scratch)) / f"synthetic-{count}x{versions}"
            figures += scale_figures(folder, count, versions, runs)
    click.echo(table(figures))


def _counts(value: str) -> list[int]:
    """``--sizes 1000,10000`` as numbers, or a usage error naming what is wrong."""
    parts = [part.strip() for part in value.split(",")]
    if not all(part.isdigit() and int(part) > 0 for part in parts):
        raise click.BadParameter(f"{value!r}: expected positive whole numbers separated by commas, e.g. 1000,10000")
    return [int(part) for part in parts]


@cli.command()
@click.option("--kills", default=20, show_default=True, type=click.IntRange(min=0), help="Loads to kill.")
@click.option("--documents", default=100, show_default=True, type=click.IntRange(min=0), help="Mutated documents.")
@click.option("--requests", default=100, show_default=True, type=click.IntRange(min=0), help="Mutated requests.")
@click.option(
    "--big-file-mb", default=50.0, show_default=True, type=click.FloatRange(min=0), help="One-line file size (0: skip)."
)
@click.option("--seed", default=16, show_default=True, help="Seed of the random mutations and kill moments.")
def reliability(kills: int, documents: int, requests: int, big_file_mb: float, seed: int) -> None:
    """Try broken and hostile input on every command, kill loads at random moments, load a large
    one-line file, and print what became of each (see README, Reliability); exit 1 on any failure."""
    from kb.reliability import report

    text, problems = report(cli, METADATA, kills, documents, requests, big_file_mb, seed)
    click.echo(text)
    for problem in problems:
        click.echo(f"PROBLEM: {problem}", err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) found")

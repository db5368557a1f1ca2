"""The ``kb`` command: a thin layer over ``kb.api.KnowledgeBase``.

Each command parses its arguments, calls one API method, formats the result and maps the
project's errors to a clear message and a non-zero exit.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from functools import wraps
from pathlib import Path
from typing import Any

import click
from rich.progress import Progress

from kb.api import KnowledgeBase
from kb.diff import Diff
from kb.errors import KBError, MissingKnowledgeBase
from kb.export import EXPORTS
from kb.facts import FACTS, Request, RequestError
from kb.render import answer_text, decision_text
from kb.reports import diff_csv, diff_html, diff_markdown, diff_text, plain
from kb.site import site_metadata
from loaders.source import ReadOptions
from revisions.log import DEFAULT_RULE, RULES

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


@click.group()
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
@click.option(
    "--max-bytes", default=ReadOptions.max_bytes, show_default=True, help="Refuse a file larger than this."
)
@click.option(
    "--allow-control-characters",
    is_flag=True,
    help="Load a file holding control characters (NUL ...), each flagged as suspect, instead of refusing it.",
)
@reports_errors
def load(paths: tuple[Path, ...], db: str, rule: str, max_bytes: int, allow_control_characters: bool) -> None:
    """Load policy documents (default: the bundled CP.PHAR.359) in one transaction."""
    options = ReadOptions(max_bytes, allow_control_characters)
    with KnowledgeBase(db, rule=rule) as kb:
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
            for found in report.disagreements:
                click.echo(
                    f"  document of {found.version} disagrees with the reconstruction: {found.kind} "
                    f"{found.key}: {_summary(found.reconstructed)} -> {_summary(found.document)}"
                )


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
@DB_OPTION
@reports_errors
def diff(
    arguments: tuple[str, ...],
    every_policy: bool,
    fmt: str,
    all_changes: bool,
    no_audit: bool,
    output: Path | None,
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
            kb.diff_all(before, after, not no_audit)
            if policy is None
            else [kb.diff(policy, before, after, not no_audit)]
        )
        rendered = _render_diffs(diffs, fmt, all_changes, output, single=policy is not None)
    _write(rendered, output)


def _render_diffs(diffs: Iterable[Diff], fmt: str, everything: bool, output: Path | None, single: bool) -> str:
    """The diffs in one format; a stream of diffs (``--all``) is rendered one policy at a time."""
    if fmt == "text":
        colour = output is None and sys.stdout.isatty()

        def style(role: str, text: str) -> str:
            return click.style(text, **DIFF_COLOURS[role]) if colour and role in DIFF_COLOURS else plain(role, text)

        return "\n\n".join(diff_text(d, everything, style) for d in diffs)
    if fmt == "markdown":
        return "\n".join(diff_markdown(d, everything) for d in diffs)
    if fmt == "json":
        data = [d.to_json(everything) for d in diffs]
        return json.dumps(data[0] if single else data, indent=2, ensure_ascii=False, default=str)
    if fmt == "csv":
        return diff_csv(diffs, everything)
    return diff_html(list(diffs), everything)


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
@DB_OPTION
@reports_errors
def export(policy: str, when: str, fmt: str, output: Path | None, db: str) -> None:
    """Export the rules of POLICY in force on a date: tables (csv, json, xlsx) or the policy as it read."""
    with KnowledgeBase(db) as kb:
        answer = kb.as_of(policy, kb.resolve(policy, when))
    _write(EXPORTS[fmt](answer), output)


def _read_requests(path: Path) -> Iterator[Request]:
    """Requests from a JSON Lines file, each error naming the file and line."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                data = json.loads(line)
            except json.JSONDecodeError as error:
                raise RequestError(where, f"not JSON ({error.msg}); expected one request object per line") from error
            yield Request.from_json(data, where)


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
    """Decide a prior-authorization request (JSON) under the rules in force on its date of service."""
    with KnowledgeBase(db) as kb:
        if replay_file is not None:
            record = json.loads(replay_file.read_text(encoding="utf-8"))
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
            data = json.loads(request_file.read_text(encoding="utf-8"))
            decision = kb.evaluate(Request.from_json(data, str(request_file)), when)
            _emit(as_json, decision.to_json(), lambda: decision_text(decision))
            return
        if output is None:
            raise click.UsageError("--batch needs -o FILE")
        requests = list(_read_requests(batch))
        counts: dict[str, int] = {}
        with output.open("w", encoding="utf-8") as out, Progress(transient=True) as progress:
            task = progress.add_task(f"evaluating {len(requests)} requests", total=len(requests))
            if no_trace:
                for request, verdict, rules in kb.decide_untraced(requests):
                    counts[verdict] = counts.get(verdict, 0) + 1
                    out.write(
                        json.dumps(
                            {
                                "request_id": request.request_id,
                                "decision": verdict,
                                "version": rules.label,
                                "rules_hash": rules.rules_hash,
                            }
                        )
                        + "\n"
                    )
                    progress.advance(task)
            else:
                for request in requests:
                    decision = kb.evaluate(request, when)
                    counts[decision.decision] = counts.get(decision.decision, 0) + 1
                    out.write(json.dumps(decision.to_json(), ensure_ascii=False, default=str) + "\n")
                    progress.advance(task)
        click.echo(
            f"{len(requests)} decisions written to {output}: "
            + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        )


METADATA = Path(__file__).resolve().parents[1] / "datasette_metadata.json"


@cli.command()
@DB_OPTION
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True, type=int)
@click.option(
    "--metadata", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=METADATA, show_default=True
)
@reports_errors
def serve(db: str, host: str, port: int, metadata: Path) -> None:
    """Publish the knowledge base with Datasette, read-only (build it first with `kb load`)."""
    path = Path(db)
    if not path.is_file():
        raise MissingKnowledgeBase(db)
    metadata = site_metadata(metadata, path.stem)
    click.echo(f"serving {path} read-only at http://{host}:{port}/", err=True)
    command = ["datasette", "serve", "-i", str(path), "--metadata", str(metadata), "--host", host, "--port", str(port)]
    os.execvp(sys.executable, [sys.executable, "-m", *command])


@cli.command()
@JSON_OPTION
def facts(as_json: bool) -> None:
    """The fact vocabulary of a request: each fact's JSON type and meaning."""
    rows = {name: {"type": _type_name(kind), "meaning": meaning} for name, (kind, meaning) in FACTS.items()}
    _emit(
        as_json, rows, lambda: "\n".join(f"{name:<32} {row['type']:<8} {row['meaning']}" for name, row in rows.items())
    )


def _type_name(kind: type | tuple[type, ...]) -> str:
    return "number" if kind == (int, float) else {bool: "boolean", int: "integer", str: "string", list: "array"}[kind]


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
        changed = kb.impact(policy, before, after, _read_requests(requests_file))

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
@click.option("--runs", default=2000, show_default=True, help="Timed runs per latency figure.")
@click.option("--sizes", default="1000,10000", show_default=True, help="Synthetic knowledge-base sizes (policies).")
@click.option("--versions", default=7, show_default=True, help="Versions per synthetic policy.")
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path), help="Build the synthetic corpora here.")
def bench(quick: bool, runs: int, sizes: str, versions: int, keep: Path | None) -> None:
    """Figures for the bundled policy and a synthetic payer-scale knowledge base, each beside a
    baseline measured in the same run (see README, Performance)."""
    import tempfile

    from kb.bench import bundled_figures, scale_figures, table

    runs = 200 if quick else runs
    counts = [100] if quick else [int(size) for size in sizes.split(",")]
    figures = bundled_figures(runs)
    with tempfile.TemporaryDirectory() as scratch:
        for count in counts:
            folder = (keep or Path(scratch)) / f"synthetic-{count}x{versions}"
            figures += scale_figures(folder, count, versions, runs)
    click.echo(table(figures))

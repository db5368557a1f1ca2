"""Decisions: ``kb evaluate`` (JSON, batches, FHIR PAS Bundles and QuestionnaireResponses),
``kb facts`` and ``kb impact``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kb.surfaces.cli.base import DB_OPTION, JSON_OPTION, _emit, cli, reports_errors

if TYPE_CHECKING:
    from kb.surfaces.api import KnowledgeBase


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
    from kb.surfaces.api import KnowledgeBase
    from kb.surfaces.fhir.response import decide_response
    from kb.surfaces.render import decision_text
    from kb.surfaces.request_files import naming, parse_request, read_object, read_record

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
    from kb.surfaces.fhir import pas

    if when:
        raise click.UsageError("--as-of does not apply to a PAS request: its items carry their dates of service")
    with answers_fhir():
        click.echo(pas.answer_json(kb, data, source))


@contextmanager
def answers_fhir() -> Iterator[None]:
    """A defective FHIR payload is answered with an OperationOutcome (stdout), one line on stderr, exit 1."""
    from kb.surfaces.fhir.resources import FhirError, operation_outcome

    try:
        yield
    except FhirError as error:
        click.echo(operation_outcome(error).model_dump_json(indent=2, exclude_none=True))
        raise click.ClickException(str(error)) from None


def _decide_batch(kb: KnowledgeBase, batch: Path, output: Path, when: str | None, traced: bool) -> None:
    """Decide every good line of ``batch``, write one record per line (a decision or the line's
    error) to ``output``, print the counts; exit 1 when a line was refused."""
    from rich.progress import Progress

    from kb.surfaces.request_files import read_batch

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


@cli.command()
@click.argument("name", required=False)
@JSON_OPTION
def facts(name: str | None, as_json: bool) -> None:
    """The fact vocabulary of a request: each fact's type, meaning, and the values and code
    systems it accepts (NAME: one fact, with every concept it knows)."""
    from kb.concepts.facts import fact_vocabulary

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
    from kb.surfaces.api import KnowledgeBase
    from kb.surfaces.request_files import read_requests

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

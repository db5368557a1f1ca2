"""Reading the history: ``kb show``, ``asof``, ``versions``, ``diff``, ``export`` and ``audit``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kb.surfaces.cli.base import DB_OPTION, JSON_OPTION, _emit, cli, reports_errors

EXPORT_FORMATS = ("csv", "html", "json", "markdown", "questionnaire", "xlsx")
"""The keys of ``kb.surfaces.export.EXPORTS`` (a test keeps them equal), named here so that the
option's choices do not import the exports and openpyxl."""


@cli.command()
@click.argument("policy")
@DB_OPTION
@JSON_OPTION
@reports_errors
def show(policy: str, db: str, as_json: bool) -> None:
    """Print a policy as its newest version reads: criteria tree, durations, codes, references."""
    from kb.surfaces.api import KnowledgeBase
    from kb.surfaces.render import answer_text

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
    from kb.surfaces.api import KnowledgeBase
    from kb.surfaces.render import answer_text

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
    from kb.surfaces.api import KnowledgeBase

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


DIFF_FORMATS = ("text", "markdown", "json", "csv", "html", "xlsx")


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
    from kb.surfaces.api import KnowledgeBase
    from kb.surfaces.export import diff_xlsx
    from kb.surfaces.reports import diff_table, plain, render_diffs

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

        if fmt == "xlsx":
            rendered: str | bytes = diff_xlsx(diff_table(diffs, all_changes))
        else:
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
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file.")
@click.option("--known-at", help="Export as the knowledge base knew it at this ISO timestamp.")
@DB_OPTION
@reports_errors
def export(policy: str, when: str, fmt: str, output: Path | None, known_at: str | None, db: str) -> None:
    """Export the rules of POLICY in force on a date: tables (csv, json, xlsx) or the policy as it
    read; every format states the effective-date rule, the rule-dependent windows, the
    knowledge time and when it was generated."""
    from kb.surfaces.api import KnowledgeBase
    from kb.surfaces.export import EXPORTS

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
    from kb.store.load import BUNDLED_CHANGES
    from kb.surfaces.api import KnowledgeBase
    from kb.surfaces.reports import history_text, mutation_text

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

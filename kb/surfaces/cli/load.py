"""``kb load`` and ``kb policies``: documents into the knowledge base, and what it holds."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kb.surfaces.cli.base import CHANGES_OPTION, DB_OPTION, JSON_OPTION, _emit, cli, counted, reports_errors
from loaders.source import ReadOptions
from revisions.log import DEFAULT_RULE, RULES

if TYPE_CHECKING:
    from kb.predicates.decidable import Blocked


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
    changes: Path | None,
    wait: float,
) -> None:
    """Load policy documents (default: the bundled CP.PHAR.359) in one transaction."""
    from kb.store.load import BUNDLED_CHANGES
    from kb.surfaces.api import KnowledgeBase

    options = ReadOptions(max_bytes, allow_control_characters)
    with KnowledgeBase(db, changes=changes or BUNDLED_CHANGES, rule=rule, wait=wait) as kb:
        for report in kb.load(paths or None, options=options):
            state = "loaded" if report.changed else "unchanged (already loaded; nothing written)"
            click.echo(f"{report.policy_id}: {state} from {report.source}")
            click.echo(
                f"  {counted(report.versions, 'version')}; rows added {report.rows_added}, superseded {report.rows_superseded}"
            )
            if report.unprinted_log_rows:
                click.echo(
                    f"  {report.unprinted_log_rows} revision-log rows no longer printed by the newest document,"
                    " kept from an older one"
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
            for line in report.suspect_report():
                click.echo(f"  {line}")
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
        click.echo(blocked_text(kb.needs_reviewer()))


def blocked_text(found: list[Blocked]) -> str:
    """The indications no request can meet without clinical review, each with its reviews."""
    lines = [f"indications that cannot be approved without clinical review (newest versions): {len(found)}"]
    for item in found:
        lines.append(f"  {item.policy_id} {item.item_id} {item.text}")
        lines += [f"    {where}: {reason}" for where, reason in item.reviews]
    return "\n".join(lines)


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
    from kb.surfaces.api import KnowledgeBase

    with KnowledgeBase(db) as kb:
        rows = kb.policies()
    _emit(
        as_json,
        rows,
        lambda: "\n".join(
            f"{row['policy_id']}\t{row['title']}\t{counted(row['versions'], 'version')} from {row['earliest_vouched']}"
            for row in rows
        ),
    )

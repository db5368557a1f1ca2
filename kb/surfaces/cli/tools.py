"""``kb serve`` (the Datasette site) and the measuring commands ``kb bench`` and ``kb reliability``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from kb.errors import MissingKnowledgeBase
from kb.surfaces.cli.base import DB_OPTION, cli, reports_errors


@cli.command()
@DB_OPTION
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--metadata",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    show_default="the project's datasette_metadata.json",
)
@reports_errors
def serve(db: str, host: str, port: int, metadata: Path | None) -> None:
    """Publish the knowledge base with Datasette, read-only (build it first with `kb load`)."""
    from kb.store.staging import check_database
    from kb.surfaces.request_files import read_object
    from kb.surfaces.site import site_metadata
    from kb.surfaces.site.auth import status
    from kb.surfaces.site.queries import METADATA

    path = Path(db)
    if not path.is_file():
        raise MissingKnowledgeBase(db)
    check_database(path)
    metadata = metadata or METADATA
    read_object(metadata, "Datasette metadata (a JSON object)")
    metadata = site_metadata(metadata, path.stem)
    click.echo(f"serving {path} read-only at http://{host}:{port}/", err=True)
    click.echo(f"CDS Hooks services: {status()}", err=True)
    command = ["datasette", "serve", "-i", str(path), "--metadata", str(metadata), "--host", host, "--port", str(port)]
    os.execvp(sys.executable, [sys.executable, "-m", *command])


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
@click.option(
    "--latency", "latency_only", is_flag=True, help="Only what a person waits on: each command as a fresh process, 5 runs (kb bench includes it)."
)
def bench(quick: bool, runs: int, sizes: list[int], versions: int, keep: Path | None, latency_only: bool) -> None:
    """Figures for the bundled policy and a synthetic payer-scale knowledge base, each beside a
    baseline measured in the same run (see README, Performance)."""
    import tempfile

    from kb.bench.corpus import corpus_figures
    from kb.bench.harness import bundled_figures, scale_figures, table
    from kb.bench.latency import cli_figures

    with tempfile.TemporaryDirectory() as scratch:
        figures = cli_figures(Path(scratch), runs=5) if latency_only or not quick else []
        if latency_only:
            click.echo(table(figures))
            return
        runs = 200 if quick else runs
        counts = [100] if quick else sizes
        figures += bundled_figures(runs) + corpus_figures(max(runs * 10, 2000))
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
@click.option("--fhir", default=500, show_default=True, type=click.IntRange(min=0), help="Mutated FHIR payloads.")
@click.option(
    "--long-line", default=200_000, show_default=True, type=click.IntRange(min=0), help="Long line length (0: skip)."
)
@click.option("--seed", default=16, show_default=True, help="Seed of the random mutations and kill moments.")
def reliability(
    kills: int, documents: int, requests: int, big_file_mb: float, fhir: int, long_line: int, seed: int
) -> None:
    """Try broken and hostile input on every command and FHIR flow, kill loads at random moments,
    load very long lines and a large one-line file, and print what became of each (see README,
    Reliability); exit 1 on any failure."""
    from kb.reliability import Sizes, report
    from kb.surfaces.site.queries import METADATA

    sizes = Sizes(kills, documents, requests, big_file_mb, fhir, long_line)
    text, problems = report(cli, METADATA, sizes, seed)
    click.echo(text)
    for problem in problems:
        click.echo(f"PROBLEM: {problem}", err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) found")

"""The ``kb`` group and what every command shares: its options, JSON or text output, and errors
turned into a one-line message and exit 1 (never a traceback).

Start-up is what a person waits on: the command modules import the API, the loaders and the
surfaces inside each command, and option defaults and choices are light constants, so that
``kb --help`` loads click and little else (``kb bench --latency`` measures it)."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from kb.errors import KBError

CHANGES_OPTION = click.option(
    "--changes",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
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


def counted(count: int, noun: str) -> str:
    """``count`` with its noun in the number it takes: "1 version", "6 versions"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"

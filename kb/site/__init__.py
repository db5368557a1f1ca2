"""The Datasette plugin: the criteria tree indented, sources marked, diff and policy pages, and a
clear message where a canned query's date is missing or malformed.

Registered through the ``datasette`` entry point; every page is read-only and opens the
knowledge base immutable.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from datasette import hookimpl
from datasette.utils.asgi import Response
from markupsafe import Markup, escape

from kb.api import KnowledgeBase
from kb.errors import KBError
from kb.export import export_html
from kb.reports import diff_html

DATE_PARAMETERS = ("as_of", "from", "to")
SOURCE_COLOURS = {"log": "#fff6d6", "copy-11.23": "#e8f0fe", "unknown": "#fde2e2"}


def parameter_problems(sql: str, args: dict[str, str]) -> list[str]:
    """What is wrong with a canned query's policy and date parameters, in words."""
    problems = []
    if ":policy" in sql and not args.get("policy", "").strip():
        problems.append("Enter a policy reference number in the policy field, e.g. CP.PHAR.359.")
    for name in DATE_PARAMETERS:
        if f":{name}" not in sql:
            continue
        value = args.get(name, "").strip()
        if not value:
            problems.append(f"Enter a date in the {name} field, as YYYY-MM-DD (e.g. 2024-08-01).")
        elif not _is_date(value):
            problems.append(f"{name} {value!r} is not a date: expected YYYY-MM-DD (e.g. 2024-08-01).")
    return problems


def _is_date(value: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


@hookimpl
def extra_template_vars(
    template: str, database: str | None, view_name: str, request: Any, datasette: Any
) -> dict[str, Any]:
    if not template.startswith("query") or request is None or database is None:
        return {}
    name = request.url_vars.get("table")
    query = (datasette.metadata("queries", database=database) or {}).get(name) if name else None
    if not query:
        return {}
    return {"kb_problems": parameter_problems(query["sql"], dict(request.args))}


LOGIC_WORDS = re.compile(
    r"\((?:must meet [^)]*)\)|\b(?:one|both|all|any) of the following(?: \([^)]*\))?", re.IGNORECASE
)


@hookimpl
def render_cell(row: Any, value: Any, column: str, table: str | None, database: str, datasette: Any) -> Markup | None:
    """Criteria indented by depth with their logic words marked; reconstructed sources marked; links."""
    if column == "criterion" and "depth" in row.keys():  # noqa: SIM118 (on a sqlite3.Row `in` looks at values)
        text = LOGIC_WORDS.sub(
            lambda match: f'<span class="kb-logic" style="font-style:italic;color:#1d4ed8">{match.group(0)}</span>',
            str(escape(value)),
        )
        return Markup(f'<div style="padding-left:{(row["depth"] or 0) * 1.6:.1f}em">{text}</div>')
    if column == "source" and isinstance(value, str) and value.split(" ")[0] in SOURCE_COLOURS:
        return Markup(
            f'<span class="kb-source" style="background:{SOURCE_COLOURS[value.split(" ")[0]]};padding:0 .3em;'
            f'border-radius:3px" title="not read from a document: reconstructed or unknown">{escape(value)}</span>'
        )
    if isinstance(value, str) and value.startswith("/-/kb/"):
        return Markup(f'<a href="{escape(value)}">{escape(column.replace("_", " "))}</a>')
    return None


def site_metadata(metadata: Path, database: str) -> Path:
    """The metadata file for a database named ``database``: as is for "kb", else a copy under that name."""
    if database == "kb":
        return metadata
    data = json.loads(metadata.read_text(encoding="utf-8"))
    data["databases"] = {database: data["databases"]["kb"]}
    copy = Path(tempfile.mkdtemp(prefix="kb-site-")) / "datasette_metadata.json"
    copy.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return copy


def _knowledge_base(datasette: Any) -> KnowledgeBase:
    return KnowledgeBase(datasette.get_database().path, read_only=True)


def _page(body: str, status: int = 200) -> Response:
    return Response.html(body, status=status)


def _problem(message: str) -> Response:
    return _page(
        f"<!DOCTYPE html><title>policy-as-data</title><p><strong>{escape(message)}</strong></p>"
        '<p><a href="/">back to the knowledge base</a></p>',
        status=400,
    )


async def _page_of(
    datasette: Any, request: Any, parameters: str, render: Callable[[KnowledgeBase, dict[str, str]], str]
) -> Response:
    """A plugin page: its parameters checked, then rendered from the knowledge base, or the problem."""
    args = dict(request.args)
    problems = parameter_problems(parameters, args)
    if problems:
        return _problem(" ".join(problems))
    with _knowledge_base(datasette) as kb:
        try:
            return _page(render(kb, args))
        except KBError as error:
            return _problem(str(error))


async def diff_page(datasette: Any, request: Any) -> Response:
    """/-/kb/diff?policy=P&from=D&to=D: the html redline of the diff issue."""
    return await _page_of(
        datasette, request, ":policy :from :to", lambda kb, a: diff_html([kb.diff(a["policy"], a["from"], a["to"])])
    )


async def policy_page(datasette: Any, request: Any) -> Response:
    """/-/kb/policy?policy=P&as_of=D: the whole policy as it read, reconstructed parts marked."""
    return await _page_of(
        datasette, request, ":policy :as_of", lambda kb, a: export_html(kb.as_of(a["policy"], a["as_of"]))
    )


@hookimpl
def register_routes() -> list[tuple[str, Any]]:
    return [(r"^/-/kb/diff$", diff_page), (r"^/-/kb/policy$", policy_page)]

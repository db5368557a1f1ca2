"""An Atom feed of any query returning ``atom_id``, ``atom_title`` and ``atom_updated`` columns
(``atom_content`` and ``atom_link`` optional), at the query's address with ``.atom``.

The column names follow datasette-atom; that plugin (0.9) answers an empty result with an
error (it takes the ``max()`` of no dates), so a span without changes could not be subscribed
to. Here an empty result is an empty feed whose subtitle says why, links are made absolute (on
the server's own address, not the request's Host header), and every text is escaped by the XML
writer, with the characters XML does not allow shown as their control pictures. The
recent-changes feed asked for without a span (``/kb/recent_changes.atom``) holds the latest
changes up to today, so a subscription sees new ones.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any
from xml.etree import ElementTree

from datasette import hookimpl
from datasette.utils.asgi import Response

from kb.surfaces.site.checks import request_args
from kb.surfaces.site.pages import knowledge_base, query_checked
from kb.surfaces.site.queries import recent_changes_sql

ATOM = "http://www.w3.org/2005/Atom"
REQUIRED = {"atom_id", "atom_title", "atom_updated"}
LATEST = 50
"""Entries of the recent-changes feed asked for without a span."""


NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
"""Characters XML 1.0 does not allow in a document (a feed holding one is not well-formed)."""


def xml_text(text: str) -> str:
    """Text an XML document can hold: a control character (a document loaded with
    --allow-control-characters) shown as its Unicode control picture (U+001B as ␛), U+FFFE and U+FFFF as U+FFFD."""
    return NOT_XML.sub(lambda m: chr(0x2400 + ord(m[0])) if m[0] < " " else "\ufffd", text)


def _add(parent: ElementTree.Element, tag: str, text: str | None = None, **attributes: str) -> ElementTree.Element:
    element = ElementTree.SubElement(parent, tag, {key: xml_text(value) for key, value in attributes.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


def site_base(datasette: Any, request: Any) -> str:
    """The address the feed's links start with: the plugin setting ``public_url`` where the site
    is published under another name, else the address the server listens on; never the request's
    Host header, which any client may set."""
    configured = (datasette.plugin_config("policy_as_data") or {}).get("public_url")
    if configured:
        return str(configured).rstrip("/")
    host, port = request.scope.get("server") or ("localhost", None)
    default = {"http": 80, "https": 443}.get(request.scheme)
    return f"{request.scheme}://{host}" + (f":{port}" if port and port != default else "")


def atom(title: str, self_url: str, base: str, rows: list[dict[str, Any]], subtitle: str) -> bytes:
    """The feed document: one entry per row, newest first as the rows come."""
    feed = ElementTree.Element("feed", {"xmlns": ATOM})
    _add(feed, "id", self_url)
    _add(feed, "title", title)
    _add(feed, "subtitle", subtitle)
    _add(feed, "link", rel="self", href=self_url)
    updated = max((str(row["atom_updated"]) for row in rows), default=datetime.now(UTC).isoformat(timespec="seconds"))
    _add(feed, "updated", updated)
    _add(_add(feed, "author"), "name", "policy-as-data")
    for row in rows:
        entry = _add(feed, "entry")
        _add(entry, "id", str(row["atom_id"]))
        _add(entry, "title", str(row["atom_title"]))
        _add(entry, "updated", str(row["atom_updated"]))
        if row.get("atom_link"):
            link = str(row["atom_link"])
            _add(entry, "link", href=base + link if link.startswith("/") else link)
        if row.get("atom_content"):
            _add(entry, "content", str(row["atom_content"]), type="text")
    return ElementTree.tostring(feed, encoding="utf-8", xml_declaration=True)


def latest_changes(datasette: Any) -> tuple[list[str], list[Any]]:
    """The ``LATEST`` newest rows of the recent-changes query up to today: a feed that follows new changes."""
    sql = f"{recent_changes_sql()} LIMIT {LATEST}"
    with knowledge_base(datasette) as kb:
        cursor = kb.connection.execute(sql, {"from": "0001-01-01", "to": date.today().isoformat()})
        return [column[0] for column in cursor.description], [tuple(row) for row in cursor.fetchall()]


async def render_atom(
    datasette: Any, request: Any, columns: list[str], rows: list[Any], database: str, query_name: str | None
) -> Response:
    """The ``.atom`` rendering of a query result."""
    queries = datasette.metadata("queries", database=database) or {}
    title = (queries.get(query_name) or {}).get("title") or query_name or database
    args = {key: value for key, value in request_args(request).items() if not key.startswith("_")}
    span = ", ".join(f"{key} {value}" for key, value in args.items())
    if query_name == "recent_changes" and not args:
        columns, rows = latest_changes(datasette)
        title, span = f"{title}: the latest {LATEST}", ""
        subtitle = f"The {len(rows)} latest changes up to today, newest first; new changes appear as they take effect."
    else:
        checked = query_checked(datasette, database, query_name, args)
        problems = " ".join(checked.problems) if checked else ""
        subtitle = f"{len(rows)} entries ({span})" if rows else f"No entries ({span or 'no span given'}). {problems}"
    base = site_base(datasette, request)
    self_url = base + request.path + (f"?{request.query_string}" if request.query_string else "")
    body = atom(
        f"{title} ({span})" if span else title, self_url, base, [dict(zip(columns, r)) for r in rows], subtitle.strip()
    )
    return Response(body, content_type="application/atom+xml; charset=utf-8")


@hookimpl
def register_output_renderer(datasette: Any) -> dict[str, Any]:
    return {"extension": "atom", "render": render_atom, "can_render": lambda columns: set(columns) >= REQUIRED}

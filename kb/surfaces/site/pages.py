"""The plugin's pages: home, a policy as it read, a diff, a document's coverage; and the notes,
problems and links above every canned query.

Each page checks its parameters first (``kb.surfaces.site.checks``) and says what is wrong on the page;
every page carries the site header (``templates/base.html``) and the links of ``navigation``.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from datasette import hookimpl
from datasette.utils.asgi import Response
from markupsafe import Markup

from kb.errors import KBError
from kb.surfaces.api import KnowledgeBase
from kb.surfaces.fhir.questionnaire import questionnaire, readable
from kb.surfaces.reports import diff_html
from kb.surfaces.site.cds import ROUTES as CDS_ROUTES
from kb.surfaces.site.checks import Checked, check, parameters_of, request_args
from kb.surfaces.site.coverage import documents
from kb.surfaces.site.home import overview
from kb.surfaces.site.labels import column_label, page_title, parameter_label
from kb.surfaces.site.navigation import (
    diff_links,
    diff_url,
    in_force,
    picker,
    policy_links,
    policy_url,
    questionnaire_url,
    recent_spans,
    url,
    version_links,
)
from kb.surfaces.site.reading import layout
from kb.surfaces.site.search import LIMIT as SEARCH_LIMIT
from kb.surfaces.site.search import search


def knowledge_base(datasette: Any) -> KnowledgeBase:
    return KnowledgeBase(datasette.get_database().path, read_only=True)


async def _render(datasette: Any, request: Any, template: str, context: dict[str, Any], status: int = 200) -> Response:
    return Response.html(await datasette.render_template(template, context, request=request), status=status)


async def home_page(datasette: Any, request: Any) -> Response:
    """/ : every policy with its current version, Last Review, next review and latest change."""
    database = datasette.get_database().name
    with knowledge_base(datasette) as kb:
        context = overview(kb, database, date.today())
    context.update(page_title="Clinical drug policies", spans=recent_spans(database, date.today()))
    return await _render(datasette, request, "kb_home.html", context)


async def policy_page(datasette: Any, request: Any) -> Response:
    """/-/kb/policy?policy=P&as_of=D (a date or a version label): the policy as it read."""
    database = datasette.get_database().name
    args = request_args(request)
    with knowledge_base(datasette) as kb:
        checked = check(kb, {"policy", "as_of", "known_at"}, args)
        context: dict[str, Any] = {"page_title": f"{args.get('policy', '')} as it read on {args.get('as_of', '')}"}
        if checked.policy:
            versions = kb.versions(checked.policy)
            context["picker"] = picker("/-/kb/policy", checked.policy, {"as_of": args.get("as_of", "")}, versions)
            context["policy"] = dict(
                kb.connection.execute("SELECT * FROM policy WHERE policy_id = ?", (checked.policy,)).fetchone()
            )
            index = in_force(versions, checked.days["as_of"]) if "as_of" in checked.days else None
            context["links"] = (
                version_links(database, checked.policy, versions, index)
                if index is not None
                else [
                    *policy_links(database, checked.policy),
                    (
                        f"{versions[0]['label']}, the first version, as it read",
                        policy_url(checked.policy, versions[0]["label"]),
                    ),
                ]
            )
        if checked.ok:
            answer = kb.as_of(checked.policy, checked.days["as_of"], checked.known_at)
            context.update(answer=answer, view=layout(answer))
    context.update(problems=checked.problems, notes=checked.notes)
    return await _render(datasette, request, "kb_policy.html", context, 200 if checked.ok else 400)


async def questionnaire_page(datasette: Any, request: Any) -> Response:
    """/-/kb/questionnaire?policy=P&as_of=D (a date or a version label): the criteria in force as a
    FHIR R4 Questionnaire (Da Vinci DTR), readable; ``&format=json`` downloads the JSON."""
    database = datasette.get_database().name
    args = request_args(request)
    title = f"{args.get('policy', '')} questionnaire (FHIR DTR) for {args.get('as_of', '')}"
    context: dict[str, Any] = {"page_title": title}
    with knowledge_base(datasette) as kb:
        checked = check(kb, {"policy", "as_of", "known_at"}, args)
        if checked.ok:
            form = questionnaire(kb.as_of(checked.policy, checked.days["as_of"], checked.known_at))
            if args.get("format") == "json":
                return Response(
                    form.model_dump_json(indent=2, exclude_none=True),
                    content_type="application/fhir+json; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{form.name}.json"'},
                )
            context.update(form=readable(form), json_url=questionnaire_url(checked.policy, args["as_of"], "json"))
            context["links"] = [
                *policy_links(database, checked.policy),
                (f"{form.version} as it read", policy_url(checked.policy, form.version)),
            ]
        elif checked.policy:
            context["links"] = policy_links(database, checked.policy)
    context.update(problems=checked.problems, notes=checked.notes)
    return await _render(datasette, request, "kb_questionnaire.html", context, 200 if checked.ok else 400)


BODY = re.compile(r"<body[^>]*>(.*)</body>", re.DOTALL)
STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)


def embedded(page: str) -> tuple[Markup, Markup]:
    """The style (without its ``body`` rule) and the body of a standalone page ``kb.surfaces.reports`` rendered.

    Its template escaped every policy text already: the markup is kept, the text stays escaped.
    """
    body = BODY.search(page)
    style = STYLE.search(page)
    rules = "\n".join(
        line for line in (style.group(1) if style else "").splitlines() if not line.strip().startswith("body")
    )
    return Markup(rules), Markup(body.group(1) if body else page)


async def diff_page(datasette: Any, request: Any) -> Response:
    """/-/kb/diff?policy=P&from=D&to=D (dates or version labels): the redline, with its neighbours."""
    database = datasette.get_database().name
    args = request_args(request)
    title = f"{args.get('policy', '')}: what changed from {args.get('from', '')} to {args.get('to', '')}"
    context: dict[str, Any] = {"page_title": title}
    with knowledge_base(datasette) as kb:
        checked = check(kb, {"policy", "from", "to"}, args, reversed_ok=True)
        if checked.ok:
            days = (checked.days["from"], checked.days["to"])
            diff = kb.diff(checked.policy, *days)
            for side in (diff.before, diff.after):
                if not side.covered:
                    checked.notes.append(f"{side.as_of} is not covered: {side.reason}.")
            context["diff_style"], context["diff_body"] = embedded(diff_html([diff]))
            context["links"] = diff_links(database, checked.policy, kb.versions(checked.policy), days)
        elif checked.policy:
            context["links"] = policy_links(database, checked.policy)
        if checked.policy:
            span = {"from": args.get("from", ""), "to": args.get("to", "")}
            context["picker"] = picker("/-/kb/diff", checked.policy, span, kb.versions(checked.policy))
    context.update(problems=checked.problems, notes=checked.notes)
    return await _render(datasette, request, "kb_diff.html", context, 200 if checked.ok else 400)


async def coverage_page(datasette: Any, request: Any) -> Response:
    """/-/kb/coverage?policy=P: each loaded document's parsed, boilerplate, unparsed and suspect text."""
    database = datasette.get_database().name
    args = request_args(request)
    if not args.get("policy", "").strip():
        with knowledge_base(datasette) as kb:
            choices = kb.connection.execute("SELECT policy_id, title FROM policy ORDER BY policy_id").fetchall()
        context = {"page_title": "Document coverage: choose a policy", "choices": [tuple(c) for c in choices]}
        return await _render(datasette, request, "kb_coverage.html", context)
    context: dict[str, Any] = {"page_title": f"Coverage of the documents of {args.get('policy', '')}"}
    with knowledge_base(datasette) as kb:
        checked = check(kb, {"policy"}, args)
        if checked.policy:
            context["documents"] = documents(kb, checked.policy)
            current = kb.versions(checked.policy)[-1]["label"]
            context["links"] = [
                *policy_links(database, checked.policy),
                (f"{current} as it read", policy_url(checked.policy, current)),
                ("Suspect passages of every policy", f"/{database}/suspect_passages"),
            ]
    context.update(problems=checked.problems, notes=checked.notes)
    return await _render(datasette, request, "kb_coverage.html", context, 200 if checked.ok else 400)


async def search_page(datasette: Any, request: Any) -> Response:
    """/-/kb/search?q=TEXT: every passage holding each word typed, with its place and versions."""
    query = request.args.get("q", "").strip()
    with knowledge_base(datasette) as kb:
        hits = search(kb, query)
    title = f"Search: {query}" if query else "Search the text of every policy and version"
    context = {"page_title": title, "q": query, "hits": hits, "limit": SEARCH_LIMIT}
    return await _render(datasette, request, "kb_search.html", context)


def newest_change(kb: KnowledgeBase, today: date) -> dict[str, Any] | None:
    """The revision of any policy that took effect last, on or before ``today``."""
    row = kb.connection.execute(
        "SELECT policy_id, label, effective_date FROM revision WHERE superseded_at IS NULL AND effective_date <= ?"
        " ORDER BY effective_date DESC, policy_id LIMIT 1",
        (today.isoformat(),),
    ).fetchone()
    return dict(row) if row else None


def newest_change_note(kb: KnowledgeBase, today: date) -> str:
    """Where the newest change stands, for a span that may hold none."""
    newest = newest_change(kb, today)
    if newest is None:
        return "No revision of any policy has taken effect yet."
    return (
        f"The newest change in the knowledge base took effect on {newest['effective_date']} "
        f"({newest['policy_id']} {newest['label']})."
    )


async def recent_page(datasette: Any, request: Any) -> Response:
    """/-/kb/recent: the recent-changes query over the 12 months up to today, or, where none took
    effect in them, from 12 months before the newest change up to today."""
    today = date.today()
    with knowledge_base(datasette) as kb:
        newest = newest_change(kb, today)
    start = today - timedelta(days=365)
    if newest and date.fromisoformat(newest["effective_date"]) < start:
        start = date.fromisoformat(newest["effective_date"]) - timedelta(days=365)
    span = {"from": start.isoformat(), "to": today.isoformat()}
    return Response.redirect(url(f"/{datasette.get_database().name}/recent_changes", **span))


async def timeline_page(datasette: Any, request: Any) -> Response:
    """/-/kb/timeline?policy=P: the version timeline query of a policy."""
    policy = request.args.get("policy", "")
    return Response.redirect(url(f"/{datasette.get_database().name}/version_timeline", policy=policy))


@hookimpl
def register_routes() -> list[tuple[str, Any]]:
    return [
        (r"^/$", home_page),
        (r"^/-/kb/policy$", policy_page),
        (r"^/-/kb/diff$", diff_page),
        (r"^/-/kb/coverage$", coverage_page),
        (r"^/-/kb/questionnaire$", questionnaire_page),
        (r"^/-/kb/search$", search_page),
        (r"^/-/kb/recent$", recent_page),
        (r"^/-/kb/timeline$", timeline_page),
        *CDS_ROUTES,
    ]


def query_links(name: str, database: str, checked: Checked, args: dict[str, str]) -> list[tuple[str, str]]:
    """Links above a canned query: the span's diff and timeline, or the feed and other spans."""
    if name == "changes_between" and checked.ok:
        return [
            ("The whole span as one diff", diff_url(checked.policy or "", args["from"], args["to"])),
            *policy_links(database, checked.policy or ""),
        ]
    if name == "recent_changes":
        feed = [("Atom feed of these rows", url(f"/{database}/recent_changes.atom", **args))] if checked.ok else []
        latest = [("Atom feed of the latest changes (follows new ones)", f"/{database}/recent_changes.atom")]
        return feed + latest + recent_spans(database, date.today())
    if checked.policy and name != "version_timeline":
        return policy_links(database, checked.policy)
    return []


def query_checked(datasette: Any, database: str, name: str | None, args: dict[str, str]) -> Checked | None:
    """The check of a canned query's parameters; None for a page that is not a canned query."""
    query = (datasette.metadata("queries", database=database) or {}).get(name) if name else None
    if not query:
        return None
    with knowledge_base(datasette) as kb:
        try:
            return check(kb, parameters_of(query["sql"]), args)
        except KBError as error:
            return Checked(problems=[str(error)])


@hookimpl
def extra_template_vars(template: str, database: str | None, request: Any, datasette: Any) -> dict[str, Any]:
    """Problems, notes and links for a canned query page, from its parameters."""
    if not template.startswith("query") or request is None or database is None:
        return {}
    name = request.url_vars.get("table")
    args = request_args(request)
    checked = query_checked(datasette, database, name, args)
    if checked is None:
        return {}
    query = datasette.metadata("queries", database=database)[name]
    asked = {k: v for k, v in args.items() if not k.startswith("_")}
    if name == "recent_changes":
        with knowledge_base(datasette) as kb:
            checked.notes.append(newest_change_note(kb, date.today()))
    return {
        "kb_problems": checked.problems,
        "kb_notes": checked.notes,
        "kb_links": query_links(name, database, checked, asked),
        "kb_title": page_title(query.get("title") or name, asked),
        "kb_column_label": column_label,
        "kb_parameter_label": parameter_label,
    }

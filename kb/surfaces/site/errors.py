"""No 500 for a bad request, and no write of any kind.

Datasette 0.65 answers 500 to a few bad requests (``_sort=bad``, ``_timelimit=bad``,
``_through=bad``) and to POSTs on tables and canned queries, and its default exception handler
prints a ~200-line traceback for every error, a 404 included. Here a request other than GET or
HEAD is refused with 405 before Datasette sees it (the site is read-only; the one exception is a
POST to a CDS service, ``kb.surfaces.site.cds``, which writes nothing either), and the errors a
request causes (Datasette's 4xx, and the ``DatasetteError`` / ``ValueError`` the parsing of
its ``_`` parameters raises) are answered 4xx with the message and one log line. Anything else is left to
Datasette: a real fault still answers 500, with its traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Any

from datasette import hookimpl
from datasette.utils.asgi import Base400, Response
from datasette.views.base import DatasetteError

from kb.surfaces.site.cds import cds_post
from kb.surfaces.site.published import follow_published

READING = ("GET", "HEAD")


def request_fault(exception: BaseException, datasette_parameters: list[str]) -> tuple[int, str, str] | None:
    """``(status, title, message)`` when the request caused the error; None for a fault of the site.

    A ``ValueError`` counts as the request's only where it carries Datasette's own (``_``) parameters,
    whose parsing raises it (``_timelimit=bad``, ``_through=bad``)."""
    if isinstance(exception, Base400):
        return exception.status, "", str(exception.args[0] if exception.args else exception)
    if isinstance(exception, DatasetteError):
        status = 400 if exception.status >= 500 else exception.status
        return status, exception.title or "", str(exception.message)
    if isinstance(exception, ValueError) and datasette_parameters:
        names = ", ".join(datasette_parameters)
        return 400, "Bad request", f"a parameter could not be read ({names}): {exception}"
    return None


@hookimpl(wrapper=True)
def handle_exception(datasette: Any, request: Any, exception: BaseException) -> Any:
    """Answer a request's own error 4xx, without Datasette's traceback; leave real faults alone."""
    responses = yield
    fault = request_fault(exception, [name for name in request.args if name.startswith("_")])
    if fault is None:
        return responses
    status, title, message = fault
    print(f"{status} {request.method} {request.path}?{request.query_string}: {message}", file=sys.stderr)

    async def answer() -> Response:
        if request.path.endswith(".json"):
            return Response.json({"ok": False, "error": message, "status": status, "title": title}, status=status)
        context = {"ok": False, "error": message, "status": status, "title": title}
        return Response.html(await datasette.render_template("error.html", context, request=request), status=status)

    return [answer]


@hookimpl
def asgi_wrapper(datasette: Any) -> Callable[[Any], Any]:
    """Refuse every method but GET and HEAD (and the CDS service POSTs, which write nothing);
    serve the file ``kb load`` published last (``kb.surfaces.site.published``)."""

    def wrap(app: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        async def read_only(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] == "http" and scope["method"] not in READING and not cds_post(scope):
                refusal = Response.text(
                    f"This site is read-only: {scope['method']} {scope['path']} is refused (it answers GET only).\n",
                    status=405,
                    headers={"Allow": ", ".join(READING)},
                )
                await refusal.asgi_send(send)
                return
            follow_published(datasette)
            await app(scope, receive, send)

        return read_only

    return wrap

"""The CDS Hooks service of Da Vinci CRD on the site (``kb.surfaces.fhir.crd``).

``GET /cds-services`` is the discovery document; ``POST /cds-services/<id>`` answers a hook
request with cards and systemActions, or HTTP 400 with a JSON error naming the defect (401 when
client authentication is configured and the caller's JWT does not verify: ``kb.surfaces.site.auth``). These
POSTs are the only writes-shaped requests the site lets through (``cds_post``): the read-only
wrapper passes them, and Datasette's CSRF check skips them (an EHR posts JSON, with no form
token); every other POST is still refused. Nothing is written: the knowledge base is opened
read-only. A body over ``body_limit`` is answered 413 unread, one of another media type 415,
and the request is decided in a worker thread: the event loop goes on serving the site.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from datetime import date
from typing import Any

from datasette import hookimpl
from datasette.utils.asgi import Response

from kb.errors import KBError
from kb.surfaces.api import KnowledgeBase
from kb.surfaces.fhir.crd import HookError, answer, discovery
from kb.surfaces.request_files import JsonNumberError, json_value
from kb.surfaces.site.auth import Unauthenticated, configured, status

SERVICE_PATH = re.compile(r"^/cds-services/[A-Za-z0-9._-]+$")


def cds_post(scope: dict[str, Any]) -> bool:
    """Is this a POST to a CDS service (the one POST the site answers)?"""
    return scope.get("type") == "http" and scope.get("method") == "POST" and bool(SERVICE_PATH.match(scope["path"]))


@hookimpl
def skip_csrf(datasette: Any, scope: dict[str, Any]) -> bool:
    """Exempt from the CSRF check the CDS service POSTs, and nothing else."""
    return cds_post(scope)


async def discovery_page(datasette: Any, request: Any) -> Response:
    """/cds-services: the CDS Hooks discovery document."""
    return Response.json(discovery(status()))


def _error(error: HookError, request: Any) -> Response:
    print(f"{error.status} {request.method} {request.path}: {error.message}", file=sys.stderr)
    return Response.json(error.to_json(), status=error.status)


MAX_BODY_BYTES = 512_000
"""The largest hook request read (a real order-sign request is a few KB; one with its prefetch, a
few tens): a larger body is answered 413 unread. Set another in the metadata's plugin settings,
``"plugins": {"policy_as_data": {"cds_max_body_bytes": N}}``."""
JSON_TYPES = ("application/json",)


def body_limit(datasette: Any) -> int:
    """The body size limit of the CDS services (the plugin setting, else ``MAX_BODY_BYTES``)."""
    setting = (datasette.plugin_config("policy_as_data") or {}).get("cds_max_body_bytes", MAX_BODY_BYTES)
    return int(setting)


async def read_body(request: Any, limit: int) -> bytes:
    """The JSON body of a hook request, read no further than ``limit`` bytes; a ``HookError``
    (415) for another media type, (413) for a larger body."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in JSON_TYPES:
        found = f"; found {media_type!r}" if media_type else "; none was given"
        raise HookError(f"a CDS Hooks request is sent as {' or '.join(JSON_TYPES)} (Content-Type){found}", status=415)
    too_large = HookError(f"a hook request of at most {limit:,} bytes; this one is larger", status=413)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size, more = [], 0, True
    while more:
        message = await request.receive()
        if message["type"] != "http.request":
            raise HookError("the request ended before its body did")
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > limit:
            raise too_large
        more = message.get("more_body", False)
    return b"".join(chunks)


def answer_body(path: str, service: str, body: bytes) -> dict[str, Any]:
    """The hook response to a body (run in a worker thread: reading and deciding take CPU time)."""
    try:
        data = json_value(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, JsonNumberError, RecursionError) as error:
        raise HookError(f"the body is not JSON ({error}); expected a CDS Hooks request") from None
    try:
        with KnowledgeBase(path, read_only=True) as kb:
            return answer(kb, service, data, date.today())
    except HookError:
        raise
    except KBError as error:
        raise HookError(str(error)) from None


async def service_page(datasette: Any, request: Any) -> Response:
    """/cds-services/<id>: a hook request answered with cards and systemActions, off the event
    loop, so that one request never keeps the site from answering others."""
    service = request.url_vars["service"]
    try:
        if request.method != "POST":
            raise HookError(f"POST a CDS Hooks request to /cds-services/{service}", status=405)
        if (check := configured()) is not None:  # the caller first: an unauthenticated body is never read
            try:
                check.verify(request.headers.get("authorization"), request.url.split("?")[0], time.time())
            except Unauthenticated as error:
                raise HookError(str(error), status=401) from None
        body = await read_body(request, body_limit(datasette))
        path = datasette.get_database().path
        return Response.json(await asyncio.to_thread(answer_body, path, service, body))
    except HookError as error:
        return _error(error, request)


ROUTES = [(r"^/cds-services$", discovery_page), (r"^/cds-services/(?P<service>[^/]+)$", service_page)]

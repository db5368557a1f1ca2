"""The CDS Hooks service of Da Vinci CRD on the site (``kb.surfaces.fhir.crd``).

``GET /cds-services`` is the discovery document; ``POST /cds-services/<id>`` answers a hook
request with cards and systemActions, or HTTP 400 with a JSON error naming the defect (401 when
client authentication is configured and the caller's JWT does not verify: ``kb.surfaces.site.auth``). These
POSTs are the only writes-shaped requests the site lets through (``cds_post``): the read-only
wrapper passes them, and Datasette's CSRF check skips them (an EHR posts JSON, with no form
token); every other POST is still refused. Nothing is written: the knowledge base is opened
read-only.
"""

from __future__ import annotations

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


async def service_page(datasette: Any, request: Any) -> Response:
    """/cds-services/<id>: a hook request answered with cards and systemActions."""
    service = request.url_vars["service"]
    if request.method != "POST":
        return _error(HookError(f"POST a CDS Hooks request to /cds-services/{service}", status=405), request)
    if (check := configured()) is not None:
        try:
            check.verify(request.headers.get("authorization"), request.url.split("?")[0], time.time())
        except Unauthenticated as error:
            return _error(HookError(str(error), status=401), request)
    try:
        body = json.loads((await request.post_body()).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        return _error(HookError(f"the body is not JSON ({error}); expected a CDS Hooks request"), request)
    try:
        with KnowledgeBase(datasette.get_database().path, read_only=True) as kb:
            return Response.json(answer(kb, service, body, date.today()))
    except HookError as error:
        return _error(error, request)
    except KBError as error:
        return _error(HookError(str(error)), request)


ROUTES = [(r"^/cds-services$", discovery_page), (r"^/cds-services/(?P<service>[^/]+)$", service_page)]

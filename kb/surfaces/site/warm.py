"""The CDS service warmed at start: the first hook request after ``kb serve`` starts is answered
as fast as the ones after it (an EHR times hooks out, and the first order of the day counts too).

At startup one order-sign request is answered in a worker thread, for a drug of the knowledge
base (the first HCPCS code a policy's coding implications list), and the discovery document is
asked for through the site, so that the hook reader, the FHIR models, the vocabularies, the
predicate readers and the site's routes are loaded and their caches filled.
Nothing is written; a failure to warm is one line on the server's log, never a failed start.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

from datasette import hookimpl

from kb.errors import KBError
from kb.store.write import connect
from kb.surfaces.fhir.crd import HookError
from kb.surfaces.site.cds import answer_body

HCPCS = "https://bluebutton.cms.gov/resources/codesystem/hcpcs"


def warm_up_request(code: str) -> dict[str, Any]:
    """A minimal order-sign request for a drug billed under the HCPCS ``code``, with the resources
    a real one brings (a coded reason, the patient, a coverage and the prescriber's role), so that
    each reader is loaded once."""
    order = {
        "resourceType": "MedicationRequest",
        "id": "warm-up",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/warm-up"},
        "requester": {"reference": "PractitionerRole/warm-up"},
        "medicationCodeableConcept": {"coding": [{"system": HCPCS, "code": code}]},
        "reasonCode": [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "R69"}]}],
    }
    role = {
        "resourceType": "PractitionerRole",
        "id": "warm-up",
        "code": [{"coding": [{"system": "http://nucc.org/provider-taxonomy", "code": "207Q00000X"}]}],
    }
    coverage = {
        "resourceType": "Coverage",
        "id": "warm-up",
        "status": "active",
        "beneficiary": {"reference": "Patient/warm-up"},
        "payor": [{"display": "warm-up"}],
    }
    return {
        "hook": "order-sign",
        "hookInstance": "warm-up",
        "context": {
            "userId": "PractitionerRole/warm-up",
            "patientId": "warm-up",
            "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": order}]},
        },
        "prefetch": {
            "patient": {"resourceType": "Patient", "id": "warm-up", "birthDate": "1980-01-01"},
            "coverage": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": coverage}]},
            "practitionerRoles": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": role}]},
        },
    }


def warm(path: str) -> None:
    """Answer one hook request against the knowledge base at ``path`` (its answer is dropped)."""
    try:
        connection = connect(Path(path), read_only=True)
        try:
            found = connection.execute(
                "SELECT code FROM code WHERE system = 'HCPCS' AND superseded_at IS NULL ORDER BY id LIMIT 1"
            ).fetchone()
        finally:
            connection.close()
        body = json.dumps(warm_up_request(found[0] if found else "J3490")).encode("utf-8")
        answer_body(path, "policy-as-data-order-sign", body)
    except (KBError, HookError, sqlite3.Error) as error:
        print(f"CDS Hooks services: not warmed at start ({error})", file=sys.stderr)


@hookimpl
def startup(datasette: Any) -> Any:
    async def inner() -> None:
        database = datasette.get_database()
        if database.path:
            await asyncio.to_thread(warm, database.path)
        await datasette.client.get("/cds-services")  # the routes and the request path through the site

    return inner

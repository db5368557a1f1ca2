"""The CDS service meets hostile requests (issue #28, item 2): a body over the limit is answered
413 unread, a body of another media type 415, every defect 4xx with a message and one log line
(no traceback), and a hook request is decided off the event loop, so the site answers other
pages meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from datasette.app import Datasette

from kb.surfaces.site.cds import MAX_BODY_BYTES
from tests.conftest import FIXTURES

SIGN = "/cds-services/policy-as-data-order-sign"
HOOK = json.loads((FIXTURES / "fhir" / "besponsa-order-sign.json").read_text(encoding="utf-8"))


def post(site: Datasette, body: bytes, content_type: str = "application/json") -> Any:
    return asyncio.run(site.client.post(SIGN, content=body, headers={"content-type": content_type}))


def with_orders(count: int) -> bytes:
    hook = json.loads(json.dumps(HOOK))
    hook["context"]["draftOrders"]["entry"] = hook["context"]["draftOrders"]["entry"][:1] * count
    return json.dumps(hook).encode()


def test_a_body_over_the_limit_is_answered_413_unread(site, capsys):
    body = with_orders(MAX_BODY_BYTES // 500)
    assert len(body) > MAX_BODY_BYTES
    response = post(site, body)
    assert response.status_code == 413
    assert f"at most {MAX_BODY_BYTES:,} bytes" in response.json()["error"]
    assert "Traceback" not in capsys.readouterr().err


def test_the_limit_is_a_plugin_setting(loaded_kb):
    metadata = {"plugins": {"policy_as_data": {"cds_max_body_bytes": 1_000}}}
    site = Datasette(immutables=[str(loaded_kb.path)], metadata=metadata)
    asyncio.run(site.invoke_startup())
    body = json.dumps(HOOK).encode()
    assert len(body) > 1_000
    assert post(site, body).status_code == 413


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""]
)
def test_a_body_of_another_media_type_is_answered_415(site, content_type):
    response = post(site, json.dumps(HOOK).encode(), content_type)
    assert response.status_code == 415
    assert "application/json" in response.json()["error"]


def test_json_with_a_charset_is_read(site):
    assert post(site, json.dumps(HOOK).encode(), "application/json; charset=utf-8").status_code == 200


def test_a_5000_digit_number_is_a_400_naming_it(site, capsys):
    body = json.dumps(HOOK).replace('"hookInstance": ', '"n": ' + "9" * 5_000 + ', "hookInstance": ', 1)
    response = post(site, body.encode())
    assert response.status_code == 400 and "a number of 5,000 digits" in response.json()["error"]
    assert "Traceback" not in capsys.readouterr().err


def test_a_draft_order_of_no_fhir_type_is_ignored_with_a_note_naming_its_path(site):
    """CRD: servers SHALL ignore what they do not evaluate and provide what they can (issue 24);
    an entry of no FHIR type is no reason for a 500 or for refusing the orders beside it."""
    hook = json.loads(json.dumps(HOOK))
    hook["context"]["draftOrders"]["entry"].append({"resource": {"resourceType": "Foo"}})
    response = post(site, json.dumps(hook).encode())
    assert response.status_code == 200
    index = len(hook["context"]["draftOrders"]["entry"]) - 1
    details = " ".join(card["detail"] for card in response.json()["cards"])
    assert f"context.draftOrders.entry[{index}].resource: a Foo" in details


def test_a_hook_request_does_not_keep_the_site_from_answering(site):
    body = with_orders(400)  # a few seconds of deciding, so the page's own time is small beside it

    async def both() -> tuple[float, float]:
        start = time.perf_counter()

        async def hook() -> float:
            response = await site.client.post(SIGN, content=body, headers={"content-type": "application/json"})
            assert response.status_code == 200
            return time.perf_counter() - start

        async def home() -> float:
            await asyncio.sleep(0.05)
            assert (await site.client.get("/")).status_code == 200
            return time.perf_counter() - start

        return tuple(await asyncio.gather(hook(), home()))  # type: ignore[return-value]

    hook_seconds, home_seconds = asyncio.run(both())
    assert home_seconds < hook_seconds / 2

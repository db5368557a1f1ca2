"""CDS Hooks client authentication: the JWT's signature against the configured JWKS, and its iss,
aud, exp and jti (CDS Hooks 2.0, "Trusting CDS Clients"); without configuration the service
answers every caller and says so.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fhir_payloads import order_sign

from kb.surfaces.site import auth
from kb.surfaces.site.auth import ClientConfigError, Unauthenticated, read_check

ISS = "https://ehr.example.org"
URL = "http://localhost/cds-services/policy-as-data-order-sign"
SIGN = "/cds-services/policy-as-data-order-sign"


@pytest.fixture(scope="module")
def key():
    return ec.generate_private_key(ec.SECP384R1())


@pytest.fixture
def jwks_file(tmp_path, key):
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [public | {"kid": "ehr-1", "alg": "ES384", "use": "sig"}]}))
    return path


def token(key, **changes: Any) -> str:
    now = int(time.time())
    claims = {"iss": ISS, "aud": URL, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())} | changes
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm="ES384", headers={"kid": "ehr-1"})


def test_a_good_token_verifies_once(jwks_file, key):
    check = read_check(str(jwks_file), ISS, None)
    bearer = f"Bearer {token(key)}"
    assert check.verify(bearer, URL, time.time())["iss"] == ISS
    with pytest.raises(Unauthenticated, match="was used already"):
        check.verify(bearer, URL, time.time())


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"aud": "https://elsewhere.example.org/cds-services/x"}, "Audience"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"iss": "https://stranger.example.org"}, "is not a trusted client"),
        ({"jti": None}, '"jti"'),
    ],
)
def test_a_token_failing_a_claim_is_refused_naming_it(jwks_file, key, changes, named):
    check = read_check(str(jwks_file), ISS, None)
    with pytest.raises(Unauthenticated, match=named):
        check.verify(f"Bearer {token(key, **changes)}", URL, time.time())


def test_a_token_of_another_key_or_no_token_is_refused(jwks_file):
    check = read_check(str(jwks_file), ISS, None)
    stranger = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(Unauthenticated, match="does not verify"):
        check.verify(f"Bearer {token(stranger)}", URL, time.time())
    with pytest.raises(Unauthenticated, match="Bearer"):
        check.verify(None, URL, time.time())
    shared = jwt.encode({"iss": ISS}, "a-secret-of-32-bytes-or-more-here", algorithm="HS256", headers={"kid": "ehr-1"})
    with pytest.raises(Unauthenticated, match="does not verify"):
        check.verify(f"Bearer {shared}", URL, time.time())


def test_a_bad_configuration_is_named(tmp_path, jwks_file):
    with pytest.raises(ClientConfigError, match="KB_CDS_ISSUERS"):
        read_check(str(jwks_file), "", None)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ClientConfigError, match="bad.json"):
        read_check(str(tmp_path / "bad.json"), ISS, None)
    assert read_check(None, None, None) is None


def post(site, body: Any, authorization: str | None = None):
    headers = {"content-type": "application/json"} | ({"authorization": authorization} if authorization else {})
    return asyncio.run(site.client.post(SIGN, content=json.dumps(body).encode(), headers=headers))


def test_the_site_checks_callers_when_configured(site, jwks_file, key, monkeypatch):
    monkeypatch.setenv(auth.JWKS_ENV, str(jwks_file))
    monkeypatch.setenv(auth.ISSUERS_ENV, ISS)
    auth.configured.cache_clear()
    try:
        refused = post(site, order_sign("2025-12-01"))
        assert refused.status_code == 401 and "Bearer" in refused.json()["error"]
        assert post(site, order_sign("2025-12-01"), f"Bearer {token(key)}").status_code == 200
        described = asyncio.run(site.client.get("/cds-services")).json()["services"][0]["description"]
        assert "Callers are authenticated" in described
    finally:
        monkeypatch.delenv(auth.JWKS_ENV)
        auth.configured.cache_clear()


def test_without_configuration_every_caller_is_answered_and_told(site):
    auth.configured.cache_clear()
    assert post(site, order_sign("2025-12-01")).status_code == 200
    described = asyncio.run(site.client.get("/cds-services")).json()["services"][0]["description"]
    assert auth.UNCHECKED in described

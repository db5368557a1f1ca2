"""Client authentication for the CDS Hooks services: the JWT a CDS client sends, verified.

CDS Hooks 2.0 (Trusting CDS Clients): the client sends ``Authorization: Bearer <JWT>`` signed with
its private key; the service checks the signature against the client's public keys (a JWKS), and
the claims ``iss`` (a known client), ``aud`` (this service's URL), ``exp`` (not expired), ``iat``
and ``jti`` (a token is used once). Configuration, read when the site starts:

- ``KB_CDS_JWKS``: the path of a JWKS file (``{"keys": [...]}``), the trusted clients' public keys;
- ``KB_CDS_ISSUERS``: the trusted issuers, separated by commas (required with ``KB_CDS_JWKS``);
- ``KB_CDS_AUDIENCE``: the service base URL clients put in ``aud`` when the site sits behind a
  proxy (default: the URL the request reached, ``http://host/cds-services/<id>``).

Without ``KB_CDS_JWKS`` the services answer every caller, and say so (``kb serve`` at start, the
discovery document's descriptions). A bad configuration is a ``ClientConfigError`` naming it.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import jwt

from kb.errors import KBError

JWKS_ENV, ISSUERS_ENV, AUDIENCE_ENV = "KB_CDS_JWKS", "KB_CDS_ISSUERS", "KB_CDS_AUDIENCE"
ALGORITHMS = ["ES384", "RS384", "ES256", "RS256", "ES512", "RS512"]
"""Asymmetric algorithms only (CDS Hooks: ES384 and RS384 SHALL be supported); never none or HS*."""
UNCHECKED = "Callers are not authenticated: no JWKS is configured for this service (KB_CDS_JWKS)."


class ClientConfigError(KBError):
    """The client-authentication configuration cannot be used: names the variable or file."""


class Unauthenticated(KBError):
    """A request whose JWT is missing or does not verify: says which check failed."""


@dataclass
class ClientCheck:
    """The trusted clients' keys and issuers, and the token ids already used (until they expire)."""

    keys: jwt.PyJWKSet
    issuers: frozenset[str]
    audience: str | None
    used: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def describe(self) -> str:
        return f"Callers are authenticated: a JWT signed by a key of the configured JWKS, iss one of {', '.join(sorted(self.issuers))}."

    def verify(self, authorization: str | None, service_url: str, now: float) -> dict[str, object]:
        """The verified claims of the request's bearer JWT, or ``Unauthenticated`` naming the failed check."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.casefold() != "bearer" or not token.strip():
            raise Unauthenticated("expected an Authorization: Bearer JWT (CDS Hooks client authentication)")
        try:
            header = jwt.get_unverified_header(token.strip())
            key = next((k for k in self.keys.keys if k.key_id == header.get("kid")), None)
            if key is None:
                raise Unauthenticated(f"the JWT's kid {header.get('kid')!r} is not a key of the configured JWKS")
            claims = jwt.decode(
                token.strip(),
                key.key,
                algorithms=ALGORITHMS,
                audience=self.audience_for(service_url),
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
                leeway=60,
            )
        except jwt.PyJWTError as error:
            raise Unauthenticated(f"the JWT does not verify: {error}") from None
        if claims["iss"] not in self.issuers:
            raise Unauthenticated(f"the JWT's iss {claims['iss']!r} is not a trusted client")
        with self.lock:
            self.used = {jti: exp for jti, exp in self.used.items() if exp > now}
            if claims["jti"] in self.used:
                raise Unauthenticated(f"the JWT's jti {claims['jti']!r} was used already")
            self.used[str(claims["jti"])] = float(claims["exp"])  # type: ignore[arg-type]
        return claims

    def audience_for(self, service_url: str) -> str:
        if self.audience is None:
            return service_url
        return self.audience.rstrip("/") + "/cds-services/" + service_url.rstrip("/").rsplit("/", 1)[-1]


def read_check(jwks: str | None, issuers: str | None, audience: str | None) -> ClientCheck | None:
    """The client check the configuration gives (None: not configured), or ``ClientConfigError``."""
    if not jwks:
        return None
    trusted = frozenset(i.strip() for i in (issuers or "").split(",") if i.strip())
    if not trusted:
        raise ClientConfigError(f"{ISSUERS_ENV}: expected the trusted issuers (comma-separated) beside {JWKS_ENV}")
    try:
        keys = jwt.PyJWKSet.from_dict(json.loads(Path(jwks).read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, jwt.PyJWTError, TypeError, AttributeError) as error:
        raise ClientConfigError(
            f'{JWKS_ENV}={jwks}: expected a readable JWKS file ({{"keys": [...]}}): {error}'
        ) from None
    if any(key.key_id is None for key in keys.keys):
        raise ClientConfigError(f"{JWKS_ENV}={jwks}: every key needs a kid (clients name their key by it)")
    return ClientCheck(keys, trusted, audience or None)


@cache
def configured() -> ClientCheck | None:
    """The client check of this process's environment (read once)."""
    return read_check(os.environ.get(JWKS_ENV), os.environ.get(ISSUERS_ENV), os.environ.get(AUDIENCE_ENV))


def status() -> str:
    """How the CDS services check their callers, in one sentence."""
    check = configured()
    return check.describe() if check else UNCHECKED

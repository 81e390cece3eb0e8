"""HTTP API JWT authorizers as API Gateway applies them.

API Gateway fetches the issuer's JWKS, requires a signature by one of its keys (RS256), and
checks `iss`, `exp`, `nbf`, `iat` and that `aud` (ID tokens) or `client_id` (access tokens)
is one of the configured audiences. Any failure is 401 with `{"message":"Unauthorized"}`
and the function is not invoked. Locally the issuer's JWKS comes from the Cognito emulator
(the issuer URL stays the real Cognito one, as tokens name it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import jwt

from local_stack.apigateway.http_api import JwtAuthorizer

LEEWAY_SECONDS = 0
JWKS_TIMEOUT_SECONDS = 3
# The Authorization header may carry "Bearer <token>" or the bare token.
_BEARER = "bearer "


@dataclass(frozen=True)
class JwtDecision:
    allowed: bool
    claims: dict[str, str] | None = None
    reason: str = ""


class JwtVerifier:
    def __init__(self, jwks_urls: dict[str, str]) -> None:
        self._jwks_urls = jwks_urls
        self._clients: dict[str, jwt.PyJWKClient] = {}

    def _client(self, issuer: str) -> jwt.PyJWKClient | None:
        url = self._jwks_urls.get(issuer)
        if url is None:
            return None
        if url not in self._clients:
            self._clients[url] = jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=JWKS_TIMEOUT_SECONDS)
        return self._clients[url]

    def verify(self, authorizer: JwtAuthorizer, headers: dict[str, str]) -> JwtDecision:
        header_name = authorizer.identity_source.removeprefix("$request.header.").lower()
        raw = next((v for k, v in headers.items() if k.lower() == header_name), "")
        token = raw[len(_BEARER) :] if raw.lower().startswith(_BEARER) else raw
        if not token:
            return JwtDecision(False, reason="missing identity source")
        client = self._client(authorizer.issuer)
        if client is None:
            return JwtDecision(False, reason="issuer has no JWKS here")
        try:
            key = client.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                issuer=authorizer.issuer,
                leeway=LEEWAY_SECONDS,
                options={"verify_aud": False, "require": ["exp", "iss"]},
            )
        except (jwt.PyJWTError, ValueError) as exc:
            return JwtDecision(False, reason=type(exc).__name__)
        audiences = claims.get("aud", claims.get("client_id"))
        audience_list = audiences if isinstance(audiences, list) else [audiences]
        if not set(map(str, audience_list)) & set(authorizer.audience):
            return JwtDecision(False, reason="audience not allowed")
        if "iat" in claims and float(claims["iat"]) > time.time() + LEEWAY_SECONDS:
            # API Gateway: `iat`, when present, must be before the current time.
            return JwtDecision(False, reason="issued in the future")
        # The event carries every claim as a string, as API Gateway flattens them.
        return JwtDecision(True, claims={str(k): _claim_text(v) for k, v in claims.items()})


def _claim_text(value: Any) -> str:
    if isinstance(value, list):
        return "[" + " ".join(str(v) for v in value) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)

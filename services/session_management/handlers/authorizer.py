"""REQUEST authorizer on `$connect`.

Speakers (createSession) must present a Cognito ID token in the `token` query parameter
(browsers cannot set headers on a WebSocket) or an `Authorization: Bearer` header; listeners are
anonymous. API Gateway turns `Exception("Unauthorized")` into HTTP 401, and this function never
sees connections that lack the identity source (`Host`, which all carry).
"""

from __future__ import annotations

from typing import Any

import jwt

from session_management.aws import cognito_endpoint
from session_management.config import load_settings
from session_management.observability import logger

# One JWKS client per pool URL, kept across invocations of the execution environment.
JWKS_CLIENTS: dict[str, jwt.PyJWKClient] = {}
# Cognito ID tokens are 1-2 KB; anything far larger is refused before it is parsed.
MAX_TOKEN_CHARS = 8192
# A slow JWKS endpoint must refuse speakers well inside the 10 s function timeout.
JWKS_TIMEOUT_SECONDS = 2
# After a key rotation, tokens with the new kid are accepted within this many seconds; a flood of
# made-up kids costs at most one JWKS fetch per period per execution environment.
JWKS_REFETCH_COOLDOWN_SECONDS = 5
# A key removed from the pool's JWKS is refused within this many seconds by a warm authorizer.
JWKS_LIFESPAN_SECONDS = 300


class Unauthorized(Exception):
    def __init__(self) -> None:
        super().__init__("Unauthorized")


def jwks_client() -> jwt.PyJWKClient:
    settings = load_settings()
    url = f"{cognito_endpoint()}/{settings.cognito_user_pool_id}/.well-known/jwks.json"
    if url not in JWKS_CLIENTS:
        # The key set is cached across invocations for JWKS_LIFESPAN_SECONDS, then fetched again, so a
        # key removed from the pool stops being trusted; an unknown kid triggers one refetch (rotation).
        # No per-key cache: PyJWT's never expires, and would trust a removed key until a cold start.
        JWKS_CLIENTS[url] = jwt.PyJWKClient(
            url,
            cache_keys=False,
            lifespan=JWKS_LIFESPAN_SECONDS,
            timeout=JWKS_TIMEOUT_SECONDS,
            cooldown_duration=JWKS_REFETCH_COOLDOWN_SECONDS,
        )
    return JWKS_CLIENTS[url]


def verify_id_token(token: str) -> dict[str, Any]:
    settings = load_settings()
    if len(token) > MAX_TOKEN_CHARS:
        logger.info("token refused", extra={"reason": "oversized"})
        raise Unauthorized
    try:
        signing_key = jwks_client().get_signing_key_from_jwt(token)
        claims: dict[str, Any] = jwt.decode(
            token,
            signing_key.key,
            algorithms=["RS256"],
            audience=settings.cognito_client_id,
            issuer=settings.cognito_issuer,
            leeway=5,
            options={"require": ["exp", "iss", "aud", "sub", "token_use"]},
        )
    except jwt.ExpiredSignatureError:
        logger.info("token refused", extra={"reason": "expired"})
        raise Unauthorized from None
    except (jwt.PyJWKClientConnectionError, TimeoutError):
        logger.error("JWKS unreachable; speakers cannot be verified")
        raise Unauthorized from None
    except jwt.PyJWTError as exc:
        logger.info("token refused", extra={"reason": type(exc).__name__})
        raise Unauthorized from None
    if claims.get("token_use") != "id":
        logger.info("token refused", extra={"reason": "not an ID token"})
        raise Unauthorized
    return claims


def _policy(principal_id: str, method_arn: str, context: dict[str, str]) -> dict[str, Any]:
    return {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": method_arn}],
        },
        "context": context,
    }


def _token_of(query: dict[str, Any], headers: dict[str, Any]) -> str | None:
    """One token, from the query or the header; two different ones mean nobody can say who this is."""
    header = next((str(v) for k, v in headers.items() if k.lower() == "authorization"), "")
    from_header = header[7:].strip() if header.lower().startswith("bearer ") else header.strip()
    from_query = str(query.get("token") or "")
    if from_header and from_query and from_header != from_query:
        logger.info("token refused", extra={"reason": "different tokens in header and query"})
        raise Unauthorized
    return from_query or from_header or None


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    query = event.get("queryStringParameters") or {}
    action = query.get("action")
    token = _token_of(query, event.get("headers") or {})
    speaker = action == "createSession" or (action == "refreshConnection" and query.get("role") != "listener")
    if speaker and not token:
        logger.info("token refused", extra={"reason": "missing", "action": action})
        raise Unauthorized
    if not token:
        return _policy("anonymous", event["methodArn"], {})
    claims = verify_id_token(token)
    return _policy(
        str(claims["sub"]),
        event["methodArn"],
        {"userId": str(claims["sub"]), "tokenExpiresAt": str(claims["exp"])},
    )

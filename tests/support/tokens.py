"""Tokens for attacks on speaker authentication: forged, altered and misdirected ID tokens.

The local Cognito writes its pools' private keys to the stack's state directory (local only),
so a test can make a token "signed by the pool" that is wrong in exactly one way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pool_key(stack: dict[str, Any]) -> tuple[str, Any]:
    """The pool's current signing key (kid, private key)."""
    keys = json.loads(Path(stack["cognito"]["signingKeysFile"]).read_text())[stack["cognito"]["userPoolId"]]
    current = keys[-1]
    return current["kid"], jwt.PyJWK(current).key


def valid_claims(stack: dict[str, Any], sub: str = "forged-user") -> dict[str, Any]:
    now = int(time.time())
    cognito = stack["cognito"]
    return {
        "sub": sub,
        "iss": cognito["issuer"],
        "aud": cognito["clientId"],
        "token_use": "id",
        "iat": now,
        "auth_time": now,
        "exp": now + 3600,
        "cognito:username": sub,
    }


def signed_by_pool(stack: dict[str, Any], **overrides: Any) -> str:
    kid, key = pool_key(stack)
    claims = {**valid_claims(stack), **overrides}
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm="RS256", headers={"kid": kid})


def unsigned(stack: dict[str, Any]) -> str:
    kid, _ = pool_key(stack)
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
    return f"{header}.{_b64(json.dumps(valid_claims(stack)).encode())}."


def hs256_with_public_key(stack: dict[str, Any]) -> str:
    """Key confusion: HMAC keyed with the pool's published public key."""
    kid, key = pool_key(stack)
    secret = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = _b64(json.dumps(valid_claims(stack)).encode())
    signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(signature)}"


def unknown_kid(stack: dict[str, Any]) -> str:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(valid_claims(stack), stranger, algorithm="RS256", headers={"kid": "not-a-key-of-this-pool"})


def tampered(token: str, **changes: Any) -> str:
    """The original signature over a changed payload."""
    header, body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return f"{header}.{_b64(json.dumps({**claims, **changes}).encode())}.{signature}"


def _cognito(stack: dict[str, Any]) -> Any:
    import boto3

    return boto3.client(
        "cognito-idp",
        endpoint_url=stack["cognito"]["endpoint"],
        region_name=stack["cognito"]["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def from_another_pool(stack: dict[str, Any]) -> str:
    """A real ID token of a second pool on the same Cognito: its own keys and issuer."""
    cognito = _cognito(stack)
    pool = cognito.create_user_pool(PoolName="another-pool")["UserPool"]["Id"]
    client = cognito.create_user_pool_client(
        UserPoolId=pool, ClientName="another", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    password = "Another-Passw0rd!"
    cognito.admin_create_user(UserPoolId=pool, Username="mallory", TemporaryPassword=password, MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool, Username="mallory", Password=password, Permanent=True)
    result = cognito.initiate_auth(
        ClientId=client, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "mallory", "PASSWORD": password}
    )
    return str(result["AuthenticationResult"]["IdToken"])


def access_token(stack: dict[str, Any], user: str) -> str:
    from stage_access.tokens import DEV_PASSWORD, speaker_token

    speaker_token(stack, user)  # creates the user
    result = _cognito(stack).initiate_auth(
        ClientId=stack["cognito"]["clientId"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user, "PASSWORD": DEV_PASSWORD},
    )
    return str(result["AuthenticationResult"]["AccessToken"])


def published_kids(stack: dict[str, Any]) -> list[str]:
    return [k["kid"] for k in requests.get(stack["cognito"]["jwksUrl"], timeout=5).json()["keys"]]

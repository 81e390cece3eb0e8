"""boto3 clients for a running local stack: its endpoints, its region, the owner's credentials
(the key the stack issued to its owner, read from the file `stack.json` names by
`stage_access.clients.owner_credentials`)."""

from __future__ import annotations

import urllib.request
from typing import Any

import boto3

from stage_access.clients import owner_credentials
from tests.support.signing import sigv4_headers

ENDPOINT_KEYS = {
    "dynamodb": "dynamodbEndpoint",
    "lambda": "lambdaEndpoint",
    "apigatewaymanagementapi": "managementApiUrl",
}


def local_client(stack: dict[str, Any], service: str, **options: Any) -> Any:
    return boto3.client(
        service,
        endpoint_url=stack[ENDPOINT_KEYS[service]],
        region_name=stack.get("region", "us-east-1"),
        **owner_credentials(stack),
        **options,
    )


def signed_request(
    stack: dict[str, Any], url: str, method: str = "GET", data: bytes | None = None, service: str = "execute-api"
) -> urllib.request.Request:
    """A raw HTTP request signed (SigV4) with the owner's key, as an SDK would send it."""
    owner = owner_credentials(stack)
    key, secret = owner["aws_access_key_id"], owner["aws_secret_access_key"]
    headers = sigv4_headers(method, url, data or b"", key, secret, service, stack.get("region", "us-east-1"))
    return urllib.request.Request(url, data=data, method=method, headers=headers)

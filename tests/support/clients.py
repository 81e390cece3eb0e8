"""boto3 clients for a running local stack: its endpoints, its region, the owner's credentials
(the key the stack issued to its owner, read from the file `stack.json` names)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import boto3

ENDPOINT_KEYS = {
    "dynamodb": "dynamodbEndpoint",
    "lambda": "lambdaEndpoint",
    "apigatewaymanagementapi": "managementApiUrl",
}


def owner_credentials(stack: dict[str, Any]) -> dict[str, str]:
    """`aws_access_key_id` and `aws_secret_access_key` of the stack's owner."""
    result: dict[str, str] = json.loads(Path(stack["credentialsFile"]).read_text())
    return result


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
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    owner = owner_credentials(stack)
    credentials = Credentials(owner["aws_access_key_id"], owner["aws_secret_access_key"])
    signing = AWSRequest(method=method, url=url, data=data or b"")
    SigV4Auth(credentials, service, stack.get("region", "us-east-1")).add_auth(signing)
    return urllib.request.Request(url, data=data, method=method, headers=dict(signing.headers.items()))

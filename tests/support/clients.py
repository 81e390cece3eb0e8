"""boto3 clients for a running local stack: its endpoints, its region, the owner's credentials
(the key the stack issued to its owner, read from the file `stack.json` names)."""

from __future__ import annotations

import json
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

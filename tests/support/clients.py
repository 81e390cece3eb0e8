"""boto3 clients for a running local stack: its endpoints, its region, the account's admin credentials."""

from __future__ import annotations

from typing import Any

import boto3

ENDPOINT_KEYS = {"dynamodb": "dynamodbEndpoint", "lambda": "lambdaEndpoint"}


def local_client(stack: dict[str, Any], service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=stack[ENDPOINT_KEYS[service]],
        region_name=stack.get("region", "us-east-1"),
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )

"""boto3 clients. The composition root (session_management.dependencies) creates them once per
execution environment and reuses them across invocations.

Endpoints come from botocore's own resolution, which honours `AWS_ENDPOINT_URL_<SERVICE>`; that
is the only way the local stack differs, and no code here knows about it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Standard retry mode: at most 3 attempts with jittered exponential backoff on throttling and
# transient errors; short timeouts so a stalled dependency fails the request, not the 29 s budget.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)


def dynamodb_client() -> Any:
    return boto3.client("dynamodb", config=_CONFIG)


def lambda_client() -> Any:
    return boto3.client("lambda", config=_CONFIG)


def management_client(endpoint_url: str) -> Any:
    return boto3.client("apigatewaymanagementapi", endpoint_url=endpoint_url, config=_CONFIG)


@cache
def cognito_endpoint() -> str:
    """Where Cognito (and so the pool's JWKS) lives: the real regional endpoint in AWS. The same in
    every test and invocation, so it is resolved once."""
    return str(boto3.client("cognito-idp", config=_CONFIG).meta.endpoint_url)

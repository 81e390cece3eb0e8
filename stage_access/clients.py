"""boto3 clients pointed at a stage: the local stack's endpoints with the key it issued to its
owner, or the caller's own AWS account and region for a deployed stage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3

from stage_access.endpoints import StageEndpoints

# The `stack.json` key of each service the local stack serves (Cognito's is under `cognito`).
LOCAL_ENDPOINT_KEYS = {
    "dynamodb": "dynamodbEndpoint",
    "apigatewaymanagementapi": "managementApiUrl",
    "lambda": "lambdaEndpoint",
}


def local_endpoint(stage: StageEndpoints, service: str) -> str:
    """Where the local stack serves `service`."""
    if service == "cognito-idp":
        return str(stage["cognito"]["endpoint"])
    return str(stage[LOCAL_ENDPOINT_KEYS[service]])


def aws_client(stage: StageEndpoints, service: str) -> Any:
    """A boto3 client for `service` on the stage (typed Any: the service is chosen at run time)."""
    if stage["kind"] != "local":
        factory: Any = boto3.client
        # @connections lives at the API's own URL; every other service at the region's endpoint.
        endpoint = stage["managementApiUrl"] if service == "apigatewaymanagementapi" else None
        return factory(service, region_name=stage["region"], endpoint_url=endpoint)
    return local_client(service, local_endpoint(stage, service), stage["region"], owner_credentials(stage))


def owner_credentials(stage: StageEndpoints) -> dict[str, str]:
    """The key a running local stack issued to its owner (0600 in its state directory)."""
    result: dict[str, str] = json.loads(Path(stage["credentialsFile"]).read_text())
    return result


def local_client(service: str, endpoint: str, region: str, credentials: dict[str, str] | None = None) -> Any:
    """A client of the local stack. Its AWS APIs verify signatures against the keys the stack issued
    (`credentials`, the owner's); the local Cognito, like Cognito's own sign-in calls, needs none."""
    factory: Any = boto3.client
    return factory(
        service,
        endpoint_url=endpoint,
        region_name=region,
        **(credentials or {"aws_access_key_id": "local", "aws_secret_access_key": "local"}),
    )

"""boto3 clients pointed at a stage: the local stack's endpoints with dummy credentials, or the
caller's own AWS account and region for a deployed stage."""

from __future__ import annotations

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
    return local_client(service, local_endpoint(stage, service), stage["region"])


def local_client(service: str, endpoint: str, region: str) -> Any:
    """A client of the local stack: it checks no signatures, but boto3 signs every request and needs credentials."""
    factory: Any = boto3.client
    return factory(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - local only
    )

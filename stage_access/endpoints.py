"""A stage's endpoints and tables, as one dictionary every tool passes around.

Locally they come from the `stack.json` the local stack writes when it is ready; for a deployed
stage, from its CloudFormation stack outputs. The dictionary is also written to a run's report
(`target.json`) and read back by the Locust processes, so it stays plain JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3

from session_management import resource_names as names

# The API Gateway stage every deployment serves (not the deployment stage: dev, staging, prod).
API_STAGE = names.WEBSOCKET_STAGE

StageEndpoints = dict[str, Any]


def stack_name(stage: str) -> str:
    return names.stack_name(stage)


def from_local_stack(stack: dict[str, Any]) -> StageEndpoints:
    """A running local stack's `stack.json`, with the table names its stage gives them."""
    env = stack["env"]
    tables = {
        "sessions": names.sessions_table(env),
        "connections": names.connections_table(env),
        "rateLimits": names.rate_limits_table(env),
    }
    return {**stack, "kind": "local", "tables": tables}


def read_local_stack(path: str | Path) -> StageEndpoints:
    """The endpoints of the local stack that wrote `path` (its `.local/stack.json`)."""
    return from_local_stack(load(path))


def stack_outputs(stage: str, cloudformation: Any = None) -> dict[str, str]:
    """The CloudFormation outputs of a deployed stage's stack."""
    cloudformation = cloudformation or boto3.client("cloudformation")
    [stack] = cloudformation.describe_stacks(StackName=stack_name(stage))["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def from_cloudformation(stage: str) -> StageEndpoints:
    """The endpoints of a deployed stage, read from its stack outputs."""
    cloudformation = boto3.client("cloudformation")
    outputs = stack_outputs(stage, cloudformation)
    region = cloudformation.meta.region_name
    return {
        "kind": "aws",
        "env": stage,
        "stage": API_STAGE,
        "region": region,
        "websocketUrl": outputs["WebSocketAPIEndpoint"],
        "websocketUrls": [outputs["WebSocketAPIEndpoint"]],
        "managementApiUrl": outputs["WebSocketManagementEndpoint"],
        "httpApiUrl": outputs.get("HttpApiUrl", ""),
        "tables": {
            "sessions": outputs["SessionsTableName"],
            "connections": outputs["ConnectionsTableName"],
            "rateLimits": outputs["RateLimitsTableName"],
        },
        "cognito": {
            "region": region,
            "userPoolId": outputs["CognitoUserPoolId"],
            "clientId": outputs["CognitoClientId"],
        },
        "sourceCommit": outputs.get("SourceCommit", "unversioned"),
    }


def load(path: str | Path) -> StageEndpoints:
    """Endpoints written to a file earlier (a run's `target.json`, a local `stack.json`)."""
    result: StageEndpoints = json.loads(Path(path).read_text())
    return result

"""Where a load run points: endpoints, tables and how speakers get tokens.

Locally the target is the `stack.json` of a stack the run started itself. For a deployed stage it
comes from the CloudFormation outputs, and speaker credentials from the environment or SSM,
never from a file in the repository.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import boto3

# Services are chosen at run time here, which boto3's typed overloads cannot express.
_client_factory: Any = boto3.client
CREDENTIAL_PARAMETER = "/session-management/{env}/load-test/{name}"


def from_local_stack(stack: dict[str, Any]) -> dict[str, Any]:
    env = stack["env"]
    tables = {"sessions": f"Sessions-{env}", "connections": f"Connections-{env}", "rateLimits": f"RateLimits-{env}"}
    return {**stack, "kind": "local", "tables": tables}


def from_cloudformation(env: str) -> dict[str, Any]:
    """The target of a deployed stage, read from its stack outputs."""
    cloudformation = boto3.client("cloudformation")
    [stack] = cloudformation.describe_stacks(StackName=f"SessionManagement-{env}")["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    region = cloudformation.meta.region_name
    return {
        "kind": "aws",
        "env": env,
        "stage": "prod",
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


def load(path: str | Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(Path(path).read_text())
    return result


def aws_client(target: dict[str, Any], service: str) -> Any:
    """A boto3 client for the target: the local stack's endpoints and dummy credentials, or the caller's AWS."""
    if target["kind"] != "local":
        endpoint = target["managementApiUrl"] if service == "apigatewaymanagementapi" else None
        return _client_factory(service, region_name=target["region"], endpoint_url=endpoint)
    endpoints = {
        "dynamodb": target["dynamodbEndpoint"],
        "apigatewaymanagementapi": target["managementApiUrl"],
    }
    return _client_factory(
        service,
        endpoint_url=endpoints[service],
        region_name=target["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


class SpeakerTokens:
    """ID tokens for load speakers.

    Locally every speaker is its own user (the per-user session limit is part of what we test, so
    a run must not trip it). On a deployed stage the test users come from LOAD_TEST_USERNAMES
    (comma-separated) and LOAD_TEST_PASSWORD, or from SSM parameters of the stage.
    """

    def __init__(self, target: dict[str, Any]) -> None:
        self.target = target
        self._lock = threading.Lock()
        self._count = 0
        # Local tokens come from the local pool through cli.speaker_token; only a deployed stage needs this client.
        self._client: Any = aws_client(target, "cognito-idp") if target["kind"] != "local" else None

    def next_token(self) -> str:
        with self._lock:
            self._count += 1
            index = self._count
        if self.target["kind"] == "local":
            from local_stack import cli

            return cli.speaker_token(self.target, f"load-speaker-{os.getpid()}-{index}")
        usernames, password = self._stage_credentials()
        return self._initiate(usernames[index % len(usernames)], password)

    def _initiate(self, username: str, password: str) -> str:
        result = self._client.initiate_auth(
            ClientId=self.target["cognito"]["clientId"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )
        return str(result["AuthenticationResult"]["IdToken"])

    def _stage_credentials(self) -> tuple[list[str], str]:
        names, password = os.environ.get("LOAD_TEST_USERNAMES"), os.environ.get("LOAD_TEST_PASSWORD")
        if not (names and password):
            ssm = boto3.client("ssm", region_name=self.target["region"])
            env = self.target["env"]

            def parameter(name: str) -> str:
                value = ssm.get_parameter(Name=CREDENTIAL_PARAMETER.format(env=env, name=name), WithDecryption=True)
                return str(value["Parameter"]["Value"])

            names, password = parameter("usernames"), parameter("password")
        return [n.strip() for n in names.split(",") if n.strip()], password

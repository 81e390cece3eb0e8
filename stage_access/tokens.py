"""Speaker ID tokens for a stage.

Locally the token comes from the local user pool, which creates the user on first use; on a
deployed stage the test users come from LOAD_TEST_USERNAMES (comma-separated) and
LOAD_TEST_PASSWORD, or from SSM parameters of the stage, never from a file in the repository.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import boto3

from stage_access.clients import aws_client, local_client, local_endpoint
from stage_access.endpoints import StageEndpoints

CREDENTIAL_PARAMETER = "/session-management/{env}/load-test/{name}"
# The local pool's users are created on first use with this password (`make -s token`'s user by default).
DEV_USER = "dev-speaker"
# Local-only credentials for a user pool that exists only on this machine.
DEV_PASSWORD = "Local-Dev-Passw0rd!"  # noqa: S105


def speaker_token(stack: StageEndpoints, username: str = DEV_USER, password: str = DEV_PASSWORD) -> str:
    """An ID token from the local pool, creating the user on first use (as the guide's smoke test does)."""
    cognito = stack["cognito"]
    client = local_client("cognito-idp", local_endpoint(stack, "cognito-idp"), cognito["region"])
    try:
        client.admin_get_user(UserPoolId=cognito["userPoolId"], Username=username)
    except client.exceptions.UserNotFoundException:
        client.admin_create_user(UserPoolId=cognito["userPoolId"], Username=username, MessageAction="SUPPRESS")
        client.admin_set_user_password(
            UserPoolId=cognito["userPoolId"], Username=username, Password=password, Permanent=True
        )
    return _initiate(client, cognito["clientId"], username, password)


def _initiate(client: Any, client_id: str, username: str, password: str) -> str:
    result = client.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )
    return str(result["AuthenticationResult"]["IdToken"])


class SpeakerTokens:
    """ID tokens for many speakers of one stage, one after another.

    Locally every speaker is its own user (the per-user session limit is part of what a load run
    tests, so a run must not trip it). On a deployed stage the stage's test users take turns.
    """

    def __init__(self, stage: StageEndpoints) -> None:
        self.stage = stage
        self._lock = threading.Lock()
        self._count = 0
        # Local tokens come from the local pool through speaker_token; only a deployed stage needs this client.
        self._client: Any = aws_client(stage, "cognito-idp") if stage["kind"] != "local" else None

    def next_token(self) -> str:
        with self._lock:
            self._count += 1
            index = self._count
        if self.stage["kind"] == "local":
            return speaker_token(self.stage, f"load-speaker-{os.getpid()}-{index}")
        usernames, password = self._stage_credentials()
        return _initiate(self._client, self.stage["cognito"]["clientId"], usernames[index % len(usernames)], password)

    def _stage_credentials(self) -> tuple[list[str], str]:
        names, password = os.environ.get("LOAD_TEST_USERNAMES"), os.environ.get("LOAD_TEST_PASSWORD")
        if not (names and password):
            ssm = boto3.client("ssm", region_name=self.stage["region"])
            env = self.stage["env"]

            def parameter(name: str) -> str:
                value = ssm.get_parameter(Name=CREDENTIAL_PARAMETER.format(env=env, name=name), WithDecryption=True)
                return str(value["Parameter"]["Value"])

            names, password = parameter("usernames"), parameter("password")
        return [n.strip() for n in names.split(",") if n.strip()], password

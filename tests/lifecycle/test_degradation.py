"""Degradation on the real stack: the local Cognito and DynamoDB Local are paused (SIGSTOP), as
an unreachable JWKS endpoint or an unavailable table looks from a Lambda function.

The module runs its own stack with one execution environment per function, so the authorizer's
JWKS cache is known to be empty when the test begins (PyJWT keeps keys and refetches an unknown
key id only after a cooldown, so a warm authorizer keeps verifying speakers through an outage:
that is intended)."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from local_stack import cli
from local_stack.processes import ROOT
from local_stack.supervisor import LocalStackOptions
from tests.e2e.client import Client, HandshakeRefused
from tests.lifecycle.test_lifecycle import eventually, join, listener_count, open_session, until
from tests.reliability.report import record
from tests.support.clients import local_client
from tests.support.stack_state import stack_process

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    state_dir = tmp_path_factory.mktemp("degradation-stack")
    options = LocalStackOptions(
        state_dir=str(state_dir),
        env="e2e",
        assembly_dir=str(ROOT / "cdk.out-e2e"),
        lambda_concurrency=1,
        # Pauses outlast the e2e stage's 18 s connection cap, so this stack keeps AWS's 2 hours.
        gateway_overrides={"scheduleTimeScale": 1_000_000},
    )
    stack = cli.start(options)
    try:
        yield stack
    finally:
        cli.stop(state_dir)


@pytest.fixture(scope="module")
def dynamodb(stack: dict[str, Any]) -> Any:
    return local_client(stack, "dynamodb")


@pytest.fixture(scope="module")
def token(stack: dict[str, Any]) -> str:
    return cli.speaker_token(stack, "degradation-speaker")


@contextmanager
def paused(stack: dict[str, Any], marker: str) -> Iterator[None]:
    process = stack_process(stack, marker)
    os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(process.pid, signal.SIGCONT)


def test_jwks_unreachable_refuses_speakers_but_listeners_still_join(stack, token, ip, dynamodb):
    authorizer_log = Path(stack["logDir"]) / "lambda-session-authorizer-e2e.log"
    started = time.monotonic()
    with paused(stack, "local_stack.cognito.server"), pytest.raises(HandshakeRefused) as refused:
        open_session(stack, token, ip)
    waited = time.monotonic() - started
    assert refused.value.status == 401
    # Refused well before the authorizer's 10 s timeout would turn it into a 500 (JWKS timeout 2 s).
    assert waited < 10
    record("faults", "JWKS unreachable", speakerRefusedAfterSeconds=round(waited, 1), listenersUnaffected=True)
    assert "JWKS unreachable" in authorizer_log.read_text()
    speaker, created = open_session(stack, token, ip)  # the pool is back
    with paused(stack, "local_stack.cognito.server"), join(stack, created["sessionId"], "es", ip) as listener:
        listener.send({"action": "heartbeat"})
        until(listener, "heartbeatAck")
        assert listener_count(dynamodb, created["sessionId"]) == 1
    speaker.close()


def test_dynamodb_unavailable_is_503_and_nothing_is_half_written(stack, token, ip, dynamodb):
    speaker, created = open_session(stack, token, ip)
    session_id = created["sessionId"]
    first = join(stack, session_id, "es", ip)
    with paused(stack, "DynamoDBLocal"):
        first.send({"action": "heartbeat"})  # heartbeats never touch DynamoDB
        until(first, "heartbeatAck")
        with pytest.raises(HandshakeRefused) as refused:
            Client.connect(
                stack["websocketUrl"],
                source_ip=ip,
                timeout=40,
                action="joinSession",
                sessionId=session_id,
                targetLanguage="fr",
            )
        assert refused.value.status == 503
        body = json.loads(refused.value.body)
        assert body["code"] == "SERVICE_UNAVAILABLE" and body["retryAfter"] >= 1
    # A write that timed out may still be applied once DynamoDB answers again (in AWS too): the
    # transaction lands whole, for a connection API Gateway refused. The periodic job finds that
    # connection gone (410) and takes the row and the count back.
    for client in (first, speaker):  # active again, so the job (5 s heartbeat timeout here) keeps them
        client.send({"action": "heartbeat"})
        until(client, "heartbeatAck")
    cli.trigger_rule(stack, "session-periodic-job-e2e")
    eventually(lambda: listener_count(dynamodb, session_id) == 1)
    with join(stack, session_id, "fr", ip):
        assert listener_count(dynamodb, session_id) == 2
    first.close()
    speaker.close()

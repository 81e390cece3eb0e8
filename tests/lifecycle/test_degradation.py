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

from tests.support.reliability_report import record
from tests.support.session_clients import create_session, join
from tests.support.stack_state import listener_count, stack_process
from tests.support.stacks import run_periodic_job, started_e2e_stack
from tests.support.waiting import wait_until
from tests.support.websocket_client import Client, HandshakeRefused

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    # Pauses outlast the e2e stage's 18 s connection cap, so this stack keeps AWS's 2 hours.
    with started_e2e_stack(tmp_path_factory.mktemp("degradation-stack"), lambda_concurrency=1) as started:
        yield started


@contextmanager
def paused(stack: dict[str, Any], marker: str) -> Iterator[None]:
    process = stack_process(stack, marker)
    os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(process.pid, signal.SIGCONT)


def test_jwks_unreachable_refuses_speakers_but_listeners_still_join(stack, token, ip, dynamodb, tables):
    authorizer_log = Path(stack["logDir"]) / "lambda-session-authorizer-e2e.log"
    started = time.monotonic()
    with paused(stack, "local_stack.cognito.server"), pytest.raises(HandshakeRefused) as refused:
        create_session(stack, token, source_ip=ip)
    waited = time.monotonic() - started
    assert refused.value.status == 401
    # Refused well before the authorizer's 10 s timeout would turn it into a 500 (JWKS timeout 2 s).
    assert waited < 10
    record("faults", "JWKS unreachable", speakerRefusedAfterSeconds=round(waited, 1), listenersUnaffected=True)
    assert "JWKS unreachable" in authorizer_log.read_text()
    speaker, created = create_session(stack, token, source_ip=ip)  # the pool is back
    with paused(stack, "local_stack.cognito.server"), join(stack, created["sessionId"], "es", ip) as listener:
        listener.send({"action": "heartbeat"})
        listener.wait_for("heartbeatAck")
        assert listener_count(dynamodb, tables, created["sessionId"]) == 1
    speaker.close()


def test_dynamodb_unavailable_is_503_and_nothing_is_half_written(stack, token, ip, dynamodb, tables):
    speaker, created = create_session(stack, token, source_ip=ip)
    session_id = created["sessionId"]
    first = join(stack, session_id, "es", ip)
    with paused(stack, "DynamoDBLocal"):
        first.send({"action": "heartbeat"})  # heartbeats never touch DynamoDB
        first.wait_for("heartbeatAck")
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
        client.wait_for("heartbeatAck")
    run_periodic_job(stack)
    wait_until(lambda: listener_count(dynamodb, tables, session_id) == 1, timeout=15)
    with join(stack, session_id, "fr", ip):
        assert listener_count(dynamodb, tables, session_id) == 2
    first.close()
    speaker.close()

"""Faults injected into a running stack: DynamoDB Local killed and restarted, a function worker
killed mid-invocation, `$disconnect` events dropped, the gateway restarted. Afterwards the
periodic job runs once and every count must equal its live connections: nothing lost.

The module runs its own stack: DynamoDB Local on disk (a crash keeps the data, as a table
outlives a DynamoDB outage), crashed parts restarted on the same ports, and no scheduled runs of
the job (each test runs it when it wants: one period)."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import psutil
import pytest
import requests

from local_stack import cli
from local_stack.supervisor import LocalStackOptions
from tests.e2e.client import Client, HandshakeRefused
from tests.e2e.test_session_flows import create_session, eventually, join
from tests.reliability.report import record
from tests.support import stack_state
from tests.support.clients import local_client

JOB_RULE = "session-periodic-job-local"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    state_dir = tmp_path_factory.mktemp("faults-stack")
    options = LocalStackOptions(
        state_dir=str(state_dir),
        lambda_concurrency=2,
        dynamodb_data_dir=str(state_dir / "dynamodb-data"),
        restart_crashed=True,
        gateway_overrides={"scheduleTimeScale": 1_000_000, "recordEventsFile": str(state_dir / "events.jsonl")},
    )
    stack = cli.start(options)
    try:
        yield stack
    finally:
        cli.stop(state_dir)


@pytest.fixture(scope="module")
def dynamodb(stack):
    return local_client(stack, "dynamodb")


@pytest.fixture(scope="module")
def speaker_token(stack):
    return cli.speaker_token(stack, "faults-speaker")


def process_with(stack: dict[str, Any], marker: str) -> psutil.Process:
    return stack_state.stack_process(stack, marker)


def workers_of(stack: dict[str, Any], function_name: str) -> list[psutil.Process]:
    found = []
    for process in psutil.Process(int(stack["supervisorPid"])).children(recursive=True):
        try:
            if process.environ().get("AWS_LAMBDA_FUNCTION_NAME") == function_name:
                found.append(process)
        except psutil.Error:
            continue
    return found


def run_job(stack: dict[str, Any]) -> None:
    result = cli.trigger_rule(stack, JOB_RULE)
    assert not result.get("failedTargets"), result


def counts_are_exact(dynamodb: Any, stack: dict[str, Any]) -> bool:
    """Every active session's listenerCount equals its listener rows."""
    env = stack["env"]
    sessions = dynamodb.scan(TableName=f"Sessions-{env}", ConsistentRead=True)["Items"]
    for session in sessions:
        if not session["isActive"]["BOOL"]:
            continue
        rows = stack_state.listener_rows(dynamodb, f"Connections-{env}", session["sessionId"]["S"])
        if int(session["listenerCount"]["N"]) != len(rows):
            return False
    return True


def listener_rows(dynamodb: Any, stack: dict[str, Any], session_id: str) -> list[dict[str, Any]]:
    return stack_state.listener_rows(dynamodb, f"Connections-{stack['env']}", session_id)


def test_dynamodb_killed_and_restarted(stack, speaker_token, dynamodb):
    speaker, created = create_session(stack, speaker_token)
    session_id = created["sessionId"]
    listeners = [join(stack, session_id, "es") for _ in range(3)]
    refused = 0
    try:
        process_with(stack, "DynamoDBLocal").kill()
        # While it is down: joins are refused with a retry hint, heartbeats still answered.
        with pytest.raises(HandshakeRefused) as outage:
            Client.connect(
                stack["websocketUrl"], timeout=40, action="joinSession", sessionId=session_id, targetLanguage="fr"
            )
        refused += 1
        assert outage.value.status == 503
        assert json.loads(outage.value.body)["code"] == "SERVICE_UNAVAILABLE"
        listeners[0].send({"action": "heartbeat"})
        assert listeners[0].receive(10)["type"] == "heartbeatAck"
        # The supervisor restarts it on the same port, with its data; the service resumes by itself.
        late = eventually(lambda: _try_join(stack, session_id), 60, 0.5)
        listeners.append(late)
        run_job(stack)
        assert counts_are_exact(dynamodb, stack)
        assert len(listener_rows(dynamodb, stack, session_id)) == 4
        record(
            "faults",
            "DynamoDB Local killed and restarted",
            refusedDuringOutage=refused,
            liveListenersAfter=4,
            countsExact=True,
        )
    finally:
        for client in (*listeners, speaker):
            client.close()


def _try_join(stack: dict[str, Any], session_id: str) -> Client | None:
    try:
        return Client.connect(stack["websocketUrl"], action="joinSession", sessionId=session_id, targetLanguage="fr")
    except HandshakeRefused:
        return None


def test_a_worker_killed_mid_invocation_fails_that_call_only(stack, speaker_token, dynamodb):
    speaker, created = create_session(stack, speaker_token)
    listener = join(stack, created["sessionId"], "es")
    database = process_with(stack, "DynamoDBLocal")
    try:
        os.kill(database.pid, signal.SIGSTOP)  # the status call now waits inside DynamoDB
        try:
            listener.send({"action": "getSessionStatus", "requestId": "doomed"})
            time.sleep(0.5)  # let the invocation reach its DynamoDB call (there is no event to await)
            victims = workers_of(stack, f"session-status-handler-{stack['env']}")
            assert victims
            for worker in victims:
                worker.kill()
        finally:
            os.kill(database.pid, signal.SIGCONT)
        frame = listener.receive(15)
        assert frame.get("message") == "Internal server error", frame
        listener.send({"action": "getSessionStatus", "requestId": "next"})
        assert listener.receive(15)["type"] == "sessionStatus"
        record("faults", "function worker killed mid-invocation", workersKilled=len(victims), nextCallWorked=True)
    finally:
        listener.close()
        speaker.close()


def test_dropped_disconnects_are_repaired_within_one_period(stack, speaker_token, dynamodb):
    faults_url = stack["websocketUrl"].replace("ws://", "http://").rsplit("/", 1)[0] + "/__local/faults"
    speaker, created = create_session(stack, speaker_token)
    session_id = created["sessionId"]
    listeners = [join(stack, session_id, ("es", "fr")[i % 2]) for i in range(20)]
    requests.post(faults_url, json={"dropDisconnectFraction": 0.5}, timeout=5).raise_for_status()
    try:
        for client in listeners[:15]:
            client.close()
        time.sleep(1)  # the delivered $disconnects land; the dropped ones never will
        stale = len(listener_rows(dynamodb, stack, session_id)) - 5
        assert stale > 0  # the fault really left rows behind
        run_job(stack)
        eventually(
            lambda: len(listener_rows(dynamodb, stack, session_id)) == 5 and counts_are_exact(dynamodb, stack), 15
        )
        record("faults", "$disconnect dropped (50 %)", closed=15, staleRowsBeforeJob=stale, staleRowsAfterOneRun=0)
    finally:
        requests.post(faults_url, json={"dropDisconnectFraction": 0}, timeout=5)
        for client in (*listeners[15:], speaker):
            client.close()


def test_the_gateway_restarted_clients_refresh_and_the_session_survives(stack, speaker_token, dynamodb):
    speaker, created = create_session(stack, speaker_token)
    session_id = created["sessionId"]
    listeners = [join(stack, session_id, "es") for _ in range(3)]
    old_ids = [row["connectionId"]["S"] for row in listener_rows(dynamodb, stack, session_id)]
    process_with(stack, "local_stack.apigateway.server").terminate()
    codes = []
    for client in (speaker, *listeners):
        client.ws.settimeout(10)
        try:
            while True:
                client.ws.recv()
        except Exception:
            codes.append(client.ws.status if hasattr(client.ws, "status") else None)
    eventually(lambda: _healthy(stack), 60, 0.5)
    new_speaker = Client.connect(
        stack["websocketUrl"], action="refreshConnection", sessionId=session_id, role="speaker", token=speaker_token
    )
    replacements = [_come_back(stack, session_id, old) for old in old_ids]
    try:
        item = dynamodb.get_item(
            TableName=f"Sessions-{stack['env']}", Key={"sessionId": {"S": session_id}}, ConsistentRead=True
        )["Item"]
        assert item["isActive"]["BOOL"] is True
        assert int(item["listenerCount"]["N"]) == 3
        run_job(stack)
        assert counts_are_exact(dynamodb, stack)
        assert len(listener_rows(dynamodb, stack, session_id)) == 3
        record("faults", "gateway restarted", clientsClosed=len(codes), refreshed=4, sessionSurvived=True)
    finally:
        for client in (new_speaker, *replacements):
            client.close()


def _come_back(stack: dict[str, Any], session_id: str, previous: str) -> Client:
    """A listener takes over its old row; if the service already removed it (a post found the old
    connection gone), it joins afresh. Either way it is counted once."""
    try:
        return Client.connect(
            stack["websocketUrl"],
            action="refreshConnection",
            sessionId=session_id,
            role="listener",
            targetLanguage="es",
            previousConnectionId=previous,
        )
    except HandshakeRefused as refused:
        assert refused.status == 403
        return join(stack, session_id, "es")


def _healthy(stack: dict[str, Any]) -> bool:
    try:
        url = stack["websocketUrl"].replace("ws://", "http://").rsplit("/", 1)[0] + "/__local/health"
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False

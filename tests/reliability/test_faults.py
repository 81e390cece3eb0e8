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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

from stage_access import control
from stage_access import tokens as stage_tokens
from tests.support import stack_state
from tests.support.clients import local_client
from tests.support.reliability_report import record
from tests.support.session_clients import create_session, join
from tests.support.stacks import run_periodic_job, started_stack
from tests.support.waiting import wait_until
from tests.support.websocket_client import Client, HandshakeRefused


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    state_dir = tmp_path_factory.mktemp("faults-stack")
    with started_stack(
        state_dir,
        record_events=True,
        check_event_shapes=False,  # recorded for the privacy scan only, as before
        lambda_concurrency=2,
        dynamodb_data_dir=str(state_dir / "dynamodb-data"),
        restart_crashed=True,
        gateway_overrides={"scheduleTimeScale": 1_000_000},
    ) as started:
        yield started


@pytest.fixture(scope="module")
def dynamodb(stack):
    return local_client(stack, "dynamodb")


@pytest.fixture(scope="module")
def speaker_token(stack):
    return stage_tokens.speaker_token(stack, "faults-speaker")


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
    run_periodic_job(stack)


def counts_are_exact(dynamodb: Any, stack: dict[str, Any]) -> bool:
    """Every active session's listenerCount equals its listener rows."""
    tables = stack_state.table_names(stack["env"])
    sessions = dynamodb.scan(TableName=tables["sessions"], ConsistentRead=True)["Items"]
    for session in sessions:
        if not session["isActive"]["BOOL"]:
            continue
        rows = stack_state.listener_rows(dynamodb, tables, session["sessionId"]["S"])
        if int(session["listenerCount"]["N"]) != len(rows):
            return False
    return True


def listener_rows(dynamodb: Any, stack: dict[str, Any], session_id: str) -> list[dict[str, Any]]:
    return stack_state.listener_rows(dynamodb, stack_state.table_names(stack["env"]), session_id)


def test_dynamodb_killed_and_restarted(stack, speaker_token, dynamodb):
    speaker, created = create_session(stack, speaker_token)
    session_id = created["sessionId"]
    listeners = [join(stack, session_id, "es") for _ in range(3)]
    refused = 0
    try:
        # The supervisor is held while DynamoDB is dead, so the outage outlasts the SDK's retries
        # (the restart alone can be quicker than them); released, it restarts DynamoDB.
        supervisor = psutil.Process(int(stack["supervisorPid"]))
        supervisor.suspend()
        try:
            stack_state.stack_process(stack, "DynamoDBLocal").kill()
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
        finally:
            supervisor.resume()
        # The supervisor restarts it on the same port, with its data; the service resumes by itself.
        late = wait_until(lambda: _try_join(stack, session_id), 60, 0.5)
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
        return join(stack, session_id, "fr")
    except HandshakeRefused:
        return None


def test_a_worker_killed_mid_invocation_fails_that_call_only(stack, speaker_token, dynamodb):
    speaker, created = create_session(stack, speaker_token)
    listener = join(stack, created["sessionId"], "es")
    database = stack_state.stack_process(stack, "DynamoDBLocal")
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
    faults_url = "/__local/faults"
    speaker, created = create_session(stack, speaker_token)
    session_id = created["sessionId"]
    listeners = [join(stack, session_id, ("es", "fr")[i % 2]) for i in range(20)]
    control.post(stack, faults_url, {"dropDisconnectFraction": 0.5})
    try:
        for client in listeners[:15]:
            client.close()
        time.sleep(1)  # the delivered $disconnects land; the dropped ones never will
        stale = len(listener_rows(dynamodb, stack, session_id)) - 5
        assert stale > 0  # the fault really left rows behind
        run_job(stack)
        wait_until(
            lambda: len(listener_rows(dynamodb, stack, session_id)) == 5 and counts_are_exact(dynamodb, stack), 15
        )
        record("faults", "$disconnect dropped (50 %)", closed=15, staleRowsBeforeJob=stale, staleRowsAfterOneRun=0)
    finally:
        control.post(stack, faults_url, {"dropDisconnectFraction": 0})
        for client in (*listeners[15:], speaker):
            client.close()


def _function_log(stack: dict[str, Any], function: str) -> str:
    path = Path(stack["logDir"]) / f"lambda-session-{function}-{stack['env']}.log"
    return path.read_text(errors="replace") if path.exists() else ""


def test_every_async_delivery_duplicated_still_tells_each_client_once(stack, speaker_token, dynamodb):
    """Lambda may deliver an asynchronous event twice: with every event duplicated, the speaker
    still gets one sessionCreated, and its refreshed connection one connectionRefreshComplete."""
    lambda_faults = "/__local/lambda/faults"
    skipped_before = _function_log(stack, "connection-handler").count("delivery skipped")
    control.post(stack, lambda_faults, {"duplicateAsyncFraction": 1})
    try:
        speaker, created = create_session(stack, speaker_token)
        session_id = created["sessionId"]
        # The duplicate ran and posted nothing (its claim was refused) ...
        wait_until(lambda: _function_log(stack, "connection-handler").count("delivery skipped") > skipped_before, 15)
        refreshed = Client.connect(
            stack["websocketUrl"], action="refreshConnection", sessionId=session_id, role="speaker", token=speaker_token
        )
        refreshed.receive_type("connectionRefreshComplete", timeout=15)
        wait_until(
            lambda: _function_log(stack, "connection-handler").count("delivery skipped") > skipped_before + 1, 15
        )
        # ... so the next frame after the job's status push is the push itself, nothing duplicated.
        run_job(stack)
        refreshed.wait_for("sessionStatus", timeout=15)
        types = [frame.get("type") for frame in (*speaker.received, *refreshed.received)]
        assert types.count("sessionCreated") == 1 and types.count("connectionRefreshComplete") == 1, types
        record("faults", "every async event delivered twice", sessionCreated=1, connectionRefreshComplete=1)
    finally:
        control.post(stack, lambda_faults, {"duplicateAsyncFraction": 0})
        for client in (locals().get("refreshed"), locals().get("speaker")):
            if client is not None:
                client.close()


def test_two_overlapping_job_runs_repair_once(stack, speaker_token, dynamodb):
    """EventBridge starts a run on time even while the last still runs: two at once must repair
    the same stale rows exactly once between them and leave every count exact."""
    faults_url = "/__local/faults"
    speaker, created = create_session(stack, speaker_token)
    session_id = created["sessionId"]
    listeners = [join(stack, session_id, ("es", "fr")[i % 2]) for i in range(12)]
    control.post(stack, faults_url, {"dropDisconnectFraction": 1})
    try:
        for client in listeners[:8]:
            client.close()
        wait_until(lambda: len(listener_rows(dynamodb, stack, session_id)) == 12, 5)  # none delivered
        with ThreadPoolExecutor(max_workers=2) as runs:
            for run in [runs.submit(run_job, stack) for _ in range(2)]:
                run.result(timeout=120)
        wait_until(
            lambda: len(listener_rows(dynamodb, stack, session_id)) == 4 and counts_are_exact(dynamodb, stack), 15
        )
        item = stack_state.session_item(dynamodb, stack_state.table_names(stack["env"]), session_id)
        assert int(item["listenerCount"]["N"]) == 4 and item["isActive"]["BOOL"] is True
        record("faults", "two periodic job runs overlapping", staleRows=8, listenerCountAfter=4)
    finally:
        control.post(stack, faults_url, {"dropDisconnectFraction": 0})
        for client in (*listeners[8:], speaker):
            client.close()


def test_the_gateway_restarted_clients_refresh_and_the_session_survives(stack, speaker_token, dynamodb):
    speaker, created = create_session(stack, speaker_token)
    session_id = created["sessionId"]
    listeners = [join(stack, session_id, "es") for _ in range(3)]
    old_ids = [row["connectionId"]["S"] for row in listener_rows(dynamodb, stack, session_id)]
    stack_state.stack_process(stack, "local_stack.gateway_process").terminate()
    codes = []
    for client in (speaker, *listeners):
        client.ws.settimeout(10)
        try:
            while True:
                client.ws.recv()
        except Exception:
            codes.append(client.ws.status if hasattr(client.ws, "status") else None)
    wait_until(lambda: _healthy(stack), 60, 0.5)
    new_speaker = Client.connect(
        stack["websocketUrl"], action="refreshConnection", sessionId=session_id, role="speaker", token=speaker_token
    )
    replacements = [_come_back(stack, session_id, old) for old in old_ids]
    try:
        item = stack_state.session_item(dynamodb, stack_state.table_names(stack["env"]), session_id)
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

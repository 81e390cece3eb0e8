"""The complete session lifecycle on the local stack, stage `e2e` (timings in seconds).

Every frame a client receives is validated against its contract (tests/support/websocket_client.py).
Each test speaks from its own 127.0.0.x address so the per-address abuse limits of one test cannot
leak into another.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import websocket

from tests.support.session_clients import connect_speaker, create_session, join, refresh_connection
from tests.support.stack_state import listener_count, session_item
from tests.support.stacks import run_periodic_job
from tests.support.waiting import wait_until
from tests.support.websocket_client import Client, HandshakeRefused

pytestmark = pytest.mark.e2e


def beat(*clients: Client) -> None:
    """One heartbeat round trip each: activity that keeps the reconcile job from closing them."""
    for client in clients:
        client.send({"action": "heartbeat"})
    for client in clients:
        client.wait_for("heartbeatAck")


def stay_active(seconds: float, *clients: Client) -> None:
    """Let configured time pass while the clients heartbeat at a steady pace (twice a second)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        beat(*clients)
        for client in clients:
            try:  # waiting for a frame is the pause; a push arriving meanwhile is kept in `received`
                client.receive(timeout=0.5)
            except Exception as exc:
                if "timed out" not in str(exc).lower():
                    raise


# Create and join by message ------------------------------------------------------------------------


def test_create_and_join_by_message(stack, token, ip, dynamodb, tables):
    with Client.connect(stack["websocketUrl"], source_ip=ip, token=token) as speaker:
        speaker.send({"action": "createSession", "sourceLanguage": "de", "qualityTier": "premium", "requestId": "c1"})
        created = speaker.wait_for("sessionCreated")
        assert created["qualityTier"] == "premium"
        with Client.connect(stack["websocketUrl"], source_ip=ip) as listener:
            listener.send(
                {"action": "joinSession", "sessionId": created["sessionId"], "targetLanguage": "fr", "requestId": "j1"}
            )
            joined = listener.wait_for("sessionJoined")
            assert joined["sourceLanguage"] == "de" and joined["listenerCount"] == 1 and joined["requestId"] == "j1"
            assert listener_count(dynamodb, tables, created["sessionId"]) == 1


def test_message_form_errors_are_contract_frames(stack, ip):
    with Client.connect(stack["websocketUrl"], source_ip=ip) as anonymous:
        anonymous.send({"action": "createSession", "sourceLanguage": "en", "qualityTier": "standard"})
        assert anonymous.wait_for("error")["code"] == "UNAUTHORIZED"
        anonymous.send(
            {"action": "joinSession", "sessionId": "quiet-harbor-999", "targetLanguage": "es", "requestId": "r9"}
        )
        error = anonymous.wait_for("error")
        assert (error["code"], error["requestId"]) == ("SESSION_NOT_FOUND", "r9")


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        "[1, 2]",
        json.dumps({"action": "teleport"}),
        json.dumps({"action": "joinSession", "sessionId": 42, "targetLanguage": "es"}),
        json.dumps({"action": "joinSession", "sessionId": "golden-eagle-427", "targetLanguage": "es" * 40}),
        json.dumps({"action": "speakerControl", "control": "setVolume", "volume": "loud"}),
    ],
    ids=["not-json", "array", "unknown-action", "wrong-type", "over-long", "bad-volume"],
)
def test_malformed_messages_get_invalid_message_and_change_nothing(stack, token, ip, dynamodb, tables, frame):
    speaker, created = create_session(stack, token, source_ip=ip)
    with speaker:
        # The delivery marks sessionCreated as delivered just after the frame: wait for that write.
        before = wait_until(lambda: _delivered(session_item(dynamodb, tables, created["sessionId"])), timeout=15)
        speaker.send(frame)
        assert speaker.wait_for("error")["code"] == "INVALID_MESSAGE"
        assert session_item(dynamodb, tables, created["sessionId"]) == before


def _delivered(item: dict[str, Any]) -> dict[str, Any] | None:
    return item if item.get("sessionCreatedDelivered", {}).get("BOOL") else None


# Controls and status ---------------------------------------------------------------------------------


def test_speaker_controls_reach_every_listener_once(stack, token, ip, dynamodb, tables):
    speaker, created = create_session(stack, token, source_ip=ip)
    listeners = [join(stack, created["sessionId"], lang, ip) for lang in ("es", "fr", "es")]
    try:
        speaker.send({"action": "speakerControl", "control": "pause", "requestId": "p-1"})
        ack = speaker.wait_for("controlAcknowledged")
        assert ack["state"]["isPaused"] is True and ack["listenersNotified"] == 3 and ack["listenersFailed"] == 0
        for listener in listeners:
            assert listener.wait_for("broadcastStateChanged")["state"]["isPaused"] is True
        speaker.send({"action": "speakerControl", "control": "pause", "requestId": "p-1"})  # a retry
        assert "listenersNotified" not in speaker.wait_for("controlAcknowledged")
        speaker.send({"action": "speakerControl", "control": "setVolume", "volume": 0.25})
        assert speaker.wait_for("controlAcknowledged")["state"] == {"isPaused": True, "isMuted": False, "volume": 0.25}
        for listener in listeners:  # the retry sent nothing: the next broadcast is the volume change
            assert listener.wait_for("broadcastStateChanged")["state"]["volume"] == 0.25
        assert session_item(dynamodb, tables, created["sessionId"])["broadcastState"]["M"]["volume"] == {"N": "0.25"}
    finally:
        for client in (*listeners, speaker):
            client.close()


def test_only_the_current_speaker_may_control(stack, token, ip):
    speaker, created = create_session(stack, token, source_ip=ip)
    with speaker, join(stack, created["sessionId"], "es", ip) as listener:
        listener.send({"action": "speakerControl", "control": "mute"})
        assert listener.wait_for("error")["code"] == "FORBIDDEN"


def test_listener_controls(stack, token, ip, dynamodb, tables):
    speaker, created = create_session(stack, token, source_ip=ip)
    with speaker, join(stack, created["sessionId"], "es", ip) as listener:
        listener.send({"action": "listenerControl", "control": "changeLanguage", "targetLanguage": "it"})
        assert listener.wait_for("controlAcknowledged")["targetLanguage"] == "it"
        italian = dynamodb.query(
            TableName=tables["connections"],
            IndexName="sessionId-targetLanguage-index",
            KeyConditionExpression="sessionId = :s AND targetLanguage = :l",
            ExpressionAttributeValues={":s": {"S": created["sessionId"]}, ":l": {"S": "it"}},
        )
        assert italian["Count"] == 1
        listener.send({"action": "listenerControl", "control": "pausePlayback"})
        assert listener.wait_for("controlAcknowledged")["control"] == "pausePlayback"
        listener.send({"action": "listenerControl", "control": "changeLanguage", "targetLanguage": "xx"})
        assert listener.wait_for("error")["code"] == "UNSUPPORTED_LANGUAGE"


def test_sessioncreated_is_the_first_frame_even_when_the_job_runs_at_once(stack, token, ip):
    """sessionCreated is delivered asynchronously; the job holds its status push until it is."""
    for _ in range(5):
        with connect_speaker(stack, token, ip) as speaker:
            run_periodic_job(stack)
            assert speaker.receive(15)["type"] == "sessionCreated"
            # Delivered (the flag lands just after the frame): a later run pushes the status.
            assert wait_until(lambda: _pushed_status(stack, speaker), timeout=15)["isActive"] is True


def _pushed_status(stack: dict[str, Any], speaker: Client) -> dict[str, Any] | None:
    run_periodic_job(stack)
    try:
        return speaker.wait_for("sessionStatus", timeout=1)
    except (AssertionError, websocket.WebSocketTimeoutException):
        return None


def test_session_status_full_for_the_speaker_and_reduced_for_listeners(stack, token, ip):
    speaker, created = create_session(stack, token, source_ip=ip)
    listeners = [join(stack, created["sessionId"], lang, ip) for lang in ("es", "es", "ja")]
    try:
        speaker.send({"action": "getSessionStatus"})
        status = speaker.wait_for("sessionStatus")
        assert status["listenerCount"] == 3 and status["languageDistribution"] == {"es": 2, "ja": 1}
        listeners[0].send({"action": "getSessionStatus"})
        reduced = listeners[0].wait_for("sessionStatus")
        assert "languageDistribution" not in reduced and reduced["listenerCount"] == 3
        run_periodic_job(stack)  # the periodic job pushes the status to the speaker
        assert speaker.wait_for("sessionStatus")["languageDistribution"] == {"es": 2, "ja": 1}
    finally:
        for client in (*listeners, speaker):
            client.close()


# Refresh past the connection limit --------------------------------------------------------------------


def test_refresh_notices_and_speaker_and_listener_takeover(stack, token, ip, dynamodb, tables):
    speaker, created = create_session(stack, token, source_ip=ip)
    session_id = created["sessionId"]
    listener = join(stack, session_id, "es", ip)
    listener.send({"action": "heartbeat"})
    listener.wait_for("heartbeatAck")
    notices: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + 20
    while len(notices) < 3 and time.monotonic() < deadline:
        stay_active(0.5, speaker, listener)
        run_periodic_job(stack)
        for name, client, kind in (
            ("speaker", speaker, "connectionRefreshRequired"),
            ("warning", speaker, "connectionWarning"),
            ("listener", listener, "connectionRefreshRequired"),
        ):
            seen = [f for f in client.received if f.get("type") == kind]
            if seen:
                notices[name] = seen[0]
    assert notices["speaker"]["role"] == "speaker" and notices["listener"]["targetLanguage"] == "es"
    assert notices["warning"]["remainingSeconds"] <= 18
    # The speaker takes over with a new connection of the same user; the old one closing ends nothing.
    new_speaker = refresh_connection(stack, session_id, "speaker", ip, token=token)
    assert new_speaker.wait_for("connectionRefreshComplete")["role"] == "speaker"
    speaker.close()
    # The listener names the connection it replaces, as its notice told it; the count never drifts.
    old_listener_id = notices["listener"]["connectionId"]
    assert old_listener_id == _connection_id_of(dynamodb, tables, session_id)
    new_listener = Client.connect(
        stack["websocketUrl"],
        source_ip=ip,
        action="refreshConnection",
        sessionId=session_id,
        role="listener",
        targetLanguage="es",
        previousConnectionId=old_listener_id,
    )
    assert new_listener.wait_for("connectionRefreshComplete")["targetLanguage"] == "es"
    # The new connection takes over the old one's slot (the count never passes the cap); the old
    # connection's close changes nothing.
    assert listener_count(dynamodb, tables, session_id) == 1
    listener.close()
    assert listener_count(dynamodb, tables, session_id) == 1
    item = session_item(dynamodb, tables, session_id)
    assert item["isActive"] == {"BOOL": True} and "speakerDisconnectedAt" not in item
    new_speaker.send({"action": "speakerControl", "control": "mute"})
    assert new_speaker.wait_for("controlAcknowledged")["listenersNotified"] == 1
    assert new_listener.wait_for("broadcastStateChanged")["state"]["isMuted"] is True
    new_listener.close()
    new_speaker.close()


def _connection_id_of(dynamodb: Any, tables: dict[str, str], session_id: str) -> str:
    rows = dynamodb.query(
        TableName=tables["connections"],
        IndexName="sessionId-targetLanguage-index",
        KeyConditionExpression="sessionId = :s",
        ExpressionAttributeValues={":s": {"S": session_id}},
    )["Items"]
    [row] = rows
    return str(row["connectionId"]["S"])


def test_refresh_is_refused_to_another_user_and_to_strangers(stack, token, other_token, ip):
    speaker, created = create_session(stack, token, source_ip=ip)
    with speaker:
        with pytest.raises(HandshakeRefused) as stolen:
            Client.connect(
                stack["websocketUrl"],
                source_ip=ip,
                action="refreshConnection",
                sessionId=created["sessionId"],
                role="speaker",
                token=other_token,
            )
        assert stolen.value.status == 403
        with pytest.raises(HandshakeRefused) as stranger:
            Client.connect(
                stack["websocketUrl"],
                source_ip=ip,
                action="refreshConnection",
                sessionId=created["sessionId"],
                role="listener",
                targetLanguage="es",
                previousConnectionId="AAAAAAAAAAAAAAA=",
            )
        assert stranger.value.status == 403


# Speaker disconnect and grace ------------------------------------------------------------------------


def test_a_speaker_who_comes_back_within_the_grace_window_keeps_the_session(stack, token, ip):
    speaker, created = create_session(stack, token, source_ip=ip)
    with join(stack, created["sessionId"], "es", ip) as listener:
        speaker.close()
        listener.wait_for("speakerDisconnected")
        back = Client.connect(
            stack["websocketUrl"],
            source_ip=ip,
            action="refreshConnection",
            sessionId=created["sessionId"],
            role="speaker",
            token=token,
        )
        with back:
            back.wait_for("connectionRefreshComplete")
            listener.wait_for("speakerReconnected")
            run_periodic_job(stack)
            back.wait_for("sessionStatus")  # still active: the job pushed its status


def test_a_speaker_who_does_not_come_back_ends_the_session(stack, token, ip, dynamodb, tables):
    speaker, created = create_session(stack, token, source_ip=ip)
    session_id = created["sessionId"]
    listener = join(stack, session_id, "es", ip)
    speaker.close()
    deadline = listener.wait_for("speakerDisconnected")["reconnectDeadline"]
    stay_active(max(0.0, deadline / 1000 - time.time()) + 0.2, listener)  # the grace window: 3 s on this stage
    run_periodic_job(stack)
    assert listener.wait_for("sessionEnded")["reason"] == "speakerDisconnected"
    wait_until(lambda: listener_count(dynamodb, tables, session_id) == 0, timeout=15)
    assert session_item(dynamodb, tables, session_id)["isActive"] == {"BOOL": False}
    with pytest.raises(HandshakeRefused) as refused:
        join(stack, session_id, "es", ip)
    assert refused.value.status == 404


# Liveness and cleanup ----------------------------------------------------------------------------------


def test_silent_connections_are_closed_and_gone_rows_removed(stack, token, ip, dynamodb, tables):
    speaker, created = create_session(stack, token, source_ip=ip)
    session_id = created["sessionId"]
    silent = join(stack, session_id, "es", ip)
    # A row whose $disconnect never came: API Gateway answers 410 for it.
    dynamodb.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": tables["connections"],
                    "Item": {
                        "connectionId": {"S": "AAAAAAAAAAAAAAA="},
                        "sessionId": {"S": session_id},
                        "role": {"S": "listener"},
                        "targetLanguage": {"S": "fr"},
                        "connectedAt": {"N": str(int(time.time() * 1000))},
                        "ttl": {"N": str(int(time.time()) + 3600)},
                    },
                }
            },
            {
                "Update": {
                    "TableName": tables["sessions"],
                    "Key": {"sessionId": {"S": session_id}},
                    "UpdateExpression": "SET listenerCount = listenerCount + :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
        ]
    )
    assert listener_count(dynamodb, tables, session_id) == 2
    stay_active(5.5, speaker)  # heartbeatTimeoutSeconds is 5 on this stage
    run_periodic_job(stack)
    wait_until(lambda: listener_count(dynamodb, tables, session_id) == 0, timeout=15)
    with pytest.raises(Exception):
        silent.wait_for("never", timeout=2)
    speaker.close()

"""The walking skeleton end to end: Cognito token -> authorizer -> $connect -> DynamoDB Local ->
async delivery over @connections (TLS) -> client, all on the synthesized template."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from session_management import contracts
from tests.support import tokens
from tests.support.session_clients import create_session, join
from tests.support.stack_state import session_item
from tests.support.waiting import wait_until
from tests.support.websocket_client import Client, HandshakeRefused

pytestmark = pytest.mark.e2e


def refusal(connect: Callable[[], Client]) -> HandshakeRefused:
    with pytest.raises(HandshakeRefused) as refused:
        connect().close()
    return refused.value


def test_speaker_receives_session_created_once_connected(stack, speaker_token):
    speaker, created = create_session(stack, speaker_token)
    with speaker:
        assert created["sourceLanguage"] == "en"
        assert created["qualityTier"] == "standard"
        assert created["expiresAt"] > created["timestamp"]
        contracts.validate("session-created", created)


def test_listeners_join_and_the_gsi_holds_them_by_language(stack, speaker_token, dynamodb, tables):
    speaker, created = create_session(stack, speaker_token)
    session_id = created["sessionId"]
    listeners = [join(stack, session_id, lang) for lang in ("es", "fr", "es")]
    try:
        result = dynamodb.query(
            TableName=tables["connections"],
            IndexName="sessionId-targetLanguage-index",
            KeyConditionExpression="sessionId = :s AND targetLanguage = :l",
            ExpressionAttributeValues={":s": {"S": session_id}, ":l": {"S": "es"}},
        )
        assert result["Count"] == 2
        assert session_item(dynamodb, tables, session_id)["listenerCount"] == {"N": "3"}
    finally:
        for client in (*listeners, speaker):
            client.close()


def test_a_listener_gets_heartbeat_ack_as_its_first_message(stack, speaker_token):
    speaker, created = create_session(stack, speaker_token)
    with speaker, join(stack, created["sessionId"], "de") as listener:
        sent = int(time.time() * 1000)
        listener.send({"action": "heartbeat", "timestamp": sent})
        ack = listener.receive_type("heartbeatAck")
        assert ack["clientTimestamp"] == sent
        speaker.send({"action": "heartbeat"})
        speaker.receive_type("heartbeatAck")


def test_invalid_heartbeat_gets_a_contract_error(stack, speaker_token):
    speaker, _ = create_session(stack, speaker_token)
    with speaker:
        speaker.send({"action": "heartbeat", "timestamp": "yesterday"})
        error = speaker.receive_type("error")
        assert error["code"] == "INVALID_MESSAGE"


@pytest.mark.parametrize("token", [None, "", "not-a-jwt", "eyJhbGciOiJIUzI1NiJ9.e30.sig"])
def test_create_without_a_valid_token_is_refused_401(stack, token):
    query = {"action": "createSession", "sourceLanguage": "en", "qualityTier": "standard"}
    if token is not None:
        query["token"] = token
    assert refusal(lambda: Client.connect(stack["websocketUrl"], **query)).status == 401


def test_create_with_an_expired_token_is_refused_401(stack):
    """Signed by the pool's own key, with the right issuer and audience, but expired."""
    now = int(time.time())
    expired = tokens.signed_by_pool(stack, iat=now - 7200, exp=now - 3600)
    query = {"action": "createSession", "sourceLanguage": "en", "qualityTier": "standard", "token": expired}
    assert refusal(lambda: Client.connect(stack["websocketUrl"], **query)).status == 401


def test_joining_an_unknown_session_is_refused_404_with_a_contract_body(stack):
    refused = refusal(lambda: join(stack, "quiet-harbor-999", "es"))
    assert refused.status == 404
    if refused.body:
        error = json.loads(refused.body)
        contracts.validate("error", error)
        assert error["code"] == "SESSION_NOT_FOUND"


@pytest.mark.parametrize(
    ("session_id", "language", "code"),
    [
        ("Not A Session", "es", "INVALID_SESSION_ID"),
        ("golden-eagle-42", "es", "INVALID_SESSION_ID"),
        ("golden-eagle-427", "xx", "UNSUPPORTED_LANGUAGE"),
        ("golden-eagle-427", "spanish", "INVALID_LANGUAGE"),
    ],
)
def test_malformed_joins_are_refused_400(stack, session_id, language, code):
    refused = refusal(lambda: join(stack, session_id, language))
    assert refused.status == 400
    if refused.body:
        assert json.loads(refused.body)["code"] == code


def test_a_listener_disconnect_decrements_the_count(stack, speaker_token, dynamodb, tables):
    speaker, created = create_session(stack, speaker_token)
    session_id = created["sessionId"]
    with speaker:
        first, second = join(stack, session_id, "es"), join(stack, session_id, "it")
        assert session_item(dynamodb, tables, session_id)["listenerCount"] == {"N": "2"}
        first.close()
        wait_until(lambda: session_item(dynamodb, tables, session_id)["listenerCount"] == {"N": "1"})
        second.close()
        wait_until(lambda: session_item(dynamodb, tables, session_id)["listenerCount"] == {"N": "0"})


def test_the_speakers_disconnect_starts_the_reconnect_grace_window(stack, speaker_token, dynamodb, tables):
    """The session survives a dropped speaker for speakerReconnectGraceSeconds (the lifecycle suite
    shows it ending after the window, on a stage with timings in seconds)."""
    speaker, created = create_session(stack, speaker_token)
    session_id = created["sessionId"]
    with join(stack, session_id, "es") as listener:
        speaker.close()
        notice = listener.receive_type("speakerDisconnected")
        assert notice["reconnectDeadline"] > notice["timestamp"]
        item = session_item(dynamodb, tables, session_id)
        assert item["isActive"] == {"BOOL": True} and "speakerDisconnectedAt" in item


def test_concurrent_joins_never_exceed_the_cap(stack, speaker_token, dynamodb, tables):
    """520 listeners race for a session capped at 500: exactly 500 get in."""
    cap = 500
    speaker, created = create_session(stack, speaker_token)
    session_id = created["sessionId"]

    def attempt(index: int) -> Client | int:
        try:
            return join(stack, session_id, ("es", "fr", "de", "it")[index % 4])
        except HandshakeRefused as refused:
            return refused.status

    with speaker, ThreadPoolExecutor(max_workers=64) as pool:
        outcomes = list(pool.map(attempt, range(cap + 20)))
        admitted = [o for o in outcomes if isinstance(o, Client)]
        refused = [o for o in outcomes if not isinstance(o, Client)]
        try:
            assert len(admitted) == cap
            assert set(refused) == {503}
            assert session_item(dynamodb, tables, session_id)["listenerCount"] == {"N": str(cap)}
        finally:
            for client in admitted:
                client.close()
    wait_until(lambda: session_item(dynamodb, tables, session_id)["listenerCount"] == {"N": "0"}, timeout=60)

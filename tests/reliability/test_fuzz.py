"""Property-based fuzzing of every inbound message and every `$connect` parameter against the
running local stack (hypothesis, seeded, bounded in count and time).

For each case: the reply is a contract-valid answer or a contract error, never an internal
error, never a connection dropped without a close code; a rejection changes no state; the
gateway stays up. Then the frames browsers and attackers send: oversized, invalid UTF-8,
binary, deeply nested, and a client that never reads.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import struct
import threading
import time
from typing import Any

import pytest
import requests
import websocket
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from session_management import contracts
from stage_access import tokens as stage_tokens
from tests.support.clients import local_client
from tests.support.reliability_report import record
from tests.support.session_clients import create_session, join
from tests.support.stack_state import listener_count
from tests.support.waiting import wait_until
from tests.support.websocket_client import Client, HandshakeRefused

MESSAGE_CASES = 1500
HANDSHAKE_CASES = 300
TIME_BUDGET_SECONDS = 45
# API Gateway's own refusals too: 414 for a URL over 4,096 characters, 429 throttling.
HANDSHAKE_STATUSES = {400, 401, 403, 404, 414, 429, 503}

# Every inbound action the contracts define.
ACTIONS = sorted(contracts.INBOUND_SCHEMAS)
FIELDS = [
    "action",
    "sessionId",
    "targetLanguage",
    "sourceLanguage",
    "qualityTier",
    "requestId",
    "timestamp",
    "control",
    "volume",
    "language",
    "role",
    "previousConnectionId",
    "token",
]
plausible = st.sampled_from(
    [
        "es",
        "en",
        "xx",
        "golden-eagle-427",
        "pause",
        "setVolume",
        "changeLanguage",
        "standard",
        "listener",
        "",
        "A" * 300,
    ]
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    plausible,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
request_ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=32)
valid_messages = st.one_of(
    st.fixed_dictionaries({"action": st.just("getSessionStatus")}, optional={"requestId": request_ids}),
    st.fixed_dictionaries(
        {"action": st.just("listenerControl"), "control": st.sampled_from(["pausePlayback", "resumePlayback"])},
        optional={"requestId": request_ids},
    ),
    st.fixed_dictionaries(
        {
            "action": st.just("listenerControl"),
            "control": st.just("changeLanguage"),
            "targetLanguage": st.sampled_from(["es", "fr", "de", "xx"]),
        }
    ),
)
messages = st.one_of(
    valid_messages,
    st.fixed_dictionaries(
        {"action": st.one_of(st.sampled_from(ACTIONS), st.text(max_size=20))},
        optional={name: json_values for name in FIELDS[1:]},
    ),
    json_values,
)
raw_bodies = st.one_of(
    messages.map(lambda m: json.dumps(m, allow_nan=True)),
    st.text(max_size=200),
)


def _snapshot(dynamodb: Any, tables: dict[str, str], session_id: str, connection_id: str) -> tuple[Any, ...]:
    session = dynamodb.get_item(
        TableName=tables["sessions"], Key={"sessionId": {"S": session_id}}, ConsistentRead=True
    )["Item"]
    row = dynamodb.get_item(
        TableName=tables["connections"], Key={"connectionId": {"S": connection_id}}, ConsistentRead=True
    ).get("Item", {})
    return (
        session["listenerCount"],
        session["isActive"],
        session.get("broadcastState"),
        session["speakerConnectionId"],
        row.get("targetLanguage"),
        row.get("sessionId"),
    )


def _is_contract_frame(frame: dict[str, Any]) -> bool:
    if "type" in frame:
        contracts.validate_outbound(frame)
        return True
    return False


def test_every_inbound_message_gets_a_contract_answer_and_rejections_change_nothing(
    stack, speaker_token, dynamodb, tables
):
    speaker, created = create_session(stack, speaker_token)
    session_id = created["sessionId"]
    listener = join(stack, session_id, "es")
    connection_id = _connection_of(dynamodb, tables, session_id, "es")
    started = time.monotonic()
    tally = {"cases": 0, "errors": 0, "answers": 0}

    @seed(20261126)
    @settings(max_examples=MESSAGE_CASES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(body=raw_bodies)
    def case(body: str) -> None:
        if time.monotonic() - started > TIME_BUDGET_SECONDS:
            return
        if len(body.encode()) > 32 * 1024:
            return
        before = _snapshot(dynamodb, tables, session_id, connection_id)
        listener.send(body)
        frame = listener.receive(10)
        tally["cases"] += 1
        assert frame.get("message") != "Internal server error", body
        assert _is_contract_frame(frame), frame
        if frame["type"] == "error":
            tally["errors"] += 1
            assert frame["code"] != "INTERNAL_ERROR", body
            assert _snapshot(dynamodb, tables, session_id, connection_id) == before, body
        else:
            tally["answers"] += 1

    try:
        case()
        listener.send(json.dumps({"action": "heartbeat"}))
        assert listener.receive(10)["type"] in ("heartbeatAck", "error")  # still connected
        assert tally["cases"] >= 500
        record("fuzz", "inbound messages", **tally)
    finally:
        listener.close()
        speaker.close()


_addresses = (f"127.0.{a}.{b}" for a, b in itertools.product(range(100, 200), range(1, 250)))


def test_every_connect_parameter_gets_a_contract_status_and_refusals_add_nothing(stack, dynamodb, tables):
    token = stage_tokens.speaker_token(stack, "fuzz-handshakes")
    started = time.monotonic()
    tally = {"cases": 0, "refused": 0, "accepted": 0}
    query_values = st.one_of(st.text(max_size=60), plausible, st.just(token))
    queries = st.dictionaries(
        st.one_of(st.sampled_from(FIELDS), st.text(min_size=1, max_size=10)), query_values, max_size=6
    )

    def counts() -> tuple[int, int]:
        return tuple(  # type: ignore[return-value]
            int(dynamodb.scan(TableName=t, Select="COUNT", ConsistentRead=True)["Count"])
            for t in (tables["sessions"], tables["connections"])
        )

    @seed(20261127)
    @settings(max_examples=HANDSHAKE_CASES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(query=queries)
    def case(query: dict[str, str]) -> None:
        if time.monotonic() - started > TIME_BUDGET_SECONDS:
            return
        before = counts()
        tally["cases"] += 1
        try:
            client = Client.connect(stack["websocketUrl"], source_ip=next(_addresses), **query)
        except HandshakeRefused as refused:
            tally["refused"] += 1
            assert refused.status in HANDSHAKE_STATUSES, (refused.status, query)
            if refused.body and refused.body.startswith("{") and "code" in refused.body:
                contracts.validate("error", json.loads(refused.body))
            after = counts()
            assert after[0] <= before[0] and after[1] <= before[1], query  # only the job may remove rows meanwhile
            return
        tally["accepted"] += 1
        client.close()

    case()
    assert requests.get(
        stack["websocketUrl"].replace("ws://", "http://").rsplit("/", 1)[0] + "/__local/health", timeout=5
    ).ok
    assert tally["cases"] >= 200
    record("fuzz", "$connect parameters", **tally)


def close_code(ws: websocket.WebSocket, timeout: float = 10) -> int | None:
    """The code of the server's close frame (None if the socket just dropped)."""
    ws.settimeout(timeout)
    try:
        for _ in range(20):
            frame = ws.recv_data_frame(True)[1]
            if frame.opcode == websocket.ABNF.OPCODE_CLOSE:
                return int(struct.unpack("!H", frame.data[:2])[0]) if len(frame.data) >= 2 else None
    except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
        return None
    return None


@pytest.fixture
def session(stack, speaker_token):
    speaker, created = create_session(stack, speaker_token)
    yield speaker, created["sessionId"]
    speaker.close()


@pytest.mark.parametrize(
    ("size", "label"), [(32 * 1024 + 1, "32 KB + 1"), (128 * 1024 + 1, "128 KB + 1"), (1024 * 1024, "1 MB")]
)
def test_oversized_frames_close_with_1009_and_the_session_goes_on(stack, session, size, label):
    speaker, session_id = session
    listener = join(stack, session_id, "es")

    def send() -> None:
        with contextlib.suppress(ConnectionError, OSError, websocket.WebSocketException):
            listener.ws.send("x" * size)

    # Read while sending: the gateway closes mid-frame, and a reset would discard a close frame
    # that nobody had read yet.
    sender = threading.Thread(target=send)
    sender.start()
    try:
        assert close_code(listener.ws) == 1009
        sender.join(10)
        speaker.send({"action": "heartbeat"})
        assert speaker.receive(10)["type"] in ("heartbeatAck", "error")
        record("fuzz", f"frame of {label}", closeCode=1009)
    finally:
        listener.close()


def test_invalid_utf8_in_a_text_frame_closes_with_1007(stack, session):
    _, session_id = session
    listener = join(stack, session_id, "es")
    try:
        listener.ws.send_frame(websocket.ABNF(1, 0, 0, 0, websocket.ABNF.OPCODE_TEXT, 1, b'{"action":"\xff\xfe"}'))
        assert close_code(listener.ws) == 1007
        record("fuzz", "invalid UTF-8 text frame", closeCode=1007)
    finally:
        listener.close()


def test_a_binary_frame_is_disconnected_with_1003_and_changes_nothing(stack, session, dynamodb, tables):
    """AWS: "If a client app sends a binary frame, API Gateway rejects it and disconnects the client
    with code 1003." The listener's slot is released by its `$disconnect`, as for any close."""
    _, session_id = session
    before = listener_count(dynamodb, tables, session_id)
    listener = join(stack, session_id, "es")
    wait_until(lambda: listener_count(dynamodb, tables, session_id) == before + 1)
    listener.ws.send_binary(b"\x00\x01audio\xff")
    assert close_code(listener.ws) == 1003
    wait_until(lambda: listener_count(dynamodb, tables, session_id) == before)
    record("fuzz", "binary frame", closeCode=1003)


def test_deep_nesting_gets_invalid_message(stack, session):
    _, session_id = session
    listener = join(stack, session_id, "es")
    try:
        nested = "[" * 16_000 + "]" * 16_000
        listener.send(nested)
        deep = listener.receive(10)
        listener.send('{"action": "heartbeat", "requestId": ' + "[" * 5_000 + "]" * 5_000 + "}")
        deep_heartbeat = listener.receive(10)
        for frame in (deep, deep_heartbeat):
            assert frame["type"] == "error" and frame["code"] == "INVALID_MESSAGE", frame
        record("fuzz", "deeply nested frames", cases=2, answer="INVALID_MESSAGE")
    finally:
        listener.close()


def test_a_client_that_never_reads_does_not_stall_fan_out_to_others(stack, session, dynamodb, tables):
    """A slow consumer's socket fills up; posts to everyone else must still go through."""
    speaker, session_id = session
    stalled = join(stack, session_id, "es")  # never reads from here on
    reader = join(stack, session_id, "fr")
    management = cli_management_client(stack)
    stalled_id = _connection_of(dynamodb, tables, session_id, "es")
    reader_id = _connection_of(dynamodb, tables, session_id, "fr")
    payload = json.dumps({"type": "padding", "data": "x" * 120_000}).encode()
    started = time.monotonic()
    outcomes = []
    for _ in range(60):  # about 7 MB: more than the socket buffers hold
        try:
            management.post_to_connection(ConnectionId=stalled_id, Data=payload)
            outcomes.append("delivered")
        except management.exceptions.LimitExceededException:
            outcomes.append("throttled")
            break
        except Exception as exc:
            outcomes.append(type(exc).__name__)
            break
    stalled_seconds = time.monotonic() - started
    speaker.send({"action": "speakerControl", "control": "pause", "requestId": "slow-consumer"})
    assert _until(reader, "broadcastStateChanged")["state"]["isPaused"] is True
    # As in AWS: a client whose buffer is full gets 429 LimitExceededException, not 410; it is not
    # gone, so the fan-out keeps its row (and retries) instead of removing the listener.
    assert outcomes[-1] == "throttled", outcomes
    assert management.get_connection(ConnectionId=stalled_id)["ConnectedAt"]
    assert _connection_of(dynamodb, tables, session_id, "es") == stalled_id
    record(
        "fuzz",
        "slow consumer",
        postsToStalledClient=len(outcomes),
        lastOutcome=outcomes[-1],
        secondsPostingToStalledClient=round(stalled_seconds, 1),
        otherListenersServed=True,
    )
    stalled.close()
    reader.close()
    _ = reader_id


def _until(client: Client, message_type: str) -> dict[str, Any]:
    for _ in range(20):
        frame = client.receive(15)
        if frame.get("type") == message_type:
            return frame
    raise AssertionError(f"no {message_type}")


def _connection_of(dynamodb: Any, tables: dict[str, str], session_id: str, language: str) -> str:
    page = dynamodb.query(
        TableName=tables["connections"],
        IndexName="sessionId-targetLanguage-index",
        KeyConditionExpression="sessionId = :s AND targetLanguage = :l",
        ExpressionAttributeValues={":s": {"S": session_id}, ":l": {"S": language}},
    )
    return str(page["Items"][0]["connectionId"]["S"])


def cli_management_client(stack: dict[str, Any]) -> Any:
    from botocore.config import Config

    config = Config(retries={"max_attempts": 1}, read_timeout=15, connect_timeout=5)
    return local_client(stack, "apigatewaymanagementapi", config=config)

"""Regression tests for what an adversarial or careless client broke (issue 12, defects 1-7).

Each test failed on the code before its fix; the numbers are the issue's.
"""

from __future__ import annotations

import base64
import json
from unittest import mock

import jwt
import pytest
from botocore.exceptions import ClientError

from session_management import contracts, lifecycle
from session_management import resource_names as names
from session_management.bodies import parse_json
from session_management.caller import Caller
from session_management.dependencies import dependencies
from session_management.errors import ErrorCode, ServiceError
from session_management.handlers import authorizer, heartbeat, session_messages
from session_management.requests import CreateSessionRequest, JoinSessionRequest, RefreshRequest
from tests.support.http_api_events import call

ENDPOINT = "https://abc.execute-api.us-east-1.amazonaws.com/prod"
HALL = "198.51.100.20"
SESSIONS = names.sessions_table("test")
CONNECTIONS = names.connections_table("test")


@pytest.fixture(autouse=True)
def connections_api():
    """`@connections` is not what these tests are about: record the closes instead of calling AWS."""
    with mock.patch("session_management.connections_api.management_client") as client:
        yield client


def create(connection_id="speaker-conn", user="user-1", source_ip="192.0.2.1"):
    deps = dependencies()
    caller = Caller(connection_id, ENDPOINT, source_ip, user)
    return lifecycle.create_session(CreateSessionRequest("en", "standard"), caller, deps.repositories, deps.settings)


def join(session_id, connection_id, language="es", source_ip=HALL):
    deps = dependencies()
    caller = Caller(connection_id, ENDPOINT, source_ip)
    return lifecycle.join_session(JoinSessionRequest(session_id, language), caller, deps.repositories, deps.settings)


def refresh_listener(session_id, connection_id, previous, language="es", source_ip=HALL):
    deps = dependencies()
    caller = Caller(connection_id, ENDPOINT, source_ip)
    request = RefreshRequest(session_id, "listener", language, previous)
    return lifecycle.refresh_connection(request, caller, deps.repositories, deps.settings, deps.listeners)


def refresh_speaker(session_id, connection_id, user, source_ip):
    deps = dependencies()
    caller = Caller(connection_id, ENDPOINT, source_ip, user)
    request = RefreshRequest(session_id, "speaker", None, None)
    return lifecycle.refresh_connection(request, caller, deps.repositories, deps.settings, deps.listeners)


def listener_count(dynamodb, session_id) -> int:
    item = dynamodb.get_item(TableName=SESSIONS, Key={"sessionId": {"S": session_id}}, ConsistentRead=True)["Item"]
    return int(item["listenerCount"]["N"])


def rows_of(dynamodb, session_id) -> list[dict]:
    items = dynamodb.scan(TableName=CONNECTIONS)["Items"]
    return [i for i in items if i["sessionId"]["S"] == session_id and i["role"]["S"] == "listener"]


def refused(work) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        work()
    return caught.value


# 1. The listener cap could be bypassed by refreshing one connection over and over.


def test_a_listener_refresh_replaces_its_connection_and_is_never_counted_twice(dynamodb):
    session = create()
    join(session.session_id, "listener-1")
    refresh_listener(session.session_id, "listener-2", previous="listener-1")
    assert listener_count(dynamodb, session.session_id) == 1
    assert [r["connectionId"]["S"] for r in rows_of(dynamodb, session.session_id)] == ["listener-2"]
    # Repeating the takeover of the same old connection from new connections admits nothing.
    for n in range(3, 15):
        error = refused(lambda n=n: refresh_listener(session.session_id, f"listener-{n}", previous="listener-1"))
        assert error.code is ErrorCode.FORBIDDEN
    # A chain of refreshes keeps one slot.
    refresh_listener(session.session_id, "listener-20", previous="listener-2")
    refresh_listener(session.session_id, "listener-21", previous="listener-20")
    assert listener_count(dynamodb, session.session_id) == 1
    assert len(rows_of(dynamodb, session.session_id)) == 1


def test_a_refresh_at_the_cap_keeps_the_session_at_the_cap(dynamodb):
    session = create()
    for n in range(3):  # MAX_LISTENERS_PER_SESSION is 3 in the unit environment
        join(session.session_id, f"listener-{n}")
    refresh_listener(session.session_id, "listener-new", previous="listener-0")
    assert listener_count(dynamodb, session.session_id) == 3
    assert refused(lambda: join(session.session_id, "one-too-many")).code is ErrorCode.SESSION_FULL


# 2. A lecture hall was locked out by its own typos.


def test_a_hall_in_which_25_listeners_mistype_the_id_once_all_get_in(dynamodb):
    session = create()
    for n in range(25):
        assert refused(lambda n=n: join("misty-lake-101", f"typo-{n}")).code is ErrorCode.SESSION_NOT_FOUND
        lifecycle_record_miss(f"typo-{n}")
    for n in range(3):
        assert join(session.session_id, f"listener-{n}").newly_joined


def lifecycle_record_miss(connection_id: str) -> None:
    """What the handlers' edge does with a SESSION_NOT_FOUND: count it against the address."""
    from session_management import abuse_limits

    error = ServiceError(ErrorCode.SESSION_NOT_FOUND, "no such session")
    abuse_limits.record_refusal(
        dependencies().repositories.rate_limits, Caller(connection_id, ENDPOINT, HALL), error, handshake=False
    )


def test_an_address_that_guesses_ids_is_bounded_per_minute_on_every_path(dynamodb):
    session = create()
    for n in range(30):  # rateLimitListenerJoinsPerMin
        lifecycle_record_miss(f"guess-{n}")
    # Past the bound, the right id is refused too, so the refusal reveals nothing, on every path.
    assert refused(lambda: join(session.session_id, "guess-right")).code is ErrorCode.RATE_LIMITED
    assert refused(lambda: refresh_speaker(session.session_id, "x", "user-2", HALL)).code is ErrorCode.RATE_LIMITED
    error = refused(lambda: refresh_listener(session.session_id, "y", previous="z"))
    assert error.code is ErrorCode.RATE_LIMITED and error.retry_after


# 3. The speaker refresh path answered "unknown" and "someone else's" with no bound.


def test_speaker_refresh_answers_count_against_the_same_bound(dynamodb):
    session = create(user="owner")
    prober = "203.0.113.50"
    for n in range(30):
        error = refused(lambda n=n: refresh_speaker(session.session_id, f"probe-{n}", "intruder", prober))
        assert error.code is ErrorCode.FORBIDDEN
    error = refused(lambda: refresh_speaker(session.session_id, "probe-last", "intruder", prober))
    assert error.code is ErrorCode.RATE_LIMITED


# 5. Heartbeats faster than the configured pace were answered with errors.


def test_every_heartbeat_is_acked_at_any_pace():
    event = {
        "requestContext": {"connectionId": "fast-client", "routeKey": "heartbeat", "eventType": "MESSAGE"},
        "body": json.dumps({"action": "heartbeat"}),
    }
    context = mock.Mock(function_name="f", memory_limit_in_mb=128, invoked_function_arn="arn", aws_request_id="r")
    for _ in range(50):
        answer = json.loads(heartbeat.handler(event, context)["body"])
        assert answer["type"] == "heartbeatAck"


# 6. Client-triggerable 500s.


def message(connection_id, payload, source_ip=HALL, user_id=None):
    context = {
        "connectionId": connection_id,
        "routeKey": payload["action"],
        "eventType": "MESSAGE",
        "domainName": "abc.execute-api.us-east-1.amazonaws.com",
        "stage": "prod",
        "identity": {"sourceIp": source_ip},
    }
    if user_id:
        context["authorizer"] = {"principalId": user_id, "userId": user_id}
    return {"requestContext": context, "body": json.dumps(payload)}


def answer(event) -> dict:
    frame = json.loads(session_messages.handle(event)["body"])
    contracts.validate_outbound(frame)
    return frame


def test_a_listener_joining_another_session_is_refused_with_a_contract_error(dynamodb):
    first, second = create("speaker-a", "user-a"), create("speaker-b", "user-b")
    join(first.session_id, "listener-1")
    frame = answer(
        message("listener-1", {"action": "joinSession", "sessionId": second.session_id, "targetLanguage": "es"})
    )
    assert frame["type"] == "error" and frame["code"] == "FORBIDDEN"
    assert listener_count(dynamodb, second.session_id) == 0 and listener_count(dynamodb, first.session_id) == 1


def test_a_join_that_keeps_losing_transaction_conflicts_is_a_retryable_503(dynamodb):
    session = create()
    conflict = ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
            "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}, {"Code": "None"}],
        },
        "TransactWriteItems",
    )
    client = dependencies().repositories.connections.client
    with mock.patch.object(client, "transact_write_items", side_effect=conflict), mock.patch("time.sleep"):
        error = refused(lambda: join(session.session_id, "stormy"))
    assert error.code is ErrorCode.SERVICE_UNAVAILABLE and error.code.http_status == 503 and error.retry_after


@pytest.mark.parametrize(
    "key",
    [
        {"sessionId": 1, "speakerUserId": {"S": "alice"}, "createdAt": {"N": "1"}},
        {"sessionId": {"S": "a-b-100"}, "speakerUserId": "alice", "createdAt": {"N": "1"}},
        {"sessionId": {"S": "a-b-100"}, "speakerUserId": {"S": "alice"}, "createdAt": {"S": "1"}},
        {"sessionId": {"S": "a-b-100"}, "speakerUserId": {"S": "alice"}, "createdAt": {"N": "1e9"}},
    ],
)
def test_a_crafted_next_token_is_a_400(dynamodb, monkeypatch, key):
    monkeypatch.setenv("WEBSOCKET_MANAGEMENT_ENDPOINT", ENDPOINT)
    token = base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")
    status, body = call("GET", "/sessions", query={"nextToken": token})
    assert status == 400 and body["code"] == "INVALID_PARAMETER"


# 7. Wrong answers.


def test_a_listener_rejoining_with_another_language_receives_that_language(dynamodb):
    session = create()
    join(session.session_id, "listener-1", "es")
    assert not join(session.session_id, "listener-1", "fr").newly_joined
    [row] = rows_of(dynamodb, session.session_id)
    assert row["targetLanguage"] == {"S": "fr"}
    assert listener_count(dynamodb, session.session_id) == 1


def test_a_listener_connection_with_a_valid_token_creates_no_session(dynamodb):
    session = create()
    join(session.session_id, "listener-1")
    payload = {"action": "createSession", "sourceLanguage": "en", "qualityTier": "standard"}
    frame = answer(message("listener-1", payload, user_id="user-2"))
    assert frame["type"] == "error" and frame["code"] == "FORBIDDEN"
    speakers = [i for i in dynamodb.scan(TableName=SESSIONS)["Items"] if i["speakerUserId"]["S"] == "user-2"]
    assert speakers == []


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(constant):
    with pytest.raises(ServiceError) as caught:
        parse_json(f'{{"action": "heartbeat", "timestamp": {constant}}}', "Message")
    assert caught.value.code is ErrorCode.INVALID_MESSAGE


def test_a_key_removed_from_the_jwks_stops_being_trusted_by_a_warm_authorizer(monkeypatch):
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    published = {"keys": [{**public, "kid": "k1", "alg": "RS256", "use": "sig"}]}
    authorizer.JWKS_CLIENTS.clear()
    client = authorizer.jwks_client()
    monkeypatch.setattr(client, "fetch_data", lambda: published)
    clock = {"now": 1000.0}
    monkeypatch.setattr("jwt.jwk_set_cache.time.monotonic", lambda: clock["now"])
    monkeypatch.setattr("jwt.jwks_client.time.monotonic", lambda: clock["now"])
    signed = jwt.encode({"sub": "u"}, key, algorithm="RS256", headers={"kid": "k1"})
    assert client.get_signing_key_from_jwt(signed).key_id == "k1"
    rotated = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rotated_public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rotated.public_key()))
    published["keys"] = [{**rotated_public, "kid": "k2", "alg": "RS256", "use": "sig"}]  # the pool drops k1
    clock["now"] += authorizer.JWKS_LIFESPAN_SECONDS + 1
    with pytest.raises(jwt.PyJWKClientError):
        client.get_signing_key_from_jwt(signed)
    authorizer.JWKS_CLIENTS.clear()

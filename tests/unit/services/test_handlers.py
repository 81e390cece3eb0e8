"""Handlers at their edges: the authorizer's decisions, the handshake statuses and bodies, the
heartbeat's write-free path and the delivery's patience with 410."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace
from unittest import mock

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from session_management import contracts
from session_management import resource_names as names
from session_management.deferred_delivery import DELIVERY_SOURCE
from session_management.dependencies import dependencies
from session_management.handlers import authorizer, connection, disconnect, heartbeat

CONTEXT = SimpleNamespace(
    function_name="fn",
    memory_limit_in_mb=128,
    invoked_function_arn="arn:aws:lambda:us-east-1:1:function:fn",
    aws_request_id="req-1",
)
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/$connect"
ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool1"


@pytest.fixture(scope="module")
def signing_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwks(signing_key):
    """The pool's JWKS, served to PyJWKClient without a network."""
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key()))
    public.update({"kid": "key-1", "alg": "RS256", "use": "sig"})
    authorizer.JWKS_CLIENTS.clear()
    with mock.patch.object(jwt.PyJWKClient, "fetch_data", return_value={"keys": [public]}):
        yield
    authorizer.JWKS_CLIENTS.clear()


def token(signing_key, **overrides):
    now = int(time.time())
    claims = {"sub": "user-1", "iss": ISSUER, "aud": "testclient", "token_use": "id", "iat": now, "exp": now + 3600}
    claims.update(overrides)
    return jwt.encode(claims, signing_key, algorithm="RS256", headers={"kid": "key-1"})


def authorize(query):
    return authorizer.handler({"methodArn": METHOD_ARN, "queryStringParameters": query}, CONTEXT)


def test_a_valid_speaker_token_is_allowed_with_its_user_in_the_context(jwks, signing_key):
    result = authorize({"action": "createSession", "token": token(signing_key)})
    assert result["principalId"] == "user-1"
    assert result["context"]["userId"] == "user-1"
    assert result["policyDocument"]["Statement"][0] == {
        "Action": "execute-api:Invoke",
        "Effect": "Allow",
        "Resource": METHOD_ARN,
    }


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": int(time.time()) - 60},
        {"aud": "another-client"},
        {"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"},
        {"token_use": "access"},
    ],
    ids=["expired", "wrong-audience", "wrong-issuer", "access-token"],
)
def test_bad_speaker_tokens_are_unauthorized(jwks, signing_key, claims):
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize({"action": "createSession", "token": token(signing_key, **claims)})


def test_a_token_signed_by_another_key_is_unauthorized(jwks):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize({"action": "createSession", "token": token(other)})


def test_create_without_a_token_is_unauthorized():
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize({"action": "createSession", "sourceLanguage": "en"})


@pytest.mark.parametrize("query", [{"action": "joinSession", "sessionId": "golden-eagle-427"}, None])
def test_listeners_and_plain_connections_are_anonymous(query):
    result = authorize(query)
    assert result["principalId"] == "anonymous"
    assert result["policyDocument"]["Statement"][0]["Effect"] == "Allow"


def connect_event(query, user_id=None):
    context = {
        "connectionId": "conn-1",
        "domainName": "abc.execute-api.us-east-1.amazonaws.com",
        "stage": "prod",
        "eventType": "CONNECT",
        "routeKey": "$connect",
        "identity": {"sourceIp": "203.0.113.9"},
    }
    if user_id:
        context["authorizer"] = {"principalId": user_id, "userId": user_id}
    return {"requestContext": context, "queryStringParameters": query}


def message_event(raw, route="heartbeat"):
    return {"requestContext": {"connectionId": "conn-9", "routeKey": route, "eventType": "MESSAGE"}, "body": raw}


def body(response):
    payload = json.loads(response["body"])
    contracts.validate("error", payload)
    return payload


def test_create_schedules_the_delivery_through_an_async_self_invocation(dynamodb):
    with mock.patch("session_management.dependencies.lambda_client") as client:
        response = connection.handler(
            connect_event(
                {"action": "createSession", "sourceLanguage": "en", "qualityTier": "standard", "token": "t"}, "user-1"
            ),
            CONTEXT,
        )
    assert response == {"statusCode": 200}
    call = client.return_value.invoke.call_args.kwargs
    assert call["InvocationType"] == "Event"
    assert call["FunctionName"] == "session-connection-handler-test"
    payload = json.loads(call["Payload"])
    assert payload["endpoint"] == "https://abc.execute-api.us-east-1.amazonaws.com/prod"
    contracts.validate("session-created", payload["message"])


def test_create_without_an_authorized_user_is_401(dynamodb):
    response = connection.handler(
        connect_event({"action": "createSession", "sourceLanguage": "en", "qualityTier": "standard", "token": "t"}),
        CONTEXT,
    )
    assert response["statusCode"] == 401 and body(response)["code"] == "UNAUTHORIZED"


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({"action": "joinSession", "sessionId": "quiet-harbor-999", "targetLanguage": "es"}, 404, "SESSION_NOT_FOUND"),
        ({"action": "joinSession", "sessionId": "nope", "targetLanguage": "es"}, 400, "INVALID_SESSION_ID"),
        (
            {"action": "joinSession", "sessionId": "quiet-harbor-999", "targetLanguage": "xx"},
            400,
            "UNSUPPORTED_LANGUAGE",
        ),
        ({"action": "dance"}, 400, "INVALID_PARAMETER"),
    ],
)
def test_refusals_carry_the_status_and_a_contract_body(dynamodb, query, status, code):
    response = connection.handler(connect_event(query), CONTEXT)
    assert response["statusCode"] == status
    assert body(response)["code"] == code


def test_dynamodb_unavailable_is_503_and_no_stack_trace_leaks(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")
    response = connection.handler(
        connect_event({"action": "joinSession", "sessionId": "quiet-harbor-999", "targetLanguage": "es"}), CONTEXT
    )
    assert response["statusCode"] == 503
    assert body(response)["code"] == "SERVICE_UNAVAILABLE"
    assert "Traceback" not in response["body"]


def test_heartbeat_acks_without_touching_dynamodb(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")
    with mock.patch("botocore.client.BaseClient._make_api_call", side_effect=AssertionError("no AWS call")):
        response = heartbeat.handler(message_event(json.dumps({"action": "heartbeat", "timestamp": 5})), CONTEXT)
    ack = json.loads(response["body"])
    contracts.validate("heartbeat-ack", ack)
    assert ack["clientTimestamp"] == 5


@pytest.mark.parametrize("raw", ["not json", "[]", json.dumps({"action": "heartbeat", "timestamp": "soon"})])
def test_malformed_heartbeats_get_invalid_message(raw):
    response = heartbeat.handler(message_event(raw), CONTEXT)
    assert json.loads(response["body"])["code"] == "INVALID_MESSAGE"


class Gone(Exception):
    pass


def delivery_event(message: dict) -> dict:
    return {"source": DELIVERY_SOURCE, "connectionId": "c", "endpoint": "https://x/prod", "message": message}


def live_connection(dynamodb, connection_id: str = "c") -> None:
    dynamodb.put_item(
        TableName=names.connections_table("test"),
        Item={
            "connectionId": {"S": connection_id},
            "sessionId": {"S": "quiet-harbor-999"},
            "role": {"S": "listener"},
            "connectedAt": {"N": "1"},
            "ttl": {"N": "9999999999"},
        },
    )


def management_api(*outcomes):
    client = mock.Mock()
    client.exceptions.GoneException = Gone
    client.post_to_connection.side_effect = list(outcomes)
    return mock.patch("session_management.connections_api.management_client", return_value=client), client


def test_delivery_retries_410_until_the_connection_is_live(dynamodb):
    live_connection(dynamodb)
    patched, client = management_api(Gone(), Gone(), None)
    with patched:
        assert connection.handler(delivery_event({"type": "connectionRefreshComplete"}), CONTEXT) == {"delivered": True}
    assert client.post_to_connection.call_count == 3


def test_a_duplicate_delivery_posts_nothing(dynamodb):
    """Lambda may deliver an asynchronous event twice: the second finds the first's mark."""
    live_connection(dynamodb)
    patched, client = management_api(None, None)
    event = delivery_event({"type": "connectionRefreshComplete"})
    with patched:
        assert connection.handler(event, CONTEXT) == {"delivered": True}
        assert connection.handler(event, CONTEXT) == {"delivered": False, "duplicate": True}
    assert client.post_to_connection.call_count == 1


def test_a_duplicate_running_at_the_same_time_is_held_off_and_a_later_retry_takes_over(dynamodb):
    live_connection(dynamodb)
    repos = dependencies().repositories
    now = int(time.time() * 1000)
    assert repos.connections.claim_delivery("c", "connectionRefreshComplete", now, 15_000)  # the first attempt
    patched, client = management_api(None)
    with patched:
        event = delivery_event({"type": "connectionRefreshComplete"})
        assert connection.handler(event, CONTEXT) == {"delivered": False, "duplicate": True}
        assert client.post_to_connection.call_count == 0
        # The first attempt crashed; Lambda's retry comes a minute later, after the lease ran out.
        with mock.patch("session_management.deferred_delivery.time.time", return_value=now / 1000 + 60):
            assert connection.handler(event, CONTEXT) == {"delivered": True}
    assert client.post_to_connection.call_count == 1


def test_a_delivery_to_a_gone_connection_posts_nothing(dynamodb):
    patched, client = management_api(None)
    with patched:
        assert connection.handler(delivery_event({"type": "connectionRefreshComplete"}), CONTEXT)["duplicate"]
    assert client.post_to_connection.call_count == 0


def test_a_late_session_created_for_a_session_that_ended_is_dropped(dynamodb):
    with mock.patch("session_management.dependencies.lambda_client") as client:
        connection.handler(
            connect_event(
                {"action": "createSession", "sourceLanguage": "en", "qualityTier": "standard", "token": "t"}, "user-1"
            ),
            CONTEXT,
        )
    event = json.loads(client.return_value.invoke.call_args.kwargs["Payload"])
    dynamodb.update_item(
        TableName=names.sessions_table("test"),
        Key={"sessionId": {"S": event["message"]["sessionId"]}},
        UpdateExpression="SET isActive = :false",
        ExpressionAttributeValues={":false": {"BOOL": False}},
    )
    patched, management = management_api(None)
    with patched:
        assert connection.handler(event, CONTEXT) == {"delivered": False, "stale": True}
    assert management.post_to_connection.call_count == 0


def test_disconnect_of_an_unknown_connection_is_harmless(dynamodb):
    event = {"requestContext": {"connectionId": "never-seen", "disconnectStatusCode": 1001}}
    assert disconnect.handler(event, CONTEXT) == {"statusCode": 200}

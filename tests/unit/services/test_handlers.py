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
    authorizer._JWKS_CLIENTS.clear()
    with mock.patch.object(jwt.PyJWKClient, "fetch_data", return_value={"keys": [public]}):
        yield
    authorizer._JWKS_CLIENTS.clear()


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
    with mock.patch("session_management.handlers.connection.lambda_client") as client:
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


def test_delivery_retries_410_until_the_connection_is_live():
    client = mock.Mock()
    client.exceptions.GoneException = Gone
    client.post_to_connection.side_effect = [Gone(), Gone(), None]
    event = {
        "source": connection.DELIVERY_SOURCE,
        "connectionId": "c",
        "endpoint": "https://x/prod",
        "message": {"a": 1},
    }
    with mock.patch("session_management.management_api.management_client", return_value=client):
        assert connection.handler(event, CONTEXT) == {"delivered": True}
    assert client.post_to_connection.call_count == 3


def test_disconnect_of_an_unknown_connection_is_harmless(dynamodb):
    event = {"requestContext": {"connectionId": "never-seen", "disconnectStatusCode": 1001}}
    assert disconnect.handler(event, CONTEXT) == {"statusCode": 200}

"""Every event shape the gateway builds is accepted by Powertools for AWS Lambda's parser models."""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayWebSocketConnectEventModel,
    APIGatewayWebSocketDisconnectEventModel,
    APIGatewayWebSocketMessageEventModel,
)

from local_stack.apigateway import events
from local_stack.apigateway.ids import new_connection_id, owner_of
from local_stack.apigateway.models import Connection

CONTEXT = {"api_id": "abcdefghij", "stage": "prod", "domain_name": "127.0.0.1:8443"}


def connection(**overrides):
    fields = {
        "connection_id": new_connection_id(2),
        "connected_at_ms": 1_700_000_000_000,
        "source_ip": "127.0.0.1",
        "user_agent": "pytest",
        "headers": {"Host": "127.0.0.1:8080", "Sec-WebSocket-Version": "13"},
        "multi_value_headers": {"Host": ["127.0.0.1:8080"], "Sec-WebSocket-Version": ["13"]},
        "query": {"action": "joinSession"},
        "multi_value_query": {"action": ["joinSession"]},
        "authorizer": {"principalId": "anonymous"},
    }
    fields.update(overrides)
    return Connection(**fields)


def test_connection_ids_look_like_api_gateways_and_name_their_process():
    connection_id = new_connection_id(3)
    assert len(connection_id) == 16 and connection_id.endswith("=")
    assert owner_of(connection_id) == 3
    assert owner_of("not base64!") is None


def test_connect_event_matches_the_powertools_model():
    event = events.connect_event(connection(), **CONTEXT)
    parsed = APIGatewayWebSocketConnectEventModel.model_validate(event)
    assert parsed.request_context.route_key == "$connect"
    assert event["queryStringParameters"] == {"action": "joinSession"}
    assert event["requestContext"]["authorizer"]["principalId"] == "anonymous"


def test_connect_event_without_query_has_no_query_fields():
    event = events.connect_event(connection(query=None, multi_value_query=None), **CONTEXT)
    APIGatewayWebSocketConnectEventModel.model_validate(event)
    assert "queryStringParameters" not in event


def test_message_event_matches_the_powertools_model():
    event = events.message_event(connection(), "heartbeat", '{"action":"heartbeat"}', False, **CONTEXT)
    parsed = APIGatewayWebSocketMessageEventModel.model_validate(event)
    assert parsed.request_context.message_id


def test_disconnect_event_carries_the_close_code():
    event = events.disconnect_event(connection(close_code=1001, close_reason="Going away"), **CONTEXT)
    parsed = APIGatewayWebSocketDisconnectEventModel.model_validate(event)
    assert parsed.request_context.disconnect_status_code == 1001


def test_connected_at_is_fixed_at_the_handshake_across_events():
    conn = connection()
    stamps = {
        events.connect_event(conn, **CONTEXT)["requestContext"]["connectedAt"],
        events.message_event(conn, "heartbeat", "{}", False, **CONTEXT)["requestContext"]["connectedAt"],
        events.disconnect_event(conn, **CONTEXT)["requestContext"]["connectedAt"],
    }
    assert stamps == {conn.connected_at_ms}

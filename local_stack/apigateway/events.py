"""Lambda events in exactly the shape API Gateway sends for WebSocket APIs.

The test suite validates every event built here against Powertools for AWS Lambda's parser
models, which nobody on this project wrote.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from local_stack.apigateway.ids import new_message_id, new_request_id
from local_stack.apigateway.models import Connection


def _request_time(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def _identity(connection: Connection) -> dict[str, str]:
    identity = {"sourceIp": connection.source_ip}
    if connection.user_agent is not None:
        identity["userAgent"] = connection.user_agent
    return identity


def request_context(
    connection: Connection,
    *,
    route_key: str,
    event_type: str,
    api_id: str,
    stage: str,
    domain_name: str,
    request_id: str | None = None,
) -> dict[str, Any]:
    now_ms = int(time.time() * 1000)
    context: dict[str, Any] = {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id or new_request_id(),
        "requestTime": _request_time(now_ms),
        "messageDirection": "IN",
        "stage": stage,
        "connectedAt": connection.connected_at_ms,
        "requestTimeEpoch": now_ms,
        "identity": _identity(connection),
        "requestId": request_id or new_request_id(),
        "domainName": domain_name,
        "connectionId": connection.connection_id,
        "apiId": api_id,
    }
    if connection.authorizer is not None:
        context["authorizer"] = dict(connection.authorizer)
    return context


def connect_event(connection: Connection, **context_args: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "headers": connection.headers,
        "multiValueHeaders": connection.multi_value_headers,
        "requestContext": request_context(connection, route_key="$connect", event_type="CONNECT", **context_args),
        "isBase64Encoded": False,
    }
    if connection.query:
        event["queryStringParameters"] = connection.query
        event["multiValueQueryStringParameters"] = connection.multi_value_query
    return event


def authorizer_event(connection: Connection, method_arn: str, **context_args: Any) -> dict[str, Any]:
    event = connect_event(connection, **context_args)
    event["requestContext"].pop("authorizer", None)
    event.update({"type": "REQUEST", "methodArn": method_arn, "stageVariables": {}})
    return event


def message_event(
    connection: Connection, route_key: str, body: str, is_base64: bool, **context_args: Any
) -> dict[str, Any]:
    context = request_context(connection, route_key=route_key, event_type="MESSAGE", **context_args)
    context["messageId"] = new_message_id()
    return {"requestContext": context, "body": body, "isBase64Encoded": is_base64}


def disconnect_event(connection: Connection, **context_args: Any) -> dict[str, Any]:
    context = request_context(connection, route_key="$disconnect", event_type="DISCONNECT", **context_args)
    context["disconnectStatusCode"] = connection.close_code if connection.close_code is not None else 1006
    context["disconnectReason"] = connection.close_reason
    host = connection.headers.get("Host", "")
    headers = {
        "Host": host,
        "x-api-key": "",
        "X-Forwarded-For": "",
        "x-restapi": "",
    }
    return {
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "requestContext": context,
        "isBase64Encoded": False,
    }

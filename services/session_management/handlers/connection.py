"""`$connect` (createSession, joinSession, refreshConnection in the query string, or a plain
connection) and the message forms `createSession` and `joinSession` that browsers need.

`sessionCreated` and `connectionRefreshComplete` cannot be sent during `$connect`: API Gateway
answers PostToConnection with 410 until this function returns. So the function invokes itself
asynchronously with a delivery event, and that invocation posts as soon as the connection is live.
"""

from __future__ import annotations

import json
import os
import random
import time
from typing import Any

from session_management import handshake, lifecycle, messages
from session_management.aws import lambda_client
from session_management.edge import caller_from_event, guarded, read_message, response
from session_management.errors import ErrorCode, ServiceError
from session_management.management_api import post_json
from session_management.metrics import metrics, record_latency
from session_management.observability import hash_id, log_unexpected, logger
from session_management.repositories.sessions import Session

DELIVERY_SOURCE = "session-management.delivery"
DELIVERY_DEADLINE_SECONDS = 5.0


def _schedule_delivery(connection_id: str, endpoint: str, message: dict[str, Any]) -> None:
    payload = {"source": DELIVERY_SOURCE, "connectionId": connection_id, "endpoint": endpoint, "message": message}
    lambda_client().invoke(
        FunctionName=os.environ["AWS_LAMBDA_FUNCTION_NAME"],
        InvocationType="Event",
        Payload=json.dumps(payload).encode(),
    )


def deliver(event: dict[str, Any]) -> dict[str, Any]:
    """Post once the connection is live: 410 means '$connect has not returned yet' for a short while."""
    connection_id = event["connectionId"]
    deadline = time.monotonic() + DELIVERY_DEADLINE_SECONDS
    delay = 0.025
    while True:
        if post_json(event["endpoint"], connection_id, event["message"]):
            if event["message"].get("type") == "sessionCreated":
                lifecycle.repositories().sessions.mark_created_delivered(event["message"]["sessionId"])
            return {"delivered": True}
        if time.monotonic() + delay > deadline:
            logger.warning("delivery abandoned: connection gone", extra={"connection": hash_id(connection_id)})
            return {"delivered": False}
        time.sleep(delay * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not security
        delay = min(delay * 2, 0.4)


def _session_created(session: Session, connection_id: str) -> dict[str, Any]:
    return messages.session_created(
        session_id=session.session_id,
        source_language=session.source_language,
        quality_tier=session.quality_tier,
        connection_id=connection_id,
        expires_at_ms=session.expires_at_ms,
    )


def _refresh_complete(session: Session, request: handshake.RefreshRequest, connection_id: str) -> dict[str, Any]:
    return messages.connection_refresh_complete(
        session_id=session.session_id,
        role=request.role,
        connection_id=connection_id,
        target_language=request.target_language,
    )


def _handshake(event: dict[str, Any]) -> dict[str, Any]:
    caller = caller_from_event(event)
    query = event.get("queryStringParameters") or {}
    action = query.get("action")
    started = time.monotonic()
    if action == "createSession":
        session = lifecycle.create_session(handshake.parse_create(query), caller, delivered_later=True)
        _schedule_delivery(caller.connection_id, caller.endpoint, _session_created(session, caller.connection_id))
        record_latency("SessionCreationLatency", started)
    elif action == "joinSession":
        lifecycle.join_session(handshake.parse_join(query), caller)
        record_latency("ListenerJoinLatency", started)
    elif action == "refreshConnection":
        request = handshake.parse_refresh(query)
        session = lifecycle.refresh_connection(request, caller)
        _schedule_delivery(
            caller.connection_id, caller.endpoint, _refresh_complete(session, request, caller.connection_id)
        )
    elif action is not None:
        raise ServiceError(
            ErrorCode.INVALID_PARAMETER,
            "action must be createSession, joinSession or refreshConnection",
            parameter="action",
        )
    return response(200)


def _message(event: dict[str, Any]) -> dict[str, Any]:
    caller = caller_from_event(event)
    message = read_message(event)
    request_id = message.get("requestId")
    started = time.monotonic()
    if message["action"] == "createSession":
        session = lifecycle.create_session(handshake.parse_create(message, "create-session"), caller)
        record_latency("SessionCreationLatency", started)
        return response(200, _session_created(session, caller.connection_id))
    joined = lifecycle.join_session(handshake.parse_join(message, "join-session"), caller)
    record_latency("ListenerJoinLatency", started)
    return response(
        200,
        messages.session_joined(
            session_id=joined.session.session_id,
            target_language=message["targetLanguage"],
            source_language=joined.session.source_language,
            connection_id=caller.connection_id,
            listener_count=joined.session.listener_count,
            request_id=request_id,
        ),
    )


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event.get("source") == DELIVERY_SOURCE:
        try:
            return deliver(event)
        except Exception as exc:  # the management API unreachable: logged without a traceback
            log_unexpected(exc)
            return {"delivered": False}
    if event.get("requestContext", {}).get("eventType") == "CONNECT":
        return guarded(event, lambda: _handshake(event), handshake=True)
    return guarded(event, lambda: _message(event), handshake=False)

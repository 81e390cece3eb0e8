"""`$connect`: speakers create sessions, listeners join them; the handshake status is the answer.

`sessionCreated` cannot be sent from here: API Gateway answers PostToConnection with 410 until
this function returns. So the function invokes itself asynchronously with a delivery event and
that invocation posts the message as soon as the connection is live.
"""

from __future__ import annotations

import json
import os
import random
import time
from typing import Any

from session_management import handshake, lifecycle, messages
from session_management.aws import lambda_client
from session_management.errors import ErrorCode, ServiceError
from session_management.management_api import endpoint_from_event, post_json
from session_management.observability import hash_id, log_unexpected, logger

DELIVERY_SOURCE = "session-management.delivery"
DELIVERY_DEADLINE_SECONDS = 5.0


def _response(status: int, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"statusCode": status}
    if body is not None:
        response["body"] = json.dumps(body)
    return response


def _refuse(error: ServiceError) -> dict[str, Any]:
    logger.info("handshake refused", extra={"code": error.code.value})
    return _response(error.code.http_status, messages.from_service_error(error))


def _create(event: dict[str, Any], query: dict[str, str], connection_id: str) -> dict[str, Any]:
    request = handshake.parse_create(query)
    user_id = (event["requestContext"].get("authorizer") or {}).get("userId")
    if not user_id:
        raise ServiceError(ErrorCode.UNAUTHORIZED, "Invalid token")
    session = lifecycle.create_session(request, user_id=user_id, connection_id=connection_id)
    message = messages.session_created(
        session_id=session.session_id,
        source_language=session.source_language,
        quality_tier=session.quality_tier,
        connection_id=connection_id,
        expires_at_ms=session.expires_at_ms,
    )
    _schedule_delivery(event, connection_id, message)
    return _response(200)


def _schedule_delivery(event: dict[str, Any], connection_id: str, message: dict[str, Any]) -> None:
    payload = {
        "source": DELIVERY_SOURCE,
        "connectionId": connection_id,
        "endpoint": endpoint_from_event(event),
        "message": message,
    }
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
            return {"delivered": True}
        if time.monotonic() + delay > deadline:
            logger.warning("delivery abandoned: connection gone", extra={"connection": hash_id(connection_id)})
            return {"delivered": False}
        time.sleep(delay * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not security
        delay = min(delay * 2, 0.4)


def _connect(event: dict[str, Any]) -> dict[str, Any]:
    context = event["requestContext"]
    connection_id = context["connectionId"]
    query = event.get("queryStringParameters") or {}
    action = query.get("action")
    try:
        if action == "createSession":
            return _create(event, query, connection_id)
        if action == "joinSession":
            lifecycle.join_session(handshake.parse_join(query), connection_id=connection_id)
            return _response(200)
        if action is None:
            return _response(200)  # a plain connection; it may create or join by message
        raise ServiceError(
            ErrorCode.INVALID_PARAMETER, "action must be createSession or joinSession", parameter="action"
        )
    except ServiceError as error:
        return _refuse(error)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event.get("source") == DELIVERY_SOURCE:
        return deliver(event)
    try:
        return _connect(event)
    except Exception as exc:
        log_unexpected(exc)
        return _response(500, messages.error(ErrorCode.INTERNAL_ERROR, "Internal error; retry later"))

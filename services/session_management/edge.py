"""What every WebSocket handler does at its edge: running the work and turning its outcome into
an API Gateway response.

A handshake answers with an HTTP status and the error as the body; a message answers through
the route response with the same error contract, echoing the message's requestId. Unexpected
failures become INTERNAL_ERROR with no stack trace. A handler that keeps abuse limits passes a
`RefusalRecorder`, so the edge itself touches no table (the heartbeat and `$default` routes).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from session_management import messages
from session_management.bodies import MessageBody
from session_management.caller import Caller
from session_management.errors import ErrorCode, ServiceError
from session_management.metrics import record_error
from session_management.observability import log_unexpected, logger

RefusalRecorder = Callable[[Caller, ServiceError], None]
"""Counts a refusal against the caller (see abuse_limits.record_refusal)."""


def response(status: int, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"statusCode": status}
    if body is not None:
        result["body"] = json.dumps(body)
    return result


def answer_handshake(
    event: Mapping[str, Any], work: Callable[[], dict[str, Any]], record_refusal: RefusalRecorder | None = None
) -> dict[str, Any]:
    """Run a `$connect` handshake's work; refusals answer with their HTTP status."""
    return _answer(event, work, None, record_refusal)


def answer_message(
    event: Mapping[str, Any],
    work: Callable[[dict[str, Any]], dict[str, Any]],
    record_refusal: RefusalRecorder | None = None,
) -> dict[str, Any]:
    """Read the message (its body parsed once) and run `work` on it; refusals echo its requestId."""
    body = MessageBody.of(event.get("body"))
    return _answer(event, lambda: work(body.message()), body.request_id, record_refusal)


def _answer(
    event: Mapping[str, Any],
    work: Callable[[], dict[str, Any]],
    request_id: str | None,
    record_refusal: RefusalRecorder | None,
) -> dict[str, Any]:
    try:
        return work()
    except ServiceError as error:
        logger.info("refused", extra={"code": error.code.value, "route": event["requestContext"].get("routeKey")})
        record_error(error.code.value)
        if record_refusal is not None:
            try:
                record_refusal(Caller.from_event(event), error)
            except Exception as exc:  # counting failures must never turn a refusal into a crash
                log_unexpected(exc)
        return response(error.code.http_status, messages.from_service_error(error, request_id))
    except Exception as exc:
        log_unexpected(exc)
        return response(
            500, messages.error(ErrorCode.INTERNAL_ERROR, "Internal error; retry later", request_id=request_id)
        )

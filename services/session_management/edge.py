"""What every handler does at its edge: who is calling, reading a message against its contract,
and turning outcomes into API Gateway responses.

A handshake answers with an HTTP status and the error as the body; a message answers through
the route response with the same error contract. Unexpected failures become INTERNAL_ERROR with
no stack trace, and refusals count against the caller's address (see lifecycle's abuse limits).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from session_management import contracts, messages
from session_management.errors import ErrorCode, ServiceError
from session_management.json_input import parse_json
from session_management.lifecycle import Caller, record_failure, repositories
from session_management.management_api import endpoint_from_event
from session_management.metrics import record_error
from session_management.observability import log_unexpected, logger

MAX_BODY_CHARS = 32 * 1024


def caller_from_event(event: Mapping[str, Any]) -> Caller:
    context = event["requestContext"]
    authorizer = context.get("authorizer") or {}
    return Caller(
        connection_id=context["connectionId"],
        endpoint=endpoint_from_event(event),
        source_ip=(context.get("identity") or {}).get("sourceIp", ""),
        user_id=authorizer.get("userId") or None,
    )


def response(status: int, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"statusCode": status}
    if body is not None:
        result["body"] = json.dumps(body)
    return result


def read_message(event: Mapping[str, Any]) -> dict[str, Any]:
    """The body as a message valid against its inbound contract, or INVALID_MESSAGE."""
    raw = event.get("body") or ""
    if len(raw) > MAX_BODY_CHARS:
        raise ServiceError(ErrorCode.INVALID_MESSAGE, "Message too large")
    message = parse_json(raw, "Message")
    if not isinstance(message, dict):
        raise ServiceError(ErrorCode.INVALID_MESSAGE, "Message must be a JSON object")
    try:
        contracts.validate_inbound(message)
    except contracts.ContractViolation as exc:
        raise ServiceError(ErrorCode.INVALID_MESSAGE, f"Invalid message: {exc.reason}"[:1024]) from None
    return message


def request_id_of(event: Mapping[str, Any]) -> str | None:
    try:
        value = json.loads(event.get("body") or "{}").get("requestId")
    except (ValueError, AttributeError, RecursionError):
        return None
    return value if isinstance(value, str) and 0 < len(value) <= 128 else None


def guarded(event: Mapping[str, Any], work: Callable[[], dict[str, Any]], *, handshake: bool) -> dict[str, Any]:
    """Run `work`, mapping refusals to the error contract and recording failures per address."""
    request_id = None if handshake else request_id_of(event)
    try:
        return work()
    except ServiceError as error:
        logger.info("refused", extra={"code": error.code.value, "route": event["requestContext"].get("routeKey")})
        record_error(error.code.value)
        if handshake or error.code in (ErrorCode.SESSION_NOT_FOUND, ErrorCode.INVALID_SESSION_ID):
            try:
                record_failure(repositories(), caller_from_event(event), error)
            except Exception as exc:  # counting failures must never turn a refusal into a crash
                log_unexpected(exc)
        return response(error.code.http_status, messages.from_service_error(error, request_id))
    except Exception as exc:
        log_unexpected(exc)
        return response(
            500, messages.error(ErrorCode.INTERNAL_ERROR, "Internal error; retry later", request_id=request_id)
        )

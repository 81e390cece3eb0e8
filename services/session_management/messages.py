"""Builders for every message the services send. Each is checked against its contract as it is
built, so a message that breaks the contract fails in tests, not in a client."""

from __future__ import annotations

import time
from typing import Any

from session_management import contracts
from session_management.errors import ErrorCode, ServiceError

EMITTED_MESSAGE_TYPES: frozenset[str] = frozenset({"sessionCreated", "heartbeatAck", "error"})


def now_ms() -> int:
    return int(time.time() * 1000)


def _checked(message: dict[str, Any]) -> dict[str, Any]:
    contracts.validate_outbound(message)
    return message


def session_created(
    *, session_id: str, source_language: str, quality_tier: str, connection_id: str, expires_at_ms: int
) -> dict[str, Any]:
    return _checked(
        {
            "type": "sessionCreated",
            "sessionId": session_id,
            "sourceLanguage": source_language,
            "qualityTier": quality_tier,
            "connectionId": connection_id,
            "expiresAt": expires_at_ms,
            "timestamp": now_ms(),
        }
    )


def heartbeat_ack(*, client_timestamp: int | None = None, request_id: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "heartbeatAck", "timestamp": now_ms()}
    if client_timestamp is not None:
        message["clientTimestamp"] = client_timestamp
    if request_id is not None:
        message["requestId"] = request_id
    return _checked(message)


def error(
    code: ErrorCode,
    message: str,
    *,
    parameter: str | None = None,
    session_id: str | None = None,
    retry_after: int | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {"type": "error", "code": code.value, "message": message}
    optional = {"parameter": parameter, "sessionId": session_id, "retryAfter": retry_after, "requestId": request_id}
    payload.update({k: v for k, v in optional.items() if v is not None})
    return _checked(payload)


def from_service_error(exc: ServiceError, request_id: str | None = None) -> dict[str, Any]:
    return error(
        exc.code,
        exc.message,
        parameter=exc.parameter,
        session_id=exc.session_id,
        retry_after=exc.retry_after,
        request_id=request_id,
    )

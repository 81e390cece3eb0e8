"""Builders for every message the services send. Each is checked against its contract as it is
built, so a message that breaks the contract fails in tests, not in a client."""

from __future__ import annotations

import time
from typing import Any

from session_management import contracts
from session_management.errors import ErrorCode, ServiceError

EMITTED_MESSAGE_TYPES: frozenset[str] = frozenset(contracts.OUTBOUND_SCHEMAS)
"""Every message type the services may send: one per outbound contract (contracts/schemas)."""


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


def _message(message_type: str, request_id: str | None = None, **fields: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"type": message_type, **{k: v for k, v in fields.items() if v is not None}}
    message["timestamp"] = now_ms()
    if request_id is not None:
        message["requestId"] = request_id
    return _checked(message)


def session_joined(
    *,
    session_id: str,
    target_language: str,
    source_language: str,
    connection_id: str,
    listener_count: int,
    request_id: str | None = None,
) -> dict[str, Any]:
    return _message(
        "sessionJoined",
        request_id,
        sessionId=session_id,
        targetLanguage=target_language,
        sourceLanguage=source_language,
        connectionId=connection_id,
        listenerCount=listener_count,
    )


def broadcast_state_changed(*, session_id: str, state: dict[str, Any], request_id: str | None = None) -> dict[str, Any]:
    return _message("broadcastStateChanged", request_id=request_id, sessionId=session_id, state=state)


def control_acknowledged(
    *,
    control: str,
    session_id: str | None = None,
    state: dict[str, Any] | None = None,
    target_language: str | None = None,
    notified: int | None = None,
    failed: int | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    return _message(
        "controlAcknowledged",
        request_id,
        control=control,
        sessionId=session_id,
        state=state,
        targetLanguage=target_language,
        listenersNotified=notified,
        listenersFailed=failed,
    )


def session_status(
    *,
    session_id: str,
    is_active: bool,
    listener_count: int,
    broadcast_state: dict[str, Any],
    language_distribution: dict[str, int] | None = None,
    created_at: int | None = None,
    expires_at: int | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    return _message(
        "sessionStatus",
        request_id,
        sessionId=session_id,
        isActive=is_active,
        listenerCount=listener_count,
        languageDistribution=language_distribution,
        broadcastState=broadcast_state,
        createdAt=created_at,
        expiresAt=expires_at,
    )


def connection_refresh_required(
    *, session_id: str, role: str, connection_id: str, refresh_by: int, target_language: str | None = None
) -> dict[str, Any]:
    return _message(
        "connectionRefreshRequired",
        sessionId=session_id,
        role=role,
        connectionId=connection_id,
        targetLanguage=target_language,
        refreshBy=refresh_by,
    )


def connection_warning(*, session_id: str, remaining_seconds: int) -> dict[str, Any]:
    return _message("connectionWarning", sessionId=session_id, remainingSeconds=max(0, remaining_seconds))


def connection_refresh_complete(
    *, session_id: str, role: str, connection_id: str, target_language: str | None = None
) -> dict[str, Any]:
    return _message(
        "connectionRefreshComplete",
        sessionId=session_id,
        role=role,
        connectionId=connection_id,
        targetLanguage=target_language,
    )


def speaker_disconnected(*, session_id: str, reconnect_deadline: int) -> dict[str, Any]:
    return _message("speakerDisconnected", sessionId=session_id, reconnectDeadline=reconnect_deadline)


def speaker_reconnected(*, session_id: str) -> dict[str, Any]:
    return _message("speakerReconnected", sessionId=session_id)


def session_ended(*, session_id: str, reason: str) -> dict[str, Any]:
    return _message("sessionEnded", sessionId=session_id, reason=reason)

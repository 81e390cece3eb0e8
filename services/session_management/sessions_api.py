"""The HTTP session API (`/sessions`): what a speaker's dashboard can do with its own sessions.

It shares the lifecycle with the WebSocket routes (one way to create, one way to end) and the
JSON Schemas in contracts/. A session belongs to the Cognito user who created it; anyone else
gets 404, so the API never tells a stranger which ids exist.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import replace
from typing import Any

from session_management import contracts, lifecycle
from session_management.config import load_settings
from session_management.errors import ErrorCode, ServiceError
from session_management.handshake import CreateSessionRequest, language_code
from session_management.json_input import parse_json
from session_management.repositories.sessions import Session
from session_management.session_ids import is_session_id

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
MAX_BODY_BYTES = 16 * 1024


def session_view(session: Session) -> dict[str, Any]:
    """The owner's view: no connection ids (they are capabilities for @connections)."""
    view: dict[str, Any] = {
        "sessionId": session.session_id,
        "status": "active" if session.is_active else "ended",
        "sourceLanguage": session.source_language,
        "qualityTier": session.quality_tier,
        "listenerCount": max(0, session.listener_count),
        "speakerConnected": session.is_active and session.speaker_disconnected_at_ms is None,
        "createdAt": session.created_at_ms,
        "expiresAt": session.expires_at_ms,
        "broadcastState": session.broadcast_state.to_message(),
    }
    if session.is_active and session.speaker_disconnected_at_ms is not None:
        grace_ms = int(load_settings().speaker_reconnect_grace_seconds * 1000)
        view["speakerDeadline"] = session.speaker_disconnected_at_ms + grace_ms
    if session.end_reason:
        view["endReason"] = session.end_reason[:64]
    contracts.validate("http-session", view)
    return view


def read_body(raw: str | None, schema_name: str) -> dict[str, Any]:
    if not raw:
        raise ServiceError(ErrorCode.INVALID_MESSAGE, "A JSON body is required")
    if len(raw) > MAX_BODY_BYTES:
        raise ServiceError(ErrorCode.INVALID_MESSAGE, "Body too large")
    body = parse_json(raw, "Body")
    try:
        contracts.validate(schema_name, body)
    except contracts.ContractViolation as exc:
        parameter = (exc.path or "body")[:64]
        raise ServiceError(
            ErrorCode.INVALID_PARAMETER, f"Invalid body: {exc.reason}"[:1024], parameter=parameter
        ) from None
    if not isinstance(body, dict):
        raise ServiceError(ErrorCode.INVALID_MESSAGE, "Body must be a JSON object")
    return body


def _owned(session_id: str, user_id: str) -> Session:
    if not is_session_id(session_id):
        raise ServiceError(
            ErrorCode.INVALID_SESSION_ID, "sessionId must look like golden-eagle-427", parameter="sessionId"
        )
    session = lifecycle.repositories().sessions.get(session_id)
    if session is None or session.speaker_user_id != user_id:
        raise ServiceError(ErrorCode.SESSION_NOT_FOUND, f"Session {session_id} not found", session_id=session_id)
    return session


def create(raw_body: str | None, user_id: str, websocket_endpoint: str) -> dict[str, Any]:
    body = read_body(raw_body, "http-create-session-request")
    request = CreateSessionRequest(
        source_language=language_code(body["sourceLanguage"], "sourceLanguage"),
        quality_tier=body.get("qualityTier", "standard"),
    )
    return session_view(lifecycle.create_waiting_session(request, user_id, websocket_endpoint))


def get(session_id: str, user_id: str) -> dict[str, Any]:
    return session_view(_owned(session_id, user_id))


def _decode_token(token: str) -> dict[str, Any]:
    try:
        key = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error):
        key = None
    if not isinstance(key, dict) or set(key) != {"sessionId", "speakerUserId", "createdAt"}:
        raise ServiceError(ErrorCode.INVALID_PARAMETER, "nextToken is not one this API issued", parameter="nextToken")
    return key


def list_own(user_id: str, limit: str | None, next_token: str | None) -> dict[str, Any]:
    try:
        page_size = int(limit) if limit is not None else DEFAULT_PAGE_SIZE
    except ValueError:
        page_size = 0
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ServiceError(ErrorCode.INVALID_PARAMETER, f"limit must be 1 to {MAX_PAGE_SIZE}", parameter="limit")
    start_key = _decode_token(next_token) if next_token is not None else None
    if start_key is not None and start_key["speakerUserId"].get("S") != user_id:
        raise ServiceError(ErrorCode.INVALID_PARAMETER, "nextToken is not one this API issued", parameter="nextToken")
    sessions, last_key = lifecycle.repositories().sessions.by_speaker(user_id, page_size, start_key)
    result: dict[str, Any] = {"sessions": [session_view(s) for s in sessions]}
    if last_key:
        result["nextToken"] = base64.urlsafe_b64encode(json.dumps(last_key).encode()).decode().rstrip("=")
    return result


def update(session_id: str, raw_body: str | None, user_id: str) -> dict[str, Any]:
    body = read_body(raw_body, "http-update-session-request")
    session = _owned(session_id, user_id)
    repos = lifecycle.repositories()
    if "qualityTier" in body:
        if not repos.sessions.set_quality_tier(session_id, user_id, body["qualityTier"]):
            raise ServiceError(ErrorCode.SESSION_ENDED, f"Session {session_id} has ended", session_id=session_id)
        session = replace(session, quality_tier=body["qualityTier"])
    if body.get("status") == "ended":
        _end(session_id, user_id)
    return session_view(_owned(session_id, user_id))


def _end(session_id: str, user_id: str) -> None:
    """Ending is conditional on the speaker connection it read; a refresh in between means read again."""
    for _ in range(3):
        session = _owned(session_id, user_id)
        if not session.is_active or lifecycle.end_session(session, "speakerEnded"):
            return
    raise ServiceError(ErrorCode.SERVICE_UNAVAILABLE, "The session is changing; retry", retry_after=1)


def delete(session_id: str, user_id: str) -> None:
    """End it if it is active (listeners are told), then remove its record. Repeating it is harmless."""
    try:
        session = _owned(session_id, user_id)
    except ServiceError as error:
        if error.code is ErrorCode.SESSION_NOT_FOUND:
            return
        raise
    if session.is_active:
        _end(session_id, user_id)
    lifecycle.repositories().sessions.delete(session_id, user_id)

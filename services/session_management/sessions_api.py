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
from session_management.bodies import read_http_body
from session_management.config import Settings
from session_management.dependencies import Repositories
from session_management.errors import ErrorCode, ServiceError
from session_management.listeners import ListenerFanout
from session_management.repositories.sessions import Session
from session_management.requests import CreateSessionRequest, language_code
from session_management.session_ids import is_session_id

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100


def session_view(session: Session, settings: Settings) -> dict[str, Any]:
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
        grace_ms = int(settings.speaker_reconnect_grace_seconds * 1000)
        view["speakerDeadline"] = session.speaker_disconnected_at_ms + grace_ms
    if session.end_reason:
        view["endReason"] = session.end_reason[:64]
    contracts.validate("http-session", view)
    return view


def _owned(session_id: str, user_id: str, repos: Repositories) -> Session:
    if not is_session_id(session_id):
        raise ServiceError(
            ErrorCode.INVALID_SESSION_ID, "sessionId must look like golden-eagle-427", parameter="sessionId"
        )
    session = repos.sessions.get(session_id)
    if session is None or session.speaker_user_id != user_id:
        raise ServiceError(ErrorCode.SESSION_NOT_FOUND, f"Session {session_id} not found", session_id=session_id)
    return session


def create(
    raw_body: str | None, user_id: str, websocket_endpoint: str, repos: Repositories, settings: Settings
) -> dict[str, Any]:
    body = read_http_body(raw_body, "http-create-session-request")
    request = CreateSessionRequest(
        source_language=language_code(body["sourceLanguage"], "sourceLanguage"),
        quality_tier=body.get("qualityTier", "standard"),
    )
    session = lifecycle.create_waiting_session(request, user_id, websocket_endpoint, repos, settings)
    return session_view(session, settings)


def get(session_id: str, user_id: str, repos: Repositories, settings: Settings) -> dict[str, Any]:
    return session_view(_owned(session_id, user_id, repos), settings)


def _decode_token(token: str) -> dict[str, Any]:
    try:
        key: Any = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error, RecursionError):
        key = None
    if not _is_issued_key(key):
        raise ServiceError(ErrorCode.INVALID_PARAMETER, "nextToken is not one this API issued", parameter="nextToken")
    issued: dict[str, Any] = key
    return issued


def _is_issued_key(key: Any) -> bool:
    """The shape of the LastEvaluatedKey this API encodes, attribute types included: anything else
    would reach DynamoDB as a malformed ExclusiveStartKey."""
    if not isinstance(key, dict) or set(key) != {"sessionId", "speakerUserId", "createdAt"}:
        return False
    strings = all(_attribute(key[name], "S") for name in ("sessionId", "speakerUserId"))
    created = _attribute(key["createdAt"], "N")
    return strings and created is not None and created.isdigit() and len(created) <= 20


def _attribute(value: Any, kind: str) -> str | None:
    inner = value.get(kind) if isinstance(value, dict) and set(value) == {kind} else None
    return inner if isinstance(inner, str) and inner else None


def list_own(
    user_id: str, limit: str | None, next_token: str | None, repos: Repositories, settings: Settings
) -> dict[str, Any]:
    try:
        page_size = int(limit) if limit is not None else DEFAULT_PAGE_SIZE
    except ValueError:
        page_size = 0
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ServiceError(ErrorCode.INVALID_PARAMETER, f"limit must be 1 to {MAX_PAGE_SIZE}", parameter="limit")
    start_key = _decode_token(next_token) if next_token is not None else None
    if start_key is not None and start_key["speakerUserId"].get("S") != user_id:
        raise ServiceError(ErrorCode.INVALID_PARAMETER, "nextToken is not one this API issued", parameter="nextToken")
    sessions, last_key = repos.sessions.by_speaker(user_id, page_size, start_key)
    result: dict[str, Any] = {"sessions": [session_view(s, settings) for s in sessions]}
    if last_key:
        result["nextToken"] = base64.urlsafe_b64encode(json.dumps(last_key).encode()).decode().rstrip("=")
    return result


def update(
    session_id: str,
    raw_body: str | None,
    user_id: str,
    repos: Repositories,
    settings: Settings,
    listeners: ListenerFanout,
) -> dict[str, Any]:
    body = read_http_body(raw_body, "http-update-session-request")
    session = _owned(session_id, user_id, repos)
    if "qualityTier" in body:
        if not repos.sessions.set_quality_tier(session_id, user_id, body["qualityTier"]):
            raise ServiceError(ErrorCode.SESSION_ENDED, f"Session {session_id} has ended", session_id=session_id)
        session = replace(session, quality_tier=body["qualityTier"])
    if body.get("status") == "ended":
        _end(session_id, user_id, repos, listeners)
    return session_view(_owned(session_id, user_id, repos), settings)


def _end(session_id: str, user_id: str, repos: Repositories, listeners: ListenerFanout) -> None:
    """Ending is conditional on the speaker connection it read; a refresh in between means read again."""
    for _ in range(3):
        session = _owned(session_id, user_id, repos)
        if not session.is_active or lifecycle.end_session(session, "speakerEnded", repos, listeners):
            return
    raise ServiceError(ErrorCode.SERVICE_UNAVAILABLE, "The session is changing; retry", retry_after=1)


def delete(session_id: str, user_id: str, repos: Repositories, listeners: ListenerFanout) -> None:
    """End it if it is active (listeners are told), then remove its record. Repeating it is harmless."""
    try:
        session = _owned(session_id, user_id, repos)
    except ServiceError as error:
        if error.code is ErrorCode.SESSION_NOT_FOUND:
            return
        raise
    if session.is_active:
        _end(session_id, user_id, repos, listeners)
    repos.sessions.delete(session_id, user_id)

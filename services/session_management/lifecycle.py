"""The session lifecycle: create, join, refresh, leave, end. One implementation behind every entry
point: the `$connect` handshake, the message forms browsers need, the HTTP API and the periodic job.

Every function takes what it touches (repositories, settings, the listener fan-out) as
parameters; the handlers wire them (see session_management.dependencies).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from session_management import abuse_limits, messages
from session_management.caller import Caller
from session_management.config import Settings
from session_management.dependencies import Repositories
from session_management.errors import ErrorCode, ServiceError
from session_management.listeners import ListenerFanout
from session_management.observability import hash_id, logger
from session_management.repositories.connections import (
    AlreadyConnected,
    Connection,
    GuardFailed,
    NotRefreshable,
    Role,
    SessionFull,
    SessionNotFound,
)
from session_management.repositories.sessions import (
    ConnectionAlreadyRegistered,
    NotTheSpeaker,
    Session,
    SessionIdTaken,
    TooManyActiveSessions,
    TooManyActiveSessionsForSpeaker,
)
from session_management.requests import CreateSessionRequest, JoinSessionRequest, RefreshRequest
from session_management.session_ids import MAX_ID_ATTEMPTS, generate_session_id

HOUR_SECONDS = 3600


def _ttl_seconds(settings: Settings, now: float) -> int:
    """Connection rows outlive their connection (at most sessionMaxDurationHours) by the retention
    window, then DynamoDB's TTL removes them."""
    return int(now + max(settings.session_max_duration_hours, settings.data_retention_hours) * HOUR_SECONDS)


def _session_expires_at(settings: Settings, now: float) -> float:
    """A session lives at most sessionMaxLifetimeHours across refreshed connections; the periodic job
    then ends it with reason `expired` (what sessionCreated's `expiresAt` tells the speaker)."""
    return now + settings.session_max_lifetime_hours * HOUR_SECONDS


def _session_ttl_seconds(settings: Settings, now: float) -> int:
    """The Sessions item is kept for the retention window after the session's latest end, so TTL
    never deletes an item that is still active (and its active-session slot with it)."""
    return int(_session_expires_at(settings, now) + settings.data_retention_hours * HOUR_SECONDS)


def _now_ms() -> int:
    return int(time.time() * 1000)


def session_created(session: Session, connection_id: str) -> dict[str, Any]:
    """What the speaker is told once its session exists (the route response, or delivered later)."""
    return messages.session_created(
        session_id=session.session_id,
        source_language=session.source_language,
        quality_tier=session.quality_tier,
        connection_id=connection_id,
        expires_at_ms=session.expires_at_ms,
    )


def refresh_complete(session: Session, request: RefreshRequest, connection_id: str) -> dict[str, Any]:
    """What a refreshed connection is told (the route response, or delivered later)."""
    return messages.connection_refresh_complete(
        session_id=session.session_id,
        role=request.role,
        connection_id=connection_id,
        target_language=request.target_language,
    )


def create_session(
    request: CreateSessionRequest,
    caller: Caller,
    repos: Repositories,
    settings: Settings,
    *,
    delivered_later: bool = False,
) -> Session:
    """A speaker's connection creates its session (the `$connect` handshake or createSession).
    `delivered_later`: sessionCreated goes out asynchronously (handshakes; see deferred_delivery)."""
    if not caller.user_id:
        raise ServiceError(ErrorCode.UNAUTHORIZED, "Invalid token")
    abuse_limits.check_address(repos.rate_limits, caller, settings)
    _refuse_a_listener_connection(repos, caller)
    return _allocate_session(
        repos,
        settings,
        request,
        caller.user_id,
        caller.endpoint,
        speaker_connection_id=caller.connection_id,
        created_delivered=not delivered_later,
    )


def _refuse_a_listener_connection(repos: Repositories, caller: Caller) -> None:
    """A listener's connection may carry a valid token, but it stays a listener: it creates nothing
    and spends no one's hourly quota. (A speaker's repeated create gets its own session back.)"""
    row = repos.connections.get(caller.connection_id)
    if row is not None and row.role is not Role.SPEAKER:
        raise ServiceError(
            ErrorCode.FORBIDDEN,
            "This connection is a listener's; open a new connection to create a session",
            session_id=row.session_id,
        )


def create_waiting_session(
    request: CreateSessionRequest, user_id: str, endpoint: str, repos: Repositories, settings: Settings
) -> Session:
    """A session created over HTTP: it waits for its speaker like one whose speaker dropped, so the
    speaker connects with the refresh handshake within the reconnect grace window or the job ends it."""
    return _allocate_session(repos, settings, request, user_id, endpoint, speaker_connection_id=None)


def _allocate_session(
    repos: Repositories,
    settings: Settings,
    request: CreateSessionRequest,
    user_id: str,
    endpoint: str,
    *,
    speaker_connection_id: str | None,
    created_delivered: bool = True,
) -> Session:
    abuse_limits.check_sessions_per_hour(repos.rate_limits, user_id, settings)
    now = time.time()
    now_ms = int(now * 1000)
    ttl = _ttl_seconds(settings, now)
    speaker = _speaker_row(speaker_connection_id, "", user_id, now, ttl) if speaker_connection_id else None
    for _ in range(MAX_ID_ATTEMPTS):
        session = Session(
            session_id=generate_session_id(),
            speaker_connection_id=speaker_connection_id or "",
            speaker_user_id=user_id,
            source_language=request.source_language,
            quality_tier=request.quality_tier,
            created_at_ms=now_ms,
            expires_at_ms=int(_session_expires_at(settings, now) * 1000),
            ttl_epoch_seconds=_session_ttl_seconds(settings, now),
            management_endpoint=endpoint,
            speaker_disconnected_at_ms=None if speaker else now_ms,
            created_delivered=created_delivered,
        )
        speaker_row = replace(speaker, session_id=session.session_id) if speaker else None
        try:
            repos.sessions.create(
                session, speaker_row, settings.max_active_sessions, settings.max_active_sessions_per_speaker
            )
        except SessionIdTaken:
            continue
        except ConnectionAlreadyRegistered:
            return _existing_session(repos, speaker_connection_id or "")
        except TooManyActiveSessionsForSpeaker:
            raise ServiceError(
                ErrorCode.RATE_LIMITED,
                f"At most {settings.max_active_sessions_per_speaker} active sessions per speaker; end one first",
                retry_after=60,
            ) from None
        except TooManyActiveSessions:
            raise ServiceError(
                ErrorCode.SERVICE_UNAVAILABLE,
                f"The service is at its limit of {settings.max_active_sessions} active sessions; retry later",
                retry_after=60,
            ) from None
        logger.info(
            "session created",
            extra={"sessionId": session.session_id, "connection": hash_id(speaker_connection_id or "")},
        )
        return session
    raise ServiceError(ErrorCode.SERVICE_UNAVAILABLE, "Could not allocate a session id; retry", retry_after=1)


def _existing_session(repos: Repositories, connection_id: str) -> Session:
    """A repeated $connect for a connection that already created its session gets the same session."""
    row = repos.connections.get(connection_id)
    if row is not None and row.role is not Role.SPEAKER:
        raise ServiceError(ErrorCode.FORBIDDEN, "This connection is a listener's; it cannot create a session")
    session = repos.sessions.get(row.session_id) if row else None
    if session is None:
        raise ServiceError(ErrorCode.SERVICE_UNAVAILABLE, "Session creation is in progress; retry", retry_after=1)
    return session


def _speaker_row(connection_id: str, session_id: str, user_id: str, now: float, ttl: int) -> Connection:
    return Connection(
        connection_id=connection_id,
        session_id=session_id,
        role=Role.SPEAKER,
        connected_at_ms=int(now * 1000),
        ttl_epoch_seconds=ttl,
        user_id=user_id,
    )


def _listener_row(caller: Caller, session_id: str, language: str | None, settings: Settings, now: float) -> Connection:
    return Connection(
        connection_id=caller.connection_id,
        session_id=session_id,
        role=Role.LISTENER,
        connected_at_ms=int(now * 1000),
        ttl_epoch_seconds=_ttl_seconds(settings, now),
        target_language=language,
    )


@dataclass(frozen=True)
class Joined:
    session: Session
    newly_joined: bool


def join_session(request: JoinSessionRequest, caller: Caller, repos: Repositories, settings: Settings) -> Joined:
    """Admit a listener (idempotent for a repeated $connect), unless its address keeps failing."""
    now = time.time()
    listener = _listener_row(caller, request.session_id, request.target_language, settings, now)
    guards = abuse_limits.existence_guards(repos.rate_limits, caller, settings)
    try:
        newly_joined = repos.connections.join(listener, settings.max_listeners_per_session, guards)
    except GuardFailed:
        raise abuse_limits.joins_refused(now) from None
    except AlreadyConnected:
        raise ServiceError(
            ErrorCode.FORBIDDEN,
            "This connection is already in a session; open a new connection to join another",
            session_id=request.session_id,
        ) from None
    except SessionNotFound:
        raise ServiceError(
            ErrorCode.SESSION_NOT_FOUND,
            f"Session {request.session_id} does not exist or has ended",
            session_id=request.session_id,
        ) from None
    except SessionFull:
        raise ServiceError(
            ErrorCode.SESSION_FULL,
            f"Session {request.session_id} has reached its listener limit",
            session_id=request.session_id,
            retry_after=30,
        ) from None
    session = repos.sessions.get(request.session_id)
    if session is None:  # ended between the join and the read: the join stands, the answer says so
        raise ServiceError(ErrorCode.SESSION_NOT_FOUND, f"Session {request.session_id} has ended")
    logger.info("listener joined", extra={"sessionId": request.session_id, "connection": hash_id(caller.connection_id)})
    return Joined(session, newly_joined)


def refresh_connection(
    request: RefreshRequest, caller: Caller, repos: Repositories, settings: Settings, listeners: ListenerFanout
) -> Session:
    """A new connection takes over from one about to hit API Gateway's 2-hour limit (or, for a
    speaker, from one that dropped within the reconnect grace window)."""
    abuse_limits.check_existence_bound(repos.rate_limits, caller, settings)
    if request.role == Role.SPEAKER.value:
        return _refresh_speaker(request, caller, repos, settings, listeners)
    listener = _listener_row(caller, request.session_id, request.target_language, settings, time.time())
    previous = request.previous_connection_id or ""
    try:
        repos.connections.refresh_listener(previous, listener)
    except AlreadyConnected:
        raise ServiceError(
            ErrorCode.FORBIDDEN, "This connection is already in a session", session_id=request.session_id
        ) from None
    except NotRefreshable:
        abuse_limits.record_existence_answer(repos.rate_limits, caller)
        raise ServiceError(
            ErrorCode.FORBIDDEN,
            "previousConnectionId is not a listener of this session in this language",
            parameter="previousConnectionId",
        ) from None
    except SessionNotFound:
        raise ServiceError(ErrorCode.SESSION_NOT_FOUND, f"Session {request.session_id} has ended") from None
    refreshed = repos.sessions.get(request.session_id)
    if refreshed is None:
        raise ServiceError(ErrorCode.SESSION_NOT_FOUND, f"Session {request.session_id} has ended")
    # The old connection now holds no slot and gets no broadcasts; the client closes it, as the
    # refresh protocol says (API Gateway closes it at its 2-hour limit at the latest).
    return refreshed


def _refresh_speaker(
    request: RefreshRequest, caller: Caller, repos: Repositories, settings: Settings, listeners: ListenerFanout
) -> Session:
    if not caller.user_id:
        raise ServiceError(ErrorCode.UNAUTHORIZED, "Invalid token")
    now = time.time()
    speaker = _speaker_row(caller.connection_id, request.session_id, caller.user_id, now, _ttl_seconds(settings, now))
    before = repos.sessions.get(request.session_id)
    if before is None or not before.is_active:
        raise ServiceError(ErrorCode.SESSION_NOT_FOUND, f"Session {request.session_id} does not exist or has ended")
    try:
        session = repos.sessions.swap_speaker(request.session_id, caller.user_id, speaker, caller.endpoint)
    except NotTheSpeaker:
        abuse_limits.record_existence_answer(repos.rate_limits, caller)
        raise ServiceError(
            ErrorCode.FORBIDDEN,
            "Only the session's speaker can take over its connection",
            session_id=request.session_id,
        ) from None
    if before.speaker_disconnected_at_ms is not None:
        listeners.tell(session, messages.speaker_reconnected(session_id=session.session_id))
    logger.info("speaker refreshed", extra={"sessionId": session.session_id})
    return session


def disconnect(connection_id: str, repos: Repositories, settings: Settings, listeners: ListenerFanout) -> str:
    """Clean up after a connection; safe to repeat. Returns what happened, for the logs."""
    row = repos.connections.get(connection_id)
    if row is None:
        return "unknown"
    if row.role is Role.LISTENER:
        return "listener-left" if repos.connections.leave(row) else "already-left"
    repos.connections.delete(connection_id)
    now = _now_ms()
    if not repos.sessions.mark_speaker_disconnected(row.session_id, connection_id, now):
        return "speaker-left"  # an old connection after a refresh: the session goes on
    session = repos.sessions.get(row.session_id)
    if session is not None:
        deadline = now + int(settings.speaker_reconnect_grace_seconds * 1000)
        message = messages.speaker_disconnected(session_id=session.session_id, reconnect_deadline=deadline)
        listeners.tell(session, message)
    return "speaker-disconnected"


def end_session(session: Session, reason: str, repos: Repositories, listeners: ListenerFanout) -> bool:
    """End a session: listeners are told why, then their connections are closed (their $disconnect
    removes the rows)."""
    if not repos.sessions.end(
        session.session_id, session.speaker_connection_id, reason, _now_ms(), session.speaker_user_id
    ):
        return False
    result = listeners.tell(session, messages.session_ended(session_id=session.session_id, reason=reason))
    listeners.close(session, result.delivered)
    logger.info("session ended", extra={"sessionId": session.session_id, "reason": reason})
    return True

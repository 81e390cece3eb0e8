"""Creating, joining, leaving and ending sessions: one implementation behind every entry point
(handshake now; the message forms of the lifecycle reuse it)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from functools import cache

from session_management.aws import dynamodb_client
from session_management.config import Settings, load_settings
from session_management.errors import ErrorCode, ServiceError
from session_management.handshake import CreateSessionRequest, JoinSessionRequest
from session_management.observability import hash_id, logger
from session_management.repositories.connections import (
    Connection,
    ConnectionRepository,
    Role,
    SessionFull,
    SessionNotFound,
)
from session_management.repositories.rate_limits import RateLimitRepository
from session_management.repositories.sessions import (
    ConnectionAlreadyRegistered,
    Session,
    SessionIdTaken,
    SessionRepository,
)
from session_management.session_ids import MAX_ID_ATTEMPTS, generate_session_id

HOUR_SECONDS = 3600


@dataclass(frozen=True)
class Repositories:
    sessions: SessionRepository
    connections: ConnectionRepository
    rate_limits: RateLimitRepository


@cache
def repositories() -> Repositories:
    settings = load_settings()
    client = dynamodb_client()
    return Repositories(
        sessions=SessionRepository(client, settings.sessions_table, settings.connections_table),
        connections=ConnectionRepository(client, settings.sessions_table, settings.connections_table),
        rate_limits=RateLimitRepository(client, settings.rate_limits_table),
    )


def _ttl_seconds(settings: Settings, now: float) -> int:
    """Rows outlive the session by the retention window, then DynamoDB's TTL removes them."""
    return int(now + max(settings.session_max_duration_hours, settings.data_retention_hours) * HOUR_SECONDS)


def create_session(
    request: CreateSessionRequest, *, user_id: str, connection_id: str, repos: Repositories | None = None
) -> Session:
    settings = load_settings()
    repos = repos or repositories()
    decision = repos.rate_limits.hit(
        f"createSession#user:{user_id}", settings.rate_limit_sessions_per_hour, HOUR_SECONDS
    )
    if not decision.allowed:
        raise ServiceError(
            ErrorCode.RATE_LIMITED,
            f"At most {settings.rate_limit_sessions_per_hour} sessions per hour",
            retry_after=decision.retry_after,
        )
    now = time.time()
    ttl = _ttl_seconds(settings, now)
    speaker = Connection(
        connection_id=connection_id,
        session_id="",
        role=Role.SPEAKER,
        connected_at_ms=int(now * 1000),
        ttl_epoch_seconds=ttl,
        user_id=user_id,
    )
    for _ in range(MAX_ID_ATTEMPTS):
        session = Session(
            session_id=generate_session_id(),
            speaker_connection_id=connection_id,
            speaker_user_id=user_id,
            source_language=request.source_language,
            quality_tier=request.quality_tier,
            created_at_ms=int(now * 1000),
            expires_at_ms=int((now + settings.session_max_duration_hours * HOUR_SECONDS) * 1000),
            ttl_epoch_seconds=ttl,
        )
        row = replace(speaker, session_id=session.session_id).to_item()
        try:
            repos.sessions.create(session, row)
        except SessionIdTaken:
            continue
        except ConnectionAlreadyRegistered:
            return _existing_session(repos, connection_id)
        logger.info("session created", extra={"sessionId": session.session_id, "connection": hash_id(connection_id)})
        return session
    raise ServiceError(ErrorCode.SERVICE_UNAVAILABLE, "Could not allocate a session id; retry", retry_after=1)


def _existing_session(repos: Repositories, connection_id: str) -> Session:
    """A repeated $connect for a connection that already created its session gets the same session."""
    row = repos.connections.get(connection_id)
    session = repos.sessions.get(row.session_id) if row else None
    if session is None:
        raise ServiceError(ErrorCode.SERVICE_UNAVAILABLE, "Session creation is in progress; retry", retry_after=1)
    return session


def join_session(request: JoinSessionRequest, *, connection_id: str, repos: Repositories | None = None) -> bool:
    """Admit a listener; False if this connection had already joined (idempotent)."""
    settings = load_settings()
    repos = repos or repositories()
    now = time.time()
    listener = Connection(
        connection_id=connection_id,
        session_id=request.session_id,
        role=Role.LISTENER,
        connected_at_ms=int(now * 1000),
        ttl_epoch_seconds=_ttl_seconds(settings, now),
        target_language=request.target_language,
    )
    try:
        joined = repos.connections.join(listener, settings.max_listeners_per_session)
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
    logger.info("listener joined", extra={"sessionId": request.session_id, "connection": hash_id(connection_id)})
    return joined


def disconnect(connection_id: str, repos: Repositories | None = None) -> str:
    """Clean up after a connection; safe to repeat. Returns what happened, for the logs."""
    repos = repos or repositories()
    row = repos.connections.get(connection_id)
    if row is None:
        return "unknown"
    if row.role is Role.LISTENER:
        return "listener-left" if repos.connections.leave(row) else "already-left"
    ended = repos.sessions.end(row.session_id, connection_id, "speakerDisconnected", int(time.time() * 1000))
    repos.connections.delete(connection_id)
    return "session-ended" if ended else "speaker-left"

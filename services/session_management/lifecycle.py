"""The session lifecycle: create, join, refresh, leave, end. One implementation behind every entry
point: the `$connect` handshake and the message forms browsers need."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from functools import cache

from session_management import fanout, messages
from session_management.aws import dynamodb_client
from session_management.config import Settings, load_settings
from session_management.errors import ErrorCode, ServiceError
from session_management.handshake import CreateSessionRequest, JoinSessionRequest, RefreshRequest
from session_management.metrics import record_fanout_failures
from session_management.observability import hash_id, logger
from session_management.repositories.connections import (
    Connection,
    ConnectionRepository,
    GuardFailed,
    NotRefreshable,
    Role,
    SessionFull,
    SessionNotFound,
)
from session_management.repositories.rate_limits import RateLimitRepository
from session_management.repositories.sessions import (
    ConnectionAlreadyRegistered,
    NotTheSpeaker,
    Session,
    SessionIdTaken,
    SessionRepository,
    TooManyActiveSessions,
)
from session_management.session_ids import MAX_ID_ATTEMPTS, generate_session_id

HOUR_SECONDS = 3600
MINUTE_SECONDS = 60


@dataclass(frozen=True)
class Repositories:
    sessions: SessionRepository
    connections: ConnectionRepository
    rate_limits: RateLimitRepository


@dataclass(frozen=True)
class Caller:
    """Who is on the other end of a connection, as API Gateway tells us."""

    connection_id: str
    endpoint: str
    source_ip: str = ""
    user_id: str | None = None

    @property
    def address_key(self) -> str:
        # Addresses are personal data: counters are keyed by a hash, never the address itself.
        return f"ip:{hash_id(self.source_ip)}"


@cache
def repositories() -> Repositories:
    settings = load_settings()
    client = dynamodb_client()
    return Repositories(
        sessions=SessionRepository(
            client, settings.sessions_table, settings.connections_table, settings.rate_limits_table
        ),
        connections=ConnectionRepository(client, settings.sessions_table, settings.connections_table),
        rate_limits=RateLimitRepository(client, settings.rate_limits_table),
    )


def _ttl_seconds(settings: Settings, now: float) -> int:
    """Rows outlive the session by the retention window, then DynamoDB's TTL removes them."""
    return int(now + max(settings.session_max_duration_hours, settings.data_retention_hours) * HOUR_SECONDS)


def _now_ms() -> int:
    return int(time.time() * 1000)


# Abuse limits ---------------------------------------------------------------------------------
#
# A lecture hall of 500 listeners behind one NAT address must get in, so successful joins are
# never limited per address. What is limited is failure: handshakes refused for bad input, and
# joins of sessions that do not exist (enumeration). An address that fails too often is refused
# with RATE_LIMITED until its window ends.


# Refusals that point at a bad or probing client; a full session or an outage is nobody's fault.
COUNTED_FAILURES = frozenset(
    {
        ErrorCode.INVALID_PARAMETER,
        ErrorCode.INVALID_SESSION_ID,
        ErrorCode.INVALID_LANGUAGE,
        ErrorCode.UNSUPPORTED_LANGUAGE,
        ErrorCode.SESSION_NOT_FOUND,
        ErrorCode.UNAUTHORIZED,
        ErrorCode.FORBIDDEN,
    }
)


def record_failure(repos: Repositories, caller: Caller, error: ServiceError) -> None:
    if not caller.source_ip or error.code not in COUNTED_FAILURES:
        return
    repos.rate_limits.record(f"connectFailures#{caller.address_key}", MINUTE_SECONDS)
    if error.code in (ErrorCode.SESSION_NOT_FOUND, ErrorCode.INVALID_SESSION_ID):
        repos.rate_limits.record(f"joinFailures#{caller.address_key}", MINUTE_SECONDS)


def _rate_limited(retry_after: int, what: str) -> ServiceError:
    return ServiceError(
        ErrorCode.RATE_LIMITED, f"Too many {what} from this address; retry later", retry_after=retry_after
    )


def check_address(repos: Repositories, caller: Caller) -> None:
    settings = load_settings()
    if not caller.source_ip:
        return
    decision = repos.rate_limits.is_blocked(
        f"connectFailures#{caller.address_key}", settings.rate_limit_connection_attempts_per_min, MINUTE_SECONDS
    )
    if not decision.allowed:
        raise _rate_limited(decision.retry_after, "failed connection attempts")


# Create ----------------------------------------------------------------------------------------


def create_session(
    request: CreateSessionRequest,
    caller: Caller,
    repos: Repositories | None = None,
    *,
    delivered_later: bool = False,
) -> Session:
    """A speaker's connection creates its session (the `$connect` handshake or createSession).
    `delivered_later`: sessionCreated goes out asynchronously (handshakes), and the periodic job
    holds its status pushes until it has."""
    if not caller.user_id:
        raise ServiceError(ErrorCode.UNAUTHORIZED, "Invalid token")
    repos = repos or repositories()
    check_address(repos, caller)
    return _allocate_session(
        repos,
        request,
        caller.user_id,
        caller.endpoint,
        speaker_connection_id=caller.connection_id,
        created_delivered=not delivered_later,
    )


def create_waiting_session(
    request: CreateSessionRequest, user_id: str, endpoint: str, repos: Repositories | None = None
) -> Session:
    """A session created over HTTP: it waits for its speaker like one whose speaker dropped, so the
    speaker connects with the refresh handshake within the reconnect grace window or the job ends it."""
    return _allocate_session(repos or repositories(), request, user_id, endpoint, speaker_connection_id=None)


def _allocate_session(
    repos: Repositories,
    request: CreateSessionRequest,
    user_id: str,
    endpoint: str,
    *,
    speaker_connection_id: str | None,
    created_delivered: bool = True,
) -> Session:
    settings = load_settings()
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
    now_ms = int(now * 1000)
    ttl = _ttl_seconds(settings, now)
    speaker = (
        Connection(
            connection_id=speaker_connection_id,
            session_id="",
            role=Role.SPEAKER,
            connected_at_ms=now_ms,
            ttl_epoch_seconds=ttl,
            user_id=user_id,
        )
        if speaker_connection_id
        else None
    )
    for _ in range(MAX_ID_ATTEMPTS):
        session = Session(
            session_id=generate_session_id(),
            speaker_connection_id=speaker_connection_id or "",
            speaker_user_id=user_id,
            source_language=request.source_language,
            quality_tier=request.quality_tier,
            created_at_ms=now_ms,
            expires_at_ms=int((now + settings.session_max_duration_hours * HOUR_SECONDS) * 1000),
            ttl_epoch_seconds=ttl,
            management_endpoint=endpoint,
            speaker_disconnected_at_ms=None if speaker else now_ms,
            created_delivered=created_delivered,
        )
        speaker_row = replace(speaker, session_id=session.session_id).to_item() if speaker else None
        try:
            repos.sessions.create(session, speaker_row, settings.max_active_sessions)
        except SessionIdTaken:
            continue
        except ConnectionAlreadyRegistered:
            return _existing_session(repos, speaker_connection_id or "")
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
    session = repos.sessions.get(row.session_id) if row else None
    if session is None:
        raise ServiceError(ErrorCode.SERVICE_UNAVAILABLE, "Session creation is in progress; retry", retry_after=1)
    return session


# Join --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Joined:
    session: Session
    newly_joined: bool


def join_session(request: JoinSessionRequest, caller: Caller, repos: Repositories | None = None) -> Joined:
    """Admit a listener (idempotent for a repeated $connect), unless its address keeps failing."""
    settings = load_settings()
    repos = repos or repositories()
    now = time.time()
    listener = Connection(
        connection_id=caller.connection_id,
        session_id=request.session_id,
        role=Role.LISTENER,
        connected_at_ms=int(now * 1000),
        ttl_epoch_seconds=_ttl_seconds(settings, now),
        target_language=request.target_language,
    )
    guard = (
        repos.rate_limits.guard(
            f"joinFailures#{caller.address_key}", settings.rate_limit_listener_joins_per_min, MINUTE_SECONDS
        )
        if caller.source_ip
        else None
    )
    try:
        newly_joined = repos.connections.join(listener, settings.max_listeners_per_session, guard)
    except GuardFailed:
        raise _rate_limited(MINUTE_SECONDS - int(now) % MINUTE_SECONDS, "failed joins") from None
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


# Refresh ------------------------------------------------------------------------------------------


def refresh_connection(request: RefreshRequest, caller: Caller, repos: Repositories | None = None) -> Session:
    """A new connection takes over from one about to hit API Gateway's 2-hour limit (or, for a
    speaker, from one that dropped within the reconnect grace window)."""
    settings = load_settings()
    repos = repos or repositories()
    now = time.time()
    if request.role == Role.SPEAKER.value:
        if not caller.user_id:
            raise ServiceError(ErrorCode.UNAUTHORIZED, "Invalid token")
        row = Connection(
            connection_id=caller.connection_id,
            session_id=request.session_id,
            role=Role.SPEAKER,
            connected_at_ms=int(now * 1000),
            ttl_epoch_seconds=_ttl_seconds(settings, now),
            user_id=caller.user_id,
        )
        before = repos.sessions.get(request.session_id)
        if before is None or not before.is_active:
            raise ServiceError(ErrorCode.SESSION_NOT_FOUND, f"Session {request.session_id} does not exist or has ended")
        try:
            session = repos.sessions.swap_speaker(request.session_id, caller.user_id, row.to_item(), caller.endpoint)
        except NotTheSpeaker:
            raise ServiceError(
                ErrorCode.FORBIDDEN,
                "Only the session's speaker can take over its connection",
                session_id=request.session_id,
            ) from None
        if before.speaker_disconnected_at_ms is not None:
            _tell_listeners(repos, session, messages.speaker_reconnected(session_id=session.session_id))
        logger.info("speaker refreshed", extra={"sessionId": session.session_id})
        return session
    listener = Connection(
        connection_id=caller.connection_id,
        session_id=request.session_id,
        role=Role.LISTENER,
        connected_at_ms=int(now * 1000),
        ttl_epoch_seconds=_ttl_seconds(settings, now),
        target_language=request.target_language,
    )
    try:
        repos.connections.refresh_listener(request.previous_connection_id or "", listener)
    except NotRefreshable:
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
    return refreshed


# Leave and end -------------------------------------------------------------------------------------


def _tell_listeners(repos: Repositories, session: Session, message: dict[str, object]) -> fanout.FanoutResult:
    listeners = repos.connections.listeners(session.session_id)
    result = fanout.broadcast(
        session.management_endpoint,
        [c.connection_id for c in listeners],
        message,
        concurrency=load_settings().fanout_concurrency,
    )
    by_id = {c.connection_id: c for c in listeners}
    for gone in result.gone:  # 410: the connection is gone and its $disconnect may never come
        repos.connections.leave(by_id[gone])
    if result.failed:
        logger.warning("fan-out failures", extra={"sessionId": session.session_id, "failed": len(result.failed)})
        record_fanout_failures(len(result.failed))
    return result


def disconnect(connection_id: str, repos: Repositories | None = None) -> str:
    """Clean up after a connection; safe to repeat. Returns what happened, for the logs."""
    settings = load_settings()
    repos = repos or repositories()
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
        _tell_listeners(
            repos, session, messages.speaker_disconnected(session_id=session.session_id, reconnect_deadline=deadline)
        )
    return "speaker-disconnected"


def end_session(session: Session, reason: str, repos: Repositories | None = None) -> bool:
    """End a session: listeners are told why, then their connections are closed (their $disconnect
    removes the rows)."""
    repos = repos or repositories()
    if not repos.sessions.end(session.session_id, session.speaker_connection_id, reason, _now_ms()):
        return False
    result = _tell_listeners(repos, session, messages.session_ended(session_id=session.session_id, reason=reason))
    fanout.delete_connections(session.management_endpoint, result.delivered, load_settings().fanout_concurrency)
    logger.info("session ended", extra={"sessionId": session.session_id, "reason": reason})
    return True

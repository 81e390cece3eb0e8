"""A session's status: what getSessionStatus answers, and what the periodic job pushes to speakers.

A listener sees the broadcast and the count; the session's current speaker also sees the
language distribution and the session's times.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from session_management import messages
from session_management.caller import Caller
from session_management.dependencies import Repositories
from session_management.errors import ErrorCode, ServiceError
from session_management.repositories.connections import Connection, Role
from session_management.repositories.sessions import Session


def session_status(
    session: Session, listeners: list[Connection], full: bool, request_id: str | None = None
) -> dict[str, Any]:
    if not full:
        return messages.session_status(
            session_id=session.session_id,
            is_active=session.is_active,
            listener_count=session.listener_count,
            broadcast_state=session.broadcast_state.to_message(),
            request_id=request_id,
        )
    distribution = Counter(c.target_language for c in listeners if c.target_language)
    return messages.session_status(
        session_id=session.session_id,
        is_active=session.is_active,
        listener_count=session.listener_count,
        broadcast_state=session.broadcast_state.to_message(),
        language_distribution=dict(distribution),
        created_at=session.created_at_ms,
        expires_at=session.expires_at_ms,
        request_id=request_id,
    )


def get_session_status(message: dict[str, Any], caller: Caller, repos: Repositories) -> dict[str, Any]:
    row = repos.connections.get(caller.connection_id)
    session = repos.sessions.get(row.session_id) if row else None
    if row is None:
        raise ServiceError(ErrorCode.FORBIDDEN, "This connection is not part of a session")
    if session is None:  # ended and its record deleted (DELETE /sessions/{id}, or TTL after the end)
        raise ServiceError(ErrorCode.SESSION_ENDED, "This session has ended", session_id=row.session_id)
    is_speaker = row.role is Role.SPEAKER and session.speaker_connection_id == caller.connection_id
    listeners = repos.connections.listeners(session.session_id) if is_speaker else []
    return session_status(session, listeners, is_speaker, message.get("requestId"))

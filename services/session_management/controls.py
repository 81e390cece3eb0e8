"""Speaker and listener controls.

Only the session's current speaker connection may change the broadcast; a retried control with
the same requestId is acknowledged again without a second fan-out.
"""

from __future__ import annotations

from typing import Any

from session_management import messages, requests
from session_management.caller import Caller
from session_management.dependencies import Repositories
from session_management.errors import ErrorCode, ServiceError
from session_management.listeners import ListenerFanout
from session_management.repositories.connections import Connection, Role
from session_management.repositories.sessions import BroadcastState, Session

REQUEST_MEMORY_SECONDS = 3600


def _row_and_session(repos: Repositories, caller: Caller) -> tuple[Connection, Session]:
    row = repos.connections.get(caller.connection_id)
    session = repos.sessions.get(row.session_id) if row else None
    if row is None or session is None or not session.is_active:
        raise ServiceError(ErrorCode.FORBIDDEN, "This connection is not part of an active session")
    return row, session


def _next_state(state: BroadcastState, control: str, volume: float | None) -> BroadcastState:
    match control:
        case "pause":
            return BroadcastState(True, state.is_muted, state.volume)
        case "resume":
            return BroadcastState(False, state.is_muted, state.volume)
        case "mute":
            return BroadcastState(state.is_paused, True, state.volume)
        case "unmute":
            return BroadcastState(state.is_paused, False, state.volume)
    return BroadcastState(state.is_paused, state.is_muted, float(volume if volume is not None else state.volume))


def speaker_control(
    message: dict[str, Any], caller: Caller, repos: Repositories, listeners: ListenerFanout
) -> dict[str, Any]:
    row, session = _row_and_session(repos, caller)
    if row.role is not Role.SPEAKER or session.speaker_connection_id != caller.connection_id:
        raise ServiceError(ErrorCode.FORBIDDEN, "Only the session's current speaker can control the broadcast")
    control, request_id = message["control"], message.get("requestId")
    state = _next_state(session.broadcast_state, control, message.get("volume"))
    first_time = request_id is None or repos.rate_limits.claim(
        f"request#{caller.connection_id}#{request_id}", REQUEST_MEMORY_SECONDS
    )
    if not first_time:  # a retry: same answer, no second fan-out
        return messages.control_acknowledged(
            control=control,
            session_id=session.session_id,
            state=session.broadcast_state.to_message(),
            request_id=request_id,
        )
    if not repos.sessions.set_broadcast_state(session.session_id, caller.connection_id, state):
        raise ServiceError(ErrorCode.FORBIDDEN, "Only the session's current speaker can control the broadcast")
    result = listeners.tell(
        session,
        messages.broadcast_state_changed(
            session_id=session.session_id, state=state.to_message(), request_id=request_id
        ),
    )
    return messages.control_acknowledged(
        control=control,
        session_id=session.session_id,
        state=state.to_message(),
        notified=len(result.delivered),
        failed=len(result.failed) + len(result.gone),
        request_id=request_id,
    )


def listener_control(message: dict[str, Any], caller: Caller, repos: Repositories) -> dict[str, Any]:
    row, session = _row_and_session(repos, caller)
    if row.role is not Role.LISTENER:
        raise ServiceError(ErrorCode.FORBIDDEN, "Listener controls are for listeners")
    control, request_id = message["control"], message.get("requestId")
    if control == "changeLanguage":
        language = requests.target_language(message["targetLanguage"])
        if not repos.connections.change_language(caller.connection_id, language):
            raise ServiceError(ErrorCode.FORBIDDEN, "This connection is not a listener")
        return messages.control_acknowledged(
            control=control, session_id=session.session_id, target_language=language, request_id=request_id
        )
    # Playback is paused in the client's player; the service acknowledges so clients can confirm it.
    return messages.control_acknowledged(control=control, session_id=session.session_id, request_id=request_id)

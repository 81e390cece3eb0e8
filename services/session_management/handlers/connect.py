"""`$connect`: createSession, joinSession or refreshConnection in the query string, or a plain
connection (which the browser then uses for the message forms).

`sessionCreated` and `connectionRefreshComplete` cannot be sent during `$connect` (see
deferred_delivery), so this schedules their delivery. Refusals count against the address.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from session_management import lifecycle, requests
from session_management.caller import Caller
from session_management.dependencies import dependencies
from session_management.edge import answer_handshake, response
from session_management.errors import ErrorCode, ServiceError
from session_management.handlers.refusals import record_handshake_refusal
from session_management.metrics import record_latency


def is_handshake(event: Mapping[str, Any]) -> bool:
    return bool(event.get("requestContext", {}).get("eventType") == "CONNECT")


def handle(event: dict[str, Any]) -> dict[str, Any]:
    return answer_handshake(event, lambda: _handshake(event), record_handshake_refusal)


def _handshake(event: dict[str, Any]) -> dict[str, Any]:
    deps = dependencies()
    repos, settings = deps.repositories, deps.settings
    caller = Caller.from_event(event)
    query = event.get("queryStringParameters") or {}
    action = query.get("action")
    started = time.monotonic()
    if action == "createSession":
        session = lifecycle.create_session(requests.parse_create(query), caller, repos, settings, delivered_later=True)
        deps.deliveries.schedule(
            caller.connection_id, caller.endpoint, lifecycle.session_created(session, caller.connection_id)
        )
        record_latency("SessionCreationLatency", started)
    elif action == "joinSession":
        lifecycle.join_session(requests.parse_join(query), caller, repos, settings)
        record_latency("ListenerJoinLatency", started)
    elif action == "refreshConnection":
        request = requests.parse_refresh(query)
        session = lifecycle.refresh_connection(request, caller, repos, settings, deps.listeners)
        deps.deliveries.schedule(
            caller.connection_id, caller.endpoint, lifecycle.refresh_complete(session, request, caller.connection_id)
        )
    elif action is not None:
        raise ServiceError(
            ErrorCode.INVALID_PARAMETER,
            "action must be createSession, joinSession or refreshConnection",
            parameter="action",
        )
    return response(200)

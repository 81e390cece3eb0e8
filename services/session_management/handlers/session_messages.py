"""The `createSession` and `joinSession` message routes: the browser forms of the handshakes,
answered through the route response (so sessionCreated needs no deferred delivery here)."""

from __future__ import annotations

import time
from typing import Any

from session_management import lifecycle, messages, requests
from session_management.caller import Caller
from session_management.dependencies import dependencies
from session_management.edge import answer_message, response
from session_management.handlers.refusals import record_message_refusal
from session_management.metrics import record_latency


def handle(event: dict[str, Any]) -> dict[str, Any]:
    return answer_message(event, lambda message: _answer(event, message), record_message_refusal)


def _answer(event: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    deps = dependencies()
    caller = Caller.from_event(event)
    started = time.monotonic()
    if message["action"] == "createSession":
        request = requests.parse_create(message, "create-session")
        session = lifecycle.create_session(request, caller, deps.repositories, deps.settings)
        record_latency("SessionCreationLatency", started)
        return response(200, lifecycle.session_created(session, caller.connection_id))
    joined = lifecycle.join_session(
        requests.parse_join(message, "join-session"), caller, deps.repositories, deps.settings
    )
    record_latency("ListenerJoinLatency", started)
    return response(
        200,
        messages.session_joined(
            session_id=joined.session.session_id,
            target_language=message["targetLanguage"],
            source_language=joined.session.source_language,
            connection_id=caller.connection_id,
            listener_count=joined.session.listener_count,
            request_id=message.get("requestId"),
        ),
    )

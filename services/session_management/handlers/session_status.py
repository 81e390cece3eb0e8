"""The `getSessionStatus` route, answered through the route response."""

from __future__ import annotations

from typing import Any

from session_management import status
from session_management.caller import Caller
from session_management.dependencies import dependencies
from session_management.edge import answer_message, response
from session_management.handlers.refusals import record_message_refusal


def handle(event: dict[str, Any]) -> dict[str, Any]:
    return answer_message(event, lambda message: _answer(event, message), record_message_refusal)


def _answer(event: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    repos = dependencies().repositories
    return response(200, status.get_session_status(message, Caller.from_event(event), repos))

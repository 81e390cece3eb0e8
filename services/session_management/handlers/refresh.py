"""`refreshConnection` message route: the browser form of a refresh (a plain connection, the
speaker's token on it), answered with connectionRefreshComplete through the route response."""

from __future__ import annotations

from typing import Any

from session_management import lifecycle, requests
from session_management.caller import Caller
from session_management.dependencies import build_during_init, dependencies
from session_management.edge import answer_message, response
from session_management.handlers.refusals import record_message_refusal
from session_management.metrics import metrics
from session_management.observability import logger


def _refresh(event: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    deps = dependencies()
    request = requests.parse_refresh(message, "refresh-connection")
    caller = Caller.from_event(event)
    session = lifecycle.refresh_connection(request, caller, deps.repositories, deps.settings, deps.listeners)
    return response(200, lifecycle.refresh_complete(session, request, caller.connection_id))


build_during_init(repositories=True, connections_api=True)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return answer_message(event, lambda message: _refresh(event, message), record_message_refusal)

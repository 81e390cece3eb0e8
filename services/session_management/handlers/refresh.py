"""`refreshConnection` message route: the browser form of a refresh (a plain connection, the
speaker's token on it), answered with connectionRefreshComplete through the route response."""

from __future__ import annotations

from typing import Any

from session_management import handshake, lifecycle, messages
from session_management.edge import caller_from_event, guarded, read_message, response
from session_management.metrics import metrics
from session_management.observability import logger


def _refresh(event: dict[str, Any]) -> dict[str, Any]:
    request = handshake.parse_refresh(read_message(event), "refresh-connection")
    caller = caller_from_event(event)
    session = lifecycle.refresh_connection(request, caller)
    return response(
        200,
        messages.connection_refresh_complete(
            session_id=session.session_id,
            role=request.role,
            connection_id=caller.connection_id,
            target_language=request.target_language,
        ),
    )


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return guarded(event, lambda: _refresh(event), handshake=False)

"""`speakerControl` and `listenerControl` routes; the answer travels as the route response and the
broadcast state reaches listeners through one bounded fan-out."""

from __future__ import annotations

from typing import Any

from session_management import controls
from session_management.edge import caller_from_event, guarded, read_message, response
from session_management.metrics import metrics
from session_management.observability import logger


def _control(event: dict[str, Any]) -> dict[str, Any]:
    message = read_message(event)
    caller = caller_from_event(event)
    if message["action"] == "speakerControl":
        return response(200, controls.speaker_control(message, caller))
    return response(200, controls.listener_control(message, caller))


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return guarded(event, lambda: _control(event), handshake=False)

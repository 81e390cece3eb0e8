"""`speakerControl` and `listenerControl` routes; the answer travels as the route response and the
broadcast state reaches listeners through one bounded fan-out."""

from __future__ import annotations

from typing import Any

from session_management import controls
from session_management.caller import Caller
from session_management.dependencies import build_during_init, dependencies
from session_management.edge import answer_message, response
from session_management.handlers.refusals import record_message_refusal
from session_management.metrics import metrics
from session_management.observability import logger


def _control(event: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    deps = dependencies()
    caller = Caller.from_event(event)
    if message["action"] == "speakerControl":
        return response(200, controls.speaker_control(message, caller, deps.repositories, deps.listeners))
    return response(200, controls.listener_control(message, caller, deps.repositories))


build_during_init(repositories=True, connections_api=True)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return answer_message(event, lambda message: _control(event, message), record_message_refusal)

"""The connection function's entry point. One Lambda function serves three kinds of event, and
each has its own home: the `$connect` handshake (handlers/connect.py), the createSession and
joinSession messages (handlers/session_messages.py), and the asynchronous delivery that the
handshake schedules of its own function (handlers/delivery.py, see deferred_delivery)."""

from __future__ import annotations

from typing import Any

from session_management.deferred_delivery import is_delivery
from session_management.dependencies import build_during_init
from session_management.handlers import connect, delivery, session_messages
from session_management.metrics import metrics
from session_management.observability import logger

build_during_init(repositories=True, connections_api=True, deliveries=True)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if is_delivery(event):
        return delivery.handle(event)
    if connect.is_handshake(event):
        return connect.handle(event)
    return session_messages.handle(event)

"""`heartbeat` route: answered through the route response, with no DynamoDB call on this path
(heartbeats are the most frequent message; 50,000 connections every 30 s must stay write-free).

The per-connection rate limit lives in memory: a client over it is told RATE_LIMITED by the
execution environment that sees it, and API Gateway's stage throttling bounds the rest.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from session_management import messages
from session_management.config import load_settings
from session_management.edge import guarded, read_message, response
from session_management.errors import ErrorCode, ServiceError
from session_management.metrics import metrics, record_latency
from session_management.observability import logger

_WINDOW_SECONDS = 60
_TRACKED_CONNECTIONS = 10_000
_recent: OrderedDict[str, tuple[int, int]] = OrderedDict()


def _within_rate(connection_id: str) -> int:
    """0 if allowed, else seconds until the window resets. Generous (3x the configured pace)."""
    limit = max(6, 3 * load_settings().rate_limit_heartbeats_per_min)
    window = int(time.time()) // _WINDOW_SECONDS
    start, count = _recent.pop(connection_id, (window, 0))
    if start != window:
        start, count = window, 0
    _recent[connection_id] = (start, count + 1)
    while len(_recent) > _TRACKED_CONNECTIONS:
        _recent.popitem(last=False)
    return 0 if count < limit else _WINDOW_SECONDS - int(time.time()) % _WINDOW_SECONDS


def _ack(event: dict[str, Any]) -> dict[str, Any]:
    started = time.monotonic()
    message = read_message(event)
    retry_after = _within_rate(event["requestContext"]["connectionId"])
    if retry_after:
        raise ServiceError(ErrorCode.RATE_LIMITED, "Too many heartbeats", retry_after=retry_after)
    ack = messages.heartbeat_ack(client_timestamp=message.get("timestamp"), request_id=message.get("requestId"))
    record_latency("HeartbeatLatency", started)
    return response(200, ack)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return guarded(event, lambda: _ack(event), handshake=False)

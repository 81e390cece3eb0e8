"""`heartbeat` route: answered through the route response, with no DynamoDB call on this path
(heartbeats are the most frequent message; 50,000 connections every 30 s must stay write-free).

Every heartbeat on an open connection is answered with heartbeatAck, at any pace: a client that
waits for its ack must never get an error instead. Cost and capacity are bounded where that works
the same in every execution environment: API Gateway's stage throttling (`throttlingRateLimit`,
`throttlingBurstLimit`) caps the messages the whole API accepts, and the 32 KB frame limit caps
their size. An in-memory per-connection limit would bite locally (one warm environment sees
every heartbeat) and barely at all in AWS (requests spread over many environments).
"""

from __future__ import annotations

import time
from typing import Any

from session_management import messages
from session_management.edge import answer_message, response
from session_management.metrics import metrics, record_latency
from session_management.observability import logger


def _ack(message: dict[str, Any], started: float) -> dict[str, Any]:
    ack = messages.heartbeat_ack(client_timestamp=message.get("timestamp"), request_id=message.get("requestId"))
    record_latency("HeartbeatLatency", started)
    return response(200, ack)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    started = time.monotonic()
    return answer_message(event, lambda message: _ack(message, started))

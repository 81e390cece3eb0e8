"""`heartbeat` route: answered through the route response, with no DynamoDB call on this path
(heartbeats are the most frequent message; 50,000 connections every 30 s must stay write-free)."""

from __future__ import annotations

import json
from typing import Any

from session_management import contracts, messages
from session_management.errors import ErrorCode
from session_management.observability import log_unexpected, logger


def _reply(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "body": json.dumps(body)}


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        try:
            message = json.loads(event.get("body") or "")
            if not isinstance(message, dict):
                raise ValueError("not an object")
            contracts.validate("heartbeat", message)
        except (ValueError, contracts.ContractViolation) as exc:
            reason = exc.reason if isinstance(exc, contracts.ContractViolation) else "body is not a JSON object"
            return _reply(400, messages.error(ErrorCode.INVALID_MESSAGE, f"Invalid heartbeat: {reason}"[:1024]))
        return _reply(
            200, messages.heartbeat_ack(client_timestamp=message.get("timestamp"), request_id=message.get("requestId"))
        )
    except Exception as exc:
        log_unexpected(exc)
        return _reply(500, messages.error(ErrorCode.INTERNAL_ERROR, "Internal error; retry later"))

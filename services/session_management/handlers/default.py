"""`$default` route: anything that is not JSON or names no known action gets INVALID_MESSAGE and
changes nothing (no DynamoDB call on this path)."""

from __future__ import annotations

from typing import Any

from session_management.edge import guarded, read_message
from session_management.errors import ErrorCode, ServiceError
from session_management.observability import logger


def _reject(event: dict[str, Any]) -> dict[str, Any]:
    message = read_message(event)  # raises INVALID_MESSAGE for non-JSON and unknown actions
    raise ServiceError(ErrorCode.INVALID_MESSAGE, f"Action {message['action']!r} is not routed here")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return guarded(event, lambda: _reject(event), handshake=False)

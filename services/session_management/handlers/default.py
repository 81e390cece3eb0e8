"""`$default` route: anything that is not JSON or names no known action gets INVALID_MESSAGE and
changes nothing (no DynamoDB call on this path)."""

from __future__ import annotations

from typing import Any

from session_management.edge import answer_message
from session_management.errors import ErrorCode, ServiceError
from session_management.observability import logger


def _reject(message: dict[str, Any]) -> dict[str, Any]:
    # Reading the message already refused non-JSON and unknown actions; a known one is misrouted.
    raise ServiceError(ErrorCode.INVALID_MESSAGE, f"Action {message['action']!r} is not routed here")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return answer_message(event, _reject)

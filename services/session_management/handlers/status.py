"""`getSessionStatus` route: answered through the route response (handlers/session_status.py)."""

from __future__ import annotations

from typing import Any

from session_management.dependencies import build_during_init
from session_management.handlers import session_status
from session_management.metrics import metrics
from session_management.observability import logger

build_during_init(repositories=True)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return session_status.handle(event)

"""The status function's entry point. One Lambda function serves two jobs, each with its own home:
the `getSessionStatus` route (handlers/session_status.py) and the periodic job that EventBridge
runs every minute (handlers/periodic_job.py; its scheduled events carry `source: aws.events`)."""

from __future__ import annotations

from typing import Any

from session_management.dependencies import build_during_init
from session_management.handlers import periodic_job, session_status
from session_management.metrics import metrics
from session_management.observability import logger

build_during_init(repositories=True, connections_api=True)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if periodic_job.is_scheduled(event):
        return periodic_job.handle(event)
    return session_status.handle(event)

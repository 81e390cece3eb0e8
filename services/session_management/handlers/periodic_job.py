"""The periodic job (EventBridge, every minute; see reconcile), and the metrics it reports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from session_management import reconcile
from session_management.dependencies import dependencies
from session_management.metrics import metrics
from session_management.observability import log_unexpected


def is_scheduled(event: Mapping[str, Any]) -> bool:
    return event.get("source") == "aws.events"


def handle(event: dict[str, Any]) -> dict[str, Any]:
    try:
        deps = dependencies()
        report = reconcile.run(
            reconcile.JobDependencies(deps.repositories, deps.settings, deps.connections_api, deps.listeners)
        )
    except Exception as exc:
        # No traceback in the logs (see observability): the failure is logged by type and place
        # and counted, and PeriodicJobFailures alarms; the next run starts from scratch.
        log_unexpected(exc)
        metrics.add_metric(name="PeriodicJobFailures", unit=MetricUnit.Count, value=1)
        return {"failed": True, "error": type(exc).__name__}
    metrics.add_metric(name="ActiveSessions", unit=MetricUnit.Count, value=report.active_sessions)
    metrics.add_metric(name="TotalListeners", unit=MetricUnit.Count, value=report.total_listeners)
    return report.summary()

"""The periodic job's function: EventBridge runs it every minute (see reconcile), and it reports
the service's gauges. A function of its own, so its timeout (a run at 50,000 connections takes
long) never becomes a route's, which API Gateway cuts off at 29 s."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from session_management import reconcile
from session_management.dependencies import build_during_init, dependencies
from session_management.metrics import metrics
from session_management.observability import log_unexpected, logger

build_during_init(repositories=True, connections_api=True)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event)


def handle(event: Mapping[str, Any]) -> dict[str, Any]:
    """One run; `event` is EventBridge's scheduled event, which the job does not need."""
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

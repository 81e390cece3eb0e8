"""`getSessionStatus` route, and the periodic job that EventBridge runs every minute
(its scheduled events carry `source: aws.events`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from session_management import controls, reconcile
from session_management.edge import caller_from_event, guarded, read_message, response
from session_management.metrics import metrics
from session_management.observability import log_unexpected, logger


def _status(event: dict[str, Any]) -> dict[str, Any]:
    message = read_message(event)
    return response(200, controls.get_session_status(message, caller_from_event(event)))


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event.get("source") == "aws.events":
        try:
            report = reconcile.run()
        except Exception as exc:
            # No traceback in the logs (see observability): the failure is logged by type and place
            # and counted, and PeriodicJobFailures alarms; the next run starts from scratch.
            log_unexpected(exc)
            metrics.add_metric(name="PeriodicJobFailures", unit=MetricUnit.Count, value=1)
            return {"failed": True, "error": type(exc).__name__}
        metrics.add_metric(name="ActiveSessions", unit=MetricUnit.Count, value=report.active_sessions)
        metrics.add_metric(name="TotalListeners", unit=MetricUnit.Count, value=report.total_listeners)
        return asdict(report)
    return guarded(event, lambda: _status(event), handshake=False)

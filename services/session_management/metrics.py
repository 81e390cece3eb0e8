"""CloudWatch metrics as embedded metric format (EMF) log lines, namespace `SessionManagement`.

EMF costs no API call on the request path: CloudWatch extracts the metrics from the log stream.
"""

from __future__ import annotations

import time

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from session_management import resource_names as names

metrics = Metrics(namespace=names.METRICS_NAMESPACE, service=names.SERVICE_NAME)


def record_latency(name: str, started_monotonic: float) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Milliseconds, value=(time.monotonic() - started_monotonic) * 1000)


def record_error(code: str) -> None:
    """ConnectionErrors, flushed at once: once in total (what the alarm watches; alarms cannot sum
    across dimension values) and once by ErrorCode (what the dashboard breaks down)."""
    with single_metric(name="ConnectionErrors", unit=MetricUnit.Count, value=1, namespace=names.METRICS_NAMESPACE):
        pass
    with single_metric(
        name="ConnectionErrors", unit=MetricUnit.Count, value=1, namespace=names.METRICS_NAMESPACE
    ) as metric:
        metric.add_dimension(name="ErrorCode", value=code)


def record_fanout_failures(count: int) -> None:
    """FanoutFailures: pushes that failed for reasons other than a connection being gone (410)."""
    if count:
        metrics.add_metric(name="FanoutFailures", unit=MetricUnit.Count, value=count)

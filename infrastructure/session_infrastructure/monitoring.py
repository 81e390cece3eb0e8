"""Alarms, their SNS topic and the `SessionManagement-{env}` dashboard.

The service's own metrics are embedded-metric-format log lines (namespace `SessionManagement`,
dimension `service`), so alarms on them cost no code on the request path.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from session_infrastructure.config import StageConfig
from session_infrastructure.functions import construct_id_of
from session_management import resource_names as names

NAMESPACE = names.METRICS_NAMESPACE
SERVICE_DIMENSION = {"service": names.SERVICE_NAME}
# Share of maxActiveSessions at which someone should look before creations are refused.
ACTIVE_SESSIONS_ALARM_SHARE = 0.8
CONNECTION_ERRORS_PER_5_MINUTES = 50
FANOUT_FAILURES_PER_5_MINUTES = 10


@dataclass(frozen=True)
class LatencyTarget:
    metric_name: str
    title: str
    p95_threshold_ms: float


# The product's targets (docs/PERFORMANCE.md): the same numbers gate promotion to prod.
LATENCY_TARGETS = (
    LatencyTarget("SessionCreationLatency", "Session creation", 2000),
    LatencyTarget("ListenerJoinLatency", "Listener join", 1000),
    LatencyTarget("HeartbeatLatency", "Heartbeat", 100),
)


def service_metric(name: str, statistic: str, period: Duration | None = None) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=name,
        dimensions_map=SERVICE_DIMENSION,
        statistic=statistic,
        period=period or Duration.minutes(1),
    )


class SessionMonitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        functions: dict[str, lambda_.Function],
        websocket_api_id: str,
        websocket_stage: str,
    ) -> None:
        super().__init__(scope, construct_id)
        env = config.env
        self.topic = sns.Topic(
            self,
            "AlarmTopic",
            topic_name=names.alarm_topic_name(env),
            display_name=f"Session management alarms ({env})",
            enforce_ssl=True,
        )
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        self.alarms: list[cloudwatch.Alarm] = []

        for target in LATENCY_TARGETS:
            self._alarm(
                f"{target.metric_name}P95",
                names.alarm_name(f"{_kebab(target.metric_name)}-p95", env),
                f"{target.title} p95 above {target.p95_threshold_ms:g} ms for 3 of 5 minutes",
                service_metric(target.metric_name, "p95"),
                target.p95_threshold_ms,
                datapoints=3,
                periods=5,
            )
        self._alarm(
            "ConnectionErrors",
            names.alarm_name("connection-errors", env),
            f"More than {CONNECTION_ERRORS_PER_5_MINUTES} refused connections or messages in 5 minutes",
            service_metric("ConnectionErrors", "Sum", Duration.minutes(5)),
            CONNECTION_ERRORS_PER_5_MINUTES,
        )
        active_threshold = max(1, int(config.max_active_sessions * ACTIVE_SESSIONS_ALARM_SHARE))
        self._alarm(
            "ActiveSessionsNearLimit",
            names.alarm_name("active-sessions-near-limit", env),
            f"Active sessions at {active_threshold} of maxActiveSessions {config.max_active_sessions}: "
            "new sessions will soon be refused",
            service_metric("ActiveSessions", "Maximum"),
            active_threshold,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        )
        self._alarm(
            "FanoutFailures",
            names.alarm_name("fanout-failures", env),
            "Broadcasts to listeners failing for reasons other than a closed connection",
            service_metric("FanoutFailures", "Sum", Duration.minutes(5)),
            FANOUT_FAILURES_PER_5_MINUTES,
        )
        self._alarm(
            "PeriodicJobFailures",
            names.alarm_name("periodic-job-failures", env),
            "The periodic reconcile/status job failed twice in a row: counts and cleanup are not maintained",
            service_metric("PeriodicJobFailures", "Sum"),
            0,
            datapoints=2,
            periods=2,
        )
        for key, function in functions.items():
            for kind, metric in (
                ("errors", function.metric_errors(period=Duration.minutes(5), statistic="Sum")),
                ("throttles", function.metric_throttles(period=Duration.minutes(5), statistic="Sum")),
            ):
                self._alarm(
                    f"{construct_id_of(key)}Function{kind.capitalize()}",
                    names.alarm_name(f"{key.replace('_', '-')}-function-{kind}", env),
                    f"{kind.capitalize()} of the {key} function",
                    metric,
                    0,
                )
        self.dashboard = self._dashboard(env, functions, websocket_api_id, websocket_stage)

    def _alarm(
        self,
        construct_id: str,
        name: str,
        description: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        *,
        datapoints: int = 1,
        periods: int = 1,
        comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    ) -> None:
        # No data means no traffic, which is not an incident.
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=name,
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=periods,
            datapoints_to_alarm=datapoints,
            comparison_operator=comparison,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        alarm.add_ok_action(actions.SnsAction(self.topic))
        self.alarms.append(alarm)

    def _dashboard(
        self, env: str, functions: dict[str, lambda_.Function], api_id: str, stage: str
    ) -> cloudwatch.Dashboard:
        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=names.dashboard_name(env))
        latency_widgets: list[cloudwatch.IWidget] = [
            cloudwatch.GraphWidget(
                title=f"{target.title} latency (ms)",
                left=[service_metric(target.metric_name, p) for p in ("p50", "p95", "p99")],
                left_annotations=[cloudwatch.HorizontalAnnotation(value=target.p95_threshold_ms, label="p95 target")],
                width=8,
            )
            for target in LATENCY_TARGETS
        ]
        api_dimensions = {"ApiId": api_id, "Stage": stage}
        api_metrics = [
            cloudwatch.Metric(
                namespace="AWS/ApiGateway", metric_name=name, dimensions_map=api_dimensions, statistic="Sum"
            )
            for name in ("ConnectCount", "MessageCount", "ClientError", "IntegrationError")
        ]
        dashboard.add_widgets(*latency_widgets)
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Active sessions and listeners",
                left=[service_metric("ActiveSessions", "Maximum")],
                right=[service_metric("TotalListeners", "Maximum")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Refusals and fan-out failures",
                left=[service_metric("ConnectionErrors", "Sum"), service_metric("FanoutFailures", "Sum")],
                width=8,
            ),
            cloudwatch.GraphWidget(title="WebSocket API", left=api_metrics, width=8),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Function errors and throttles",
                left=[f.metric_errors(label=f"{key} errors") for key, f in functions.items()],
                right=[f.metric_throttles(label=f"{key} throttles") for key, f in functions.items()],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Function duration p95 (ms)",
                left=[f.metric_duration(statistic="p95", label=key) for key, f in functions.items()],
                width=12,
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms), width=24),
        )
        return dashboard


def _kebab(name: str) -> str:
    return "".join(f"-{c.lower()}" if c.isupper() else c for c in name).lstrip("-")

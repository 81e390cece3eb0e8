"""The periodic reconcile/status job: EventBridge every minute, its minimum period
(sub-minute schedules are not supported, so the job's timings are at least a minute apart)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from session_infrastructure.config import StageConfig
from session_management import resource_names as names


class PeriodicJob(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, function: lambda_.IFunction
    ) -> None:
        super().__init__(scope, construct_id)
        self.rule = events.Rule(
            self,
            "EveryMinute",
            rule_name=names.periodic_job_rule(config.env),
            description="Reconcile connections, notify refreshes, end abandoned sessions, push status",
            schedule=events.Schedule.rate(Duration.minutes(1)),
        )
        self.rule.add_target(targets.LambdaFunction(function, retry_attempts=0))

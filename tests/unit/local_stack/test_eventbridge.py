"""Schedule expressions, rules from the template, and running a rule's targets."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from local_stack.awslambda.pool import InvocationResult
from local_stack.cloudformation.template import StackTemplate
from local_stack.eventbridge import responses
from local_stack.eventbridge.models import ScheduleRule, cron_matches, schedule_rules, scheduled_event
from local_stack.eventbridge.scheduler import Scheduler
from tests.unit.local_stack.fakes import RecordingPool


def rule(expression: str, *targets: str, enabled: bool = True) -> ScheduleRule:
    return ScheduleRule("Rule", "job", "arn:aws:events:us-east-1:000000000000:rule/job", expression, targets, enabled)


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(1 hour)", 3600),
        ("rate(2 hours)", 7200),
        ("rate(1 day)", 86400),
        ("rate(3 days)", 259200),
    ],
)
def test_rate_units(expression, seconds):
    assert rule(expression).interval_seconds() == seconds


@pytest.mark.parametrize(
    "expression", ["rate(10 seconds)", "rate(minute)", "rate(-1 minutes)", "rate(1 minute) ", "cron(* * * * ? *)"]
)
def test_what_is_not_a_rate_has_no_interval(expression):
    assert rule(expression).interval_seconds() is None


NOON = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)  # a Sunday


def test_cron_fixed_minute_and_hour():
    assert cron_matches("cron(0 12 * * ? *)", NOON)
    assert not cron_matches("cron(0 12 * * ? *)", NOON.replace(minute=1))
    assert not cron_matches("cron(0 12 * * ? *)", NOON.replace(hour=13))


def test_cron_steps_ranges_and_lists():
    assert cron_matches("cron(*/15 * * * ? *)", NOON.replace(minute=45))
    assert not cron_matches("cron(*/15 * * * ? *)", NOON.replace(minute=46))
    assert cron_matches("cron(0 9-17 * * ? *)", NOON)
    assert not cron_matches("cron(0 9-11 * * ? *)", NOON)
    assert cron_matches("cron(0,30 12 * * ? *)", NOON.replace(minute=30))
    assert not cron_matches("cron(0,30 12 * * ? *)", NOON.replace(minute=15))


def test_cron_day_of_month_month_and_year():
    assert cron_matches("cron(0 12 15 * ? *)", NOON)
    assert not cron_matches("cron(0 12 16 * ? *)", NOON)
    assert cron_matches("cron(0 12 1-15 3 ? 2026)", NOON)
    assert not cron_matches("cron(0 12 * 4 ? *)", NOON)
    assert not cron_matches("cron(0 12 * * ? 2027)", NOON)


def test_cron_day_of_week_is_outside_the_numeric_subset_and_not_evaluated():
    # A day-of-month rule matches on its day whatever the weekday; a day-of-week rule (day of
    # month `?`) matches every day. The stack's own rules use rate() and `*`/`?` only.
    assert cron_matches("cron(0 12 15 * ? *)", NOON)
    assert cron_matches("cron(0 12 ? * MON *)", NOON)
    assert cron_matches("cron(0 12 ? * 2 *)", NOON)


@pytest.mark.parametrize("expression", ["cron(0 12 * * ?)", "cron(0 12 * * ? * *)", "rate(1 minute)", "cron()"])
def test_a_cron_without_six_fields_never_matches(expression):
    assert not cron_matches(expression, NOON)


TEMPLATE = {
    "Resources": {
        "Job": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "status-job"}},
        "EveryMinute": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Name": "every-minute",
                "ScheduleExpression": "rate(1 minute)",
                "Targets": [{"Arn": {"Fn::GetAtt": ["Job", "Arn"]}, "Id": "t"}, {"Arn": "arn:aws:sns:x", "Id": "u"}],
            },
        },
        "Paused": {
            "Type": "AWS::Events::Rule",
            "Properties": {"ScheduleExpression": "cron(0 * * * ? *)", "State": "DISABLED", "Targets": []},
        },
        "OnEvent": {"Type": "AWS::Events::Rule", "Properties": {"EventPattern": {"source": ["x"]}}},
    }
}


def test_schedule_rules_from_the_template():
    template = StackTemplate(TEMPLATE, stack_name="S", region="eu-west-1", assembly_dir=Path())
    every_minute, paused = schedule_rules(template)
    assert every_minute.name == "every-minute"
    assert every_minute.arn == "arn:aws:events:eu-west-1:000000000000:rule/every-minute"
    assert every_minute.target_function_names == ("status-job",)  # the SNS target is not a function
    assert every_minute.enabled
    assert paused.name == "Paused" and not paused.enabled


def test_the_scheduled_event_names_its_rule():
    event = scheduled_event(rule("rate(1 minute)"), "eu-west-1", "000000000000", NOON)
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["resources"] == ["arn:aws:events:us-east-1:000000000000:rule/job"]
    assert event["time"] == "2026-03-15T12:00:00Z" and event["detail"] == {}


def test_trigger_invokes_every_target_and_counts_the_failures():
    ok, failing = RecordingPool(InvocationResult(payload=None)), RecordingPool(InvocationResult(error_type="Boom"))
    scheduler = Scheduler(
        [rule("rate(1 minute)", "ok", "failing", "missing")],
        {"ok": ok, "failing": failing},
        "us-east-1",
        "000000000000",
        1.0,
    )
    assert asyncio.run(scheduler.trigger("job")) == 2
    assert len(ok.events) == 1 and ok.events[0] is failing.events[0]  # one event for all targets


def test_a_rate_rule_runs_on_its_time_scaled_period_and_a_disabled_one_never():
    pool = RecordingPool(InvocationResult())
    rules = [rule("rate(1 minute)", "fn"), rule("rate(1 minute)", "fn", enabled=False)]
    scheduler = Scheduler(rules[:1], {"fn": pool}, "us-east-1", "000000000000", 0.0005)  # 30 ms a period
    disabled = Scheduler(rules[1:], {"fn": RecordingPool(InvocationResult())}, "us-east-1", "000000000000", 0.0005)

    async def run_briefly() -> None:
        task = asyncio.ensure_future(scheduler.run())
        await disabled.run()  # nothing enabled: returns at once
        await asyncio.sleep(0.2)
        task.cancel()

    asyncio.run(run_briefly())
    assert 2 <= len(pool.events) <= 8


def test_the_local_trigger_route_runs_a_rule_or_answers_404():
    pool = RecordingPool(InvocationResult(error_type="Boom"))
    scheduler = Scheduler([rule("rate(1 minute)", "fn")], {"fn": pool}, "us-east-1", "000000000000", 1.0)

    async def scenario() -> None:
        app = web.Application()
        responses.add_routes(app, scheduler)
        async with TestClient(TestServer(app)) as client:
            ran = await client.post("/__local/rules/job/trigger")
            assert await ran.json() == {"rule": "job", "failedTargets": 1}
            missing = await client.post("/__local/rules/nope/trigger")
            assert missing.status == 404 and await missing.json() == {"message": "rule nope not found"}

    asyncio.run(scenario())
    assert len(pool.events) == 1

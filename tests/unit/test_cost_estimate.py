"""The cost estimate follows the template and the profile, and prices come with their sources.

A small hand-made template stands in for the stack: synthesizing the real one takes too long here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cost.estimate import Report, estimate
from cost.line_items import LineItem
from cost.prices import PRICES_PATH, load_prices
from cost.resources import FUNCTION_PREFIXES, read_resources
from cost.usage import Profile, model_usage

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_PYTHON = REPO_ROOT / ".venv" / "bin" / "python"
PYTHON = str(VENV_PYTHON) if VENV_PYTHON.exists() else sys.executable
# `make cost` runs the estimator as a module, with these on its path.
CLI = [PYTHON, "-m", "cost"]
CLI_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(str(REPO_ROOT / p) for p in ("infrastructure", "services", "."))}


def _function(name: str, memory: int = 128, arch: str = "arm64") -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "FunctionName": name,
            "MemorySize": memory,
            "Architectures": [arch],
            "LoggingConfig": {"LogGroup": {"Ref": f"{_logical(name)}Logs"}},
            "Environment": {"Variables": {"CONNECTION_REFRESH_MINUTES": "100", "DATA_RETENTION_HOURS": "12"}},
        },
    }


def _logical(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))


def _log_group(name: str) -> dict[str, Any]:
    return {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {"LogGroupName": f"/aws/lambda/{name}", "RetentionInDays": 1},
    }


def make_template(
    memory: dict[str, int] | None = None, arch: str = "arm64", without: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The dev stack's shape: nine functions, a WebSocket API, the every-minute rule, tables, one alarm."""
    memory = memory or {}
    names = [
        "session-authorizer-dev",
        "session-connection-handler-dev",
        "session-heartbeat-handler-dev",
        "session-disconnect-handler-dev",
        "session-refresh-handler-dev",
        "session-control-handler-dev",
        "session-status-handler-dev",
        "session-periodic-job-handler-dev",
        "session-default-handler-dev",
    ]
    resources: dict[str, Any] = {}
    for name in names:
        if name in without:
            continue
        resources[_logical(name)] = _function(name, memory.get(name, 128), arch)
        resources[f"{_logical(name)}Logs"] = _log_group(name)
    resources["Api"] = {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"ProtocolType": "WEBSOCKET"}}
    resources["Sessions"] = {"Type": "AWS::DynamoDB::Table", "Properties": {"BillingMode": "PAY_PER_REQUEST"}}
    resources["Connections"] = {"Type": "AWS::DynamoDB::Table", "Properties": {"BillingMode": "PAY_PER_REQUEST"}}
    resources["Alarm"] = {"Type": "AWS::CloudWatch::Alarm", "Properties": {}}
    resources["EveryMinute"] = {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "ScheduleExpression": "rate(1 minute)",
            "State": "ENABLED",
            "Targets": [
                {"Arn": {"Fn::GetAtt": [_logical("session-periodic-job-handler-dev"), "Arn"]}, "Id": "Target0"}
            ],
        },
    }
    return {"Resources": resources}


@pytest.fixture(scope="module")
def prices() -> dict[str, Any]:
    return load_prices()


def _line(report: Report, item_starts: str) -> LineItem:
    matches = [i for i in report.line_items if i.item.startswith(item_starts)]
    assert len(matches) == 1, [i.item for i in report.line_items]
    return matches[0]


def test_doubling_listeners_roughly_doubles_connection_minutes_and_heartbeats():
    resources = read_resources(make_template())
    small = model_usage(resources, Profile(listeners_per_session=100))
    large = model_usage(resources, Profile(listeners_per_session=200))
    # One speaker per session: 201 / 101 connections, just under double.
    assert large.connection_minutes / small.connection_minutes == pytest.approx(2, rel=0.01)
    heartbeats = "heartbeats (in + ack)"
    assert large.messages[heartbeats] / small.messages[heartbeats] == pytest.approx(2, rel=0.01)
    assert large.events.heartbeats / small.events.heartbeats == pytest.approx(2, rel=0.01)


def test_heartbeats_are_billed_in_both_directions():
    usage = model_usage(read_resources(make_template()), Profile())
    assert usage.messages["heartbeats (in + ack)"] == 2 * usage.invocations["heartbeat"]


def test_arm64_uses_the_arm64_price_and_x86_its_own(prices):
    arm = _line(estimate(make_template(arch="arm64"), Profile(), prices), "session-heartbeat-handler-dev (")
    x86 = _line(estimate(make_template(arch="x86_64"), Profile(), prices), "session-heartbeat-handler-dev (")
    assert arm.unit_usd == prices["prices"]["lambdaGbSecondsArm64"]["usd"]
    assert x86.unit_usd == prices["prices"]["lambdaGbSecondsX86_64"]["usd"]
    assert arm.quantity == x86.quantity
    assert arm.monthly_usd < x86.monthly_usd


def test_256_mb_costs_twice_128_mb_for_the_same_duration(prices):
    name = "session-control-handler-dev"
    small = _line(estimate(make_template(memory={name: 128}), Profile(), prices), f"{name} (")
    large = _line(estimate(make_template(memory={name: 256}), Profile(), prices), f"{name} (")
    assert large.monthly_usd == pytest.approx(2 * small.monthly_usd)
    assert small.monthly_usd > 0


@pytest.mark.parametrize("days", [30, 31, 7])
def test_the_periodic_job_runs_every_minute_of_every_day(days):
    resources = read_resources(make_template())
    assert resources.periodic_runs_per_day == {"periodic_job": 60 * 24}
    usage = model_usage(resources, Profile(days=days))
    assert usage.invocations["periodic_job"] == 60 * 24 * days
    assert usage.periodic_runs == 60 * 24 * days


def test_missing_functions_cost_nothing_but_are_listed(prices):
    missing = "session-heartbeat-handler-dev"
    report = estimate(make_template(without=(missing,)), Profile(), prices)
    heartbeat_lines = [i for i in report.line_items if i.item.startswith("session-heartbeat-handler-")]
    assert heartbeat_lines and all(i.monthly_usd == 0 for i in heartbeat_lines)
    http = _line(report, "session-http-api-handler-")  # not in this stack at all
    assert http.monthly_usd == 0
    assert report.usage.invocations["http"] == 0
    assert _line(report, "HTTP API requests").monthly_usd == 0


def test_the_total_is_the_sum_and_counts_the_alarm(prices):
    report = estimate(make_template(), Profile(), prices)
    assert report.total_usd == pytest.approx(sum(i.monthly_usd for i in report.line_items))
    assert _line(report, "standard alarms").quantity == 1
    assert report.total_usd > 0


def with_http_api(template: dict[str, Any]) -> dict[str, Any]:
    """The HTTP API as CDK synthesizes it: its handler, the API, a stage logging to a 1-day group."""
    resources = template["Resources"]
    name = "session-http-api-handler-dev"
    resources[_logical(name)] = _function(name, 256)
    resources[f"{_logical(name)}Logs"] = _log_group(name)
    resources["HttpApi"] = {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"ProtocolType": "HTTP"}}
    resources["HttpAccessLogs"] = {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 1}}
    resources["HttpStage"] = {
        "Type": "AWS::ApiGatewayV2::Stage",
        "Properties": {
            "ApiId": {"Ref": "HttpApi"},
            "AccessLogSettings": {"DestinationArn": {"Fn::GetAtt": ["HttpAccessLogs", "Arn"]}, "Format": "{}"},
        },
    }
    return template


def test_the_http_api_bills_its_requests_once_it_is_in_the_stack(prices):
    profile = Profile(sessions_per_day=10, http_requests_per_session=4, days=30)
    report = estimate(with_http_api(make_template()), profile, prices)
    requests = 10 * 4 * 30
    assert _line(report, "HTTP API requests").quantity == requests
    assert _line(report, "session-http-api-handler-dev requests").quantity == requests
    assert _line(report, "API Gateway access logs: ingestion").monthly_usd > 0
    assert not any("No HTTP API" in note for note in report.notes)


def test_heartbeats_never_touch_dynamodb():
    resources = read_resources(make_template())
    quiet = model_usage(resources, Profile(heartbeat_seconds=60))
    chatty = model_usage(resources, Profile(heartbeat_seconds=10))
    assert chatty.wru == quiet.wru
    assert chatty.rru == quiet.rru


def test_long_sessions_refresh_their_connections():
    resources = read_resources(make_template())
    assert model_usage(resources, Profile(session_hours=1.5)).events.refreshes == 0
    usage = model_usage(resources, Profile(session_hours=1.75))  # past CONNECTION_REFRESH_MINUTES=100
    assert usage.events.refreshes == usage.events.sessions * usage.events.connections_per_session


def test_prices_have_a_date_a_region_and_a_source_each():
    data = json.loads(PRICES_PATH.read_text())
    assert data["asOf"] == "2025-06-01"
    assert data["region"] == "us-east-1"
    assert "not fetched" in data["note"] or "never fetched" in data["note"]
    for key, entry in data["prices"].items():
        assert entry["source"].startswith("https://aws.amazon.com/"), key
        assert entry["unit"] and entry["per"] > 0 and entry["usd"] >= 0, key


def test_the_cli_prints_a_table_with_a_total(tmp_path):
    template = tmp_path / "SessionManagement-dev.template.json"
    template.write_text(json.dumps(make_template()))
    result = subprocess.run(
        [*CLI, "--template", str(template), "--listeners-per-session", "50"],
        cwd=REPO_ROOT,
        env=CLI_ENV,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "TOTAL" in result.stdout
    assert "2025-06-01" in result.stdout
    assert "listeners_per_session=50" in result.stdout


def test_the_cli_json_is_machine_readable(tmp_path):
    template = tmp_path / "t.json"
    template.write_text(json.dumps(make_template()))
    result = subprocess.run(
        [*CLI, "--template", str(template), "--json"],
        cwd=REPO_ROOT,
        env=CLI_ENV,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = json.loads(result.stdout)
    assert report["total_usd"] == pytest.approx(sum(i["monthly_usd"] for i in report["line_items"]))
    assert report["prices_as_of"] == "2025-06-01"


def test_the_cli_explains_a_missing_template(tmp_path):
    result = subprocess.run(
        [*CLI, "--template", str(tmp_path / "absent.json")],
        check=False,
        cwd=REPO_ROOT,
        env=CLI_ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "not found" in result.stderr


def test_the_function_prefixes_are_the_function_specs_names():
    from session_infrastructure.functions import function_specs  # imports aws_cdk: only this test pays for it

    assert sorted(FUNCTION_PREFIXES.values()) == sorted(spec.name.removesuffix("dev") for spec in function_specs("dev"))

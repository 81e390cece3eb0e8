"""What the synthesized template says about the parts of a stage that cost money.

What the stack *is* (functions, memory, architecture, schedule, alarms, dashboards, log
retention, stage settings) is read from the template through the local stack's template reader
(`local_stack.cloudformation.template`), the one reader of synthesized templates in the tree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_stack.cloudformation.template import Resource, StackTemplate
from session_management import resource_names as names
from session_management.config import TUNABLE_DEFAULTS, environment_variable

MINUTES_PER_DAY = 24 * 60

# The stack names every function `{base name}-{env}` (session_management.resource_names); the base
# name says which job it does. The estimate calls the HTTP API's function "http".
FUNCTION_PREFIXES: dict[str, str] = {
    ("http" if key == names.HTTP_API else key): f"{base}-" for key, base in names.FUNCTION_BASE_NAMES.items()
}

# Stage settings the handlers read from their environment, with the stack's defaults.
STAGE_SETTINGS_DEFAULTS: dict[str, float] = {
    environment_variable(tunable): getattr(TUNABLE_DEFAULTS, tunable)
    for tunable in ("connection_refresh_minutes", "data_retention_hours", "session_max_duration_hours")
}


@dataclass(frozen=True)
class LambdaFunction:
    role: str
    name: str
    logical_id: str
    memory_mb: int
    architecture: str
    log_retention_days: int | None


@dataclass(frozen=True)
class AccessLog:
    """An API Gateway stage's access logs: `protocol` says which requests write a line."""

    stage: str
    protocol: str
    log_retention_days: int | None


@dataclass(frozen=True)
class StackResources:
    """What the template says about the parts that cost money."""

    functions: dict[str, LambdaFunction]
    unmodelled_functions: list[str]
    periodic_runs_per_day: dict[str, float]
    alarms: int
    dashboards: int
    sns_topics: int
    scheduled_rules: int
    has_websocket_api: bool
    has_http_api: bool
    dynamodb_tables: int
    settings: dict[str, float]
    access_logs: list[AccessLog] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _by_logical_id(template: StackTemplate, resource_type: str) -> dict[str, Resource]:
    return {resource.logical_id: resource for resource in template.of_type(resource_type)}


def role_of(function_name: str) -> str | None:
    for role, prefix in FUNCTION_PREFIXES.items():
        if function_name.startswith(prefix):
            return role
    return None


def _retention(group: Resource) -> int | None:
    retention = group.properties.get("RetentionInDays")
    return int(retention) if retention is not None else None  # None: kept forever


def _log_retention_days(template: StackTemplate, props: Mapping[str, Any], name: str) -> int | None:
    """The function's own log group (LoggingConfig), else `/aws/lambda/{name}`; None = never expires."""
    groups = _by_logical_id(template, "AWS::Logs::LogGroup")
    ref = props.get("LoggingConfig", {}).get("LogGroup")
    if isinstance(ref, dict) and ref.get("Ref") in groups:
        return _retention(groups[ref["Ref"]])
    for group in groups.values():
        if group.properties.get("LogGroupName") == f"/aws/lambda/{name}":
            return _retention(group)
    return None


def _logical_id(value: object) -> str | None:
    """The resource a `Ref` or `Fn::GetAtt` points at."""
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("Ref"), str):
        return str(value["Ref"])
    get_att = value.get("Fn::GetAtt")
    if isinstance(get_att, list) and get_att:
        return str(get_att[0])
    if isinstance(get_att, str):
        return get_att.split(".")[0]
    return None


def _access_logs(template: StackTemplate) -> list[AccessLog]:
    apis = _by_logical_id(template, "AWS::ApiGatewayV2::Api")
    groups = _by_logical_id(template, "AWS::Logs::LogGroup")
    found = []
    for stage_id, stage in _by_logical_id(template, "AWS::ApiGatewayV2::Stage").items():
        settings = stage.properties.get("AccessLogSettings")
        if not isinstance(settings, dict) or "DestinationArn" not in settings:
            continue
        api = apis.get(_logical_id(stage.properties.get("ApiId")) or "")
        protocol = str(api.properties.get("ProtocolType")) if api else "UNKNOWN"
        group = groups.get(_logical_id(settings["DestinationArn"]) or "")
        found.append(AccessLog(stage_id, protocol, _retention(group) if group else None))
    return found


def _read_function(template: StackTemplate, logical_id: str, resource: Resource) -> LambdaFunction | None:
    props = resource.properties
    name = props.get("FunctionName")
    if not isinstance(name, str) or (role := role_of(name)) is None:
        return None
    architectures = props.get("Architectures") or ["x86_64"]  # CloudFormation's default
    return LambdaFunction(
        role=role,
        name=name,
        logical_id=logical_id,
        memory_mb=int(props.get("MemorySize", 128)),  # CloudFormation's default
        architecture=str(architectures[0]),
        log_retention_days=_log_retention_days(template, props, name),
    )


_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_RATE_MINUTES = {"minute": 1, "hour": 60, "day": MINUTES_PER_DAY}


def runs_per_day(schedule_expression: str) -> float | None:
    """rate(...) only: cron schedules are rare here and their run count depends on the calendar."""
    match = _RATE.match(schedule_expression.strip())
    if not match:
        return None
    minutes = int(match.group(1)) * _RATE_MINUTES[match.group(2).rstrip("s")]
    return MINUTES_PER_DAY / minutes


def _periodic_runs(template: StackTemplate, functions: dict[str, LambdaFunction], notes: list[str]) -> dict[str, float]:
    """Runs per day of each scheduled function, the rule's target matched to the function by its logical id."""
    by_logical_id = {f.logical_id: f for f in functions.values()}
    runs: dict[str, float] = {}
    for rule_id, rule in _by_logical_id(template, "AWS::Events::Rule").items():
        props = rule.properties
        expression = props.get("ScheduleExpression")
        if not isinstance(expression, str) or props.get("State", "ENABLED") != "ENABLED":
            continue
        per_day = runs_per_day(expression)
        if per_day is None:
            notes.append(f"Rule {rule_id}: schedule {expression!r} is not rate(...); its runs are not counted.")
            continue
        for target in props.get("Targets", []):
            function = by_logical_id.get(_logical_id(target.get("Arn")) or "")
            if function is None:
                notes.append(f"Rule {rule_id}: a target is not a modelled function; its runs are not counted.")
                continue
            runs[function.role] = runs.get(function.role, 0.0) + per_day
    return runs


def _number(value: object) -> float | None:
    """Environment values are strings; an unresolved token (a Ref) is not a number."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _stage_settings(template: StackTemplate) -> dict[str, float]:
    """The settings the handlers run with, read from the functions' environment."""
    settings = dict(STAGE_SETTINGS_DEFAULTS)
    for resource in _by_logical_id(template, "AWS::Lambda::Function").values():
        variables = resource.properties.get("Environment", {}).get("Variables", {})
        for key in settings:
            value = _number(variables.get(key))
            if value is not None and value > 0:
                settings[key] = value
    return settings


def _api_protocols(template: StackTemplate) -> set[str]:
    return {
        str(api.properties.get("ProtocolType")) for api in _by_logical_id(template, "AWS::ApiGatewayV2::Api").values()
    }


def read_resources(body: dict[str, Any]) -> StackResources:
    """The costed parts of a synthesized template's body."""
    # Nothing is resolved here, so the stack's name, region and assembly directory do not matter.
    template = StackTemplate(body, stack_name="", region="", assembly_dir=Path())
    functions: dict[str, LambdaFunction] = {}
    unmodelled: list[str] = []
    for logical_id, resource in _by_logical_id(template, "AWS::Lambda::Function").items():
        function = _read_function(template, logical_id, resource)
        if function is None:
            name = resource.properties.get("FunctionName")
            unmodelled.append(name if isinstance(name, str) else logical_id)
        else:
            functions[function.role] = function
    notes: list[str] = []
    protocols = _api_protocols(template)
    return StackResources(
        functions=functions,
        unmodelled_functions=sorted(unmodelled),
        periodic_runs_per_day=_periodic_runs(template, functions, notes),
        alarms=len(_by_logical_id(template, "AWS::CloudWatch::Alarm")),
        dashboards=len(_by_logical_id(template, "AWS::CloudWatch::Dashboard")),
        sns_topics=len(_by_logical_id(template, "AWS::SNS::Topic")),
        scheduled_rules=sum(
            1
            for rule in _by_logical_id(template, "AWS::Events::Rule").values()
            if "ScheduleExpression" in rule.properties
        ),
        has_websocket_api="WEBSOCKET" in protocols,
        has_http_api="HTTP" in protocols,
        dynamodb_tables=len(_by_logical_id(template, "AWS::DynamoDB::Table")),
        settings=_stage_settings(template),
        access_logs=_access_logs(template),
        notes=notes,
    )

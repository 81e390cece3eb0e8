"""The deployment checklist (../shared/reference/deployment-checklist.md) as checks on a running stage.

Each check reads the stage through AWS's own APIs, so the same code verifies a deployment and the
local stack; what the local stack does not emulate (API Gateway's and CloudWatch's control
planes, SNS) is reported as not applicable rather than passed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from session_infrastructure.functions import function_specs
from session_infrastructure.http_api import SESSION_ROUTES
from session_infrastructure.websocket_api import MESSAGE_ROUTES
from session_management import resource_names as names

PASS, FAIL, NOT_APPLICABLE = "PASS", "FAIL", "N/A"
WEBSOCKET_ROUTES = {"$connect", "$disconnect", *MESSAGE_ROUTES}
TABLES = {
    "Sessions": ("expiresAt", {names.SESSIONS_BY_SPEAKER_INDEX}),
    "Connections": ("ttl", {names.CONNECTIONS_BY_LANGUAGE_INDEX}),
    "RateLimits": ("expiresAt", set()),
}


@dataclass(frozen=True)
class CheckResult:
    area: str
    check: str
    status: str
    detail: str = ""


def outcome(area: str, check: str, ok: bool, detail: str = "") -> CheckResult:
    """A passed or failed check (the smoke test reports through it too)."""
    return CheckResult(area, check, PASS if ok else FAIL, detail)


def check_tables(env: str, client: Any, production_like: bool) -> Iterator[CheckResult]:
    for base, (ttl_attribute, indexes) in TABLES.items():
        name = f"{base}-{env}"
        try:
            table = client.describe_table(TableName=name)["Table"]
        except client.exceptions.ResourceNotFoundException:
            yield outcome("DynamoDB", f"{name} exists", False, "not found")
            continue
        yield outcome("DynamoDB", f"{name} exists", True)
        billing = table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
        yield outcome("DynamoDB", f"{name} on-demand", billing == "PAY_PER_REQUEST", billing)
        ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        yield outcome(
            "DynamoDB",
            f"{name} TTL on {ttl_attribute}",
            ttl.get("TimeToLiveStatus") == "ENABLED" and ttl.get("AttributeName") == ttl_attribute,
            f"{ttl.get('TimeToLiveStatus')} {ttl.get('AttributeName', '')}".strip(),
        )
        found = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
        for index in sorted(indexes):
            yield outcome("DynamoDB", f"{name} GSI {index}", index in found, ", ".join(sorted(found)) or "none")
        if production_like:
            backups = client.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
            status = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus")
            yield outcome("DynamoDB", f"{name} point-in-time recovery", status == "ENABLED", str(status))


def check_functions(env: str, client: Any) -> Iterator[CheckResult]:
    for spec in function_specs(env):
        try:
            config = client.get_function_configuration(FunctionName=spec.name)
        except client.exceptions.ResourceNotFoundException:
            yield outcome("Lambda", f"{spec.name} exists", False, "not found")
            continue
        actual = (config["MemorySize"], config["Timeout"], config["Runtime"], config.get("Architectures", ["x86_64"]))
        expected = (spec.memory_mb, spec.timeout_seconds, "python3.11", ["arm64"])
        yield outcome(
            "Lambda",
            f"{spec.name} {spec.memory_mb} MB, {spec.timeout_seconds} s, python3.11 arm64",
            actual == expected,
            f"{actual[0]} MB, {actual[1]} s, {actual[2]} {'/'.join(actual[3])}",
        )
        variables = config.get("Environment", {}).get("Variables", {})
        missing = [v for v in ("SESSIONS_TABLE_NAME", "CONNECTIONS_TABLE_NAME", "ENV_NAME") if v not in variables]
        yield outcome(
            "Lambda", f"{spec.name} environment", not missing and variables.get("ENV_NAME") == env, ", ".join(missing)
        )


def check_apis(env: str, client: Any) -> Iterator[CheckResult]:
    apis = {api["Name"]: api for api in client.get_apis()["Items"]}
    websocket = apis.get(f"session-websocket-api-{env}")
    yield outcome(
        "API Gateway",
        f"session-websocket-api-{env} (WEBSOCKET)",
        websocket is not None and websocket["ProtocolType"] == "WEBSOCKET",
    )
    if websocket:
        routes = {r["RouteKey"]: r for r in client.get_routes(ApiId=websocket["ApiId"])["Items"]}
        yield outcome("API Gateway", "WebSocket routes", set(routes) == WEBSOCKET_ROUTES, ", ".join(sorted(routes)))
        connect = routes.get("$connect", {})
        yield outcome("API Gateway", "authorizer on $connect", connect.get("AuthorizationType") == "CUSTOM")
        stages = {s["StageName"]: s for s in client.get_stages(ApiId=websocket["ApiId"])["Items"]}
        throttled = stages.get(names.WEBSOCKET_STAGE, {}).get("DefaultRouteSettings", {}).get("ThrottlingRateLimit")
        yield outcome("API Gateway", "stage prod with throttling", throttled is not None, str(throttled))
    http = apis.get(f"session-http-api-{env}")
    yield outcome("API Gateway", f"session-http-api-{env} (HTTP)", bool(http))
    if http:
        routes = {r["RouteKey"]: r for r in client.get_routes(ApiId=http["ApiId"])["Items"]}
        expected = {f"{method.value} {path}" for method, path in SESSION_ROUTES}
        yield outcome("API Gateway", "HTTP routes", set(routes) == expected, ", ".join(sorted(routes)))
        yield outcome(
            "API Gateway",
            "JWT authorizer on every HTTP route",
            all(r.get("AuthorizationType") == "JWT" for r in routes.values()),
        )


def check_monitoring(env: str, cloudwatch: Any, sns: Any, logs: Any, retention_days: int) -> Iterator[CheckResult]:
    alarms = {
        a["AlarmName"]
        for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmNamePrefix="session-")
        for a in page["MetricAlarms"]
    }
    for name in (
        f"session-session-creation-latency-p95-{env}",
        f"session-listener-join-latency-p95-{env}",
        f"session-heartbeat-latency-p95-{env}",
        f"session-connection-errors-{env}",
        f"session-active-sessions-near-limit-{env}",
        f"session-fanout-failures-{env}",
    ):
        yield outcome("CloudWatch", f"alarm {name}", name in alarms)
    function_alarms = [a for a in alarms if a.endswith(f"-function-errors-{env}")]
    yield outcome(
        "CloudWatch",
        "error alarm for every function",
        len(function_alarms) == len(function_specs(env)),
        str(len(function_alarms)),
    )
    topics = [
        t["TopicArn"]
        for t in sns.list_topics()["Topics"]
        if t["TopicArn"].endswith(f":session-management-alarms-{env}")
    ]
    yield outcome("SNS", f"topic session-management-alarms-{env}", bool(topics))
    if topics:
        subscriptions = sns.list_subscriptions_by_topic(TopicArn=topics[0])["Subscriptions"]
        confirmed = [s for s in subscriptions if s["Protocol"] == "email" and s["SubscriptionArn"].startswith("arn:")]
        yield outcome("SNS", "email subscription confirmed", bool(confirmed), f"{len(subscriptions)} subscription(s)")
    dashboards = cloudwatch.list_dashboards(DashboardNamePrefix=names.dashboard_name(env))["DashboardEntries"]
    yield outcome("CloudWatch", f"dashboard SessionManagement-{env}", bool(dashboards))
    for spec in function_specs(env):
        groups = logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{spec.name}")["logGroups"]
        days = groups[0].get("retentionInDays") if groups else None
        yield outcome("CloudWatch Logs", f"/aws/lambda/{spec.name} retention", days == retention_days, str(days))


def not_applicable(area: str, what: str, why: str) -> CheckResult:
    return CheckResult(area, what, NOT_APPLICABLE, why)

"""Monthly AWS cost of one stage for a usage profile, computed from its synthesized template.

Run from the repository root:

    .venv/bin/python infrastructure/cost/estimate.py [--template cdk.out/SessionManagement-dev.template.json] [--json]

What the stack *is* (functions, memory, architecture, schedule, alarms, dashboards, log
retention, stage settings) is read from the template, so the estimate follows the stack as it
changes. How the service is *used* comes from the profile and from the assumptions below, which
are the only guesses; every one is printed with the estimate. Prices are data (prices.json),
copied by hand from AWS's pricing pages and never fetched.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

PRICES_PATH = Path(__file__).resolve().with_name("prices.json")
DEFAULT_TEMPLATE = Path("cdk.out/SessionManagement-dev.template.json")

# The stack names every function `{prefix}{env}`; the prefix says which job it does.
FUNCTION_PREFIXES: dict[str, str] = {
    "authorizer": "session-authorizer-",
    "connection": "session-connection-handler-",
    "heartbeat": "session-heartbeat-handler-",
    "disconnect": "session-disconnect-handler-",
    "refresh": "session-refresh-handler-",
    "control": "session-control-handler-",
    "status": "session-status-handler-",
    "default": "session-default-handler-",
    "http": "session-http-api-handler-",
}

# Assumed average duration per invocation in ms (billed rounded up to the next 1 ms).
AVERAGE_DURATION_MS: dict[str, float] = {
    "authorizer": 50,  # JWKS cached per execution environment; anonymous listeners are cheaper
    "connection": 120,  # a DynamoDB transaction, or the async sessionCreated delivery
    "heartbeat": 5,  # no DynamoDB call
    "disconnect": 60,
    "refresh": 120,
    "control": 300,  # includes the fan-out to every listener
    "status": 500,  # the periodic job: two scans, GET @connections per row, status pushes
    "default": 10,
    "http": 80,
}

# Bytes written to CloudWatch Logs per invocation: START/END/REPORT, one JSON log line, EMF.
LOG_BYTES_PER_INVOCATION = 600
# Bytes per API Gateway access-log line (one per HTTP request, WebSocket connect/disconnect or inbound message).
ACCESS_LOG_BYTES_PER_LINE = 300
# Every DynamoDB item is assumed to be 1 KB (sessions, connection rows, GSI copies).
ITEM_KB = 1.0
SPEAKERS_PER_SESSION = 1
# Outbound frames each listener receives when a session ends: speakerDisconnected, sessionEnded.
SESSION_END_FRAMES_PER_LISTENER = 2
# Frames per connection refresh: connectionRefreshRequired, connectionRefreshComplete.
REFRESH_FRAMES = 2


@dataclass(frozen=True)
class Units:
    """DynamoDB request units of one operation (transactions bill 2 WRU per item written)."""

    wru: float
    rru: float


DYNAMODB_UNITS: dict[str, Units] = {
    "create": Units(6, 0),  # transaction: session + speaker row + active-session count
    "join": Units(4, 1),  # transaction: listener row + listener count; session read
    "leave": Units(4, 0),  # transaction: row removed + count decremented (speaker or listener)
    "refresh": Units(4, 1),  # swap of the speaker id, or a listener's new row in for its old one
    "control": Units(2, 1),  # session state update + requestId claim (RateLimits); caller read
    "heartbeat": Units(0, 0),  # heartbeats never touch DynamoDB
    "http": Units(0, 1),  # one strongly consistent read per HTTP API request
}
# Listener rows are copied to the sparse language GSI: each row written or removed is 1 more WRU.
GSI_WRU_PER_LISTENER_ROW_CHANGE = 1.0

# EMF metrics, each with the `service` dimension: one metric-month per name.
CUSTOM_METRICS = (
    "SessionCreationLatency",
    "ListenerJoinLatency",
    "HeartbeatLatency",
    "ConnectionErrors",
    "ActiveSessions",
    "TotalListeners",
    "FanoutFailures",
    "PeriodicJobFailures",
)

# Stage settings the handlers read from their environment, with the stack's defaults.
STAGE_SETTINGS_DEFAULTS: dict[str, float] = {
    "CONNECTION_REFRESH_MINUTES": 100,
    "DATA_RETENTION_HOURS": 12,
    "SESSION_MAX_DURATION_HOURS": 2,
}

BYTES_PER_GB = 1024**3
MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class Profile:
    """How the stage is used; all counts are averages."""

    sessions_per_day: float = 20
    listeners_per_session: float = 100
    session_hours: float = 1.5
    heartbeat_seconds: float = 30
    controls_per_session_hour: float = 30
    http_requests_per_session: float = 5
    days: float = 30


@dataclass(frozen=True)
class Price:
    key: str
    usd: float
    per: float
    unit: str
    source: str

    @property
    def unit_usd(self) -> float:
        return self.usd / self.per

    def label(self) -> str:
        if self.per == 1:
            return f"{usd(self.usd)} / {self.unit}"
        per = f"{self.per / 1_000_000:g}M" if self.per >= 1_000_000 else f"{self.per:,.0f}"
        return f"{usd(self.usd)} / {per} {plural(self.unit)}"


def usd(amount: float) -> str:
    """At least cents, and every digit of sub-cent prices ($0.0000133334)."""
    whole, _, cents = f"{amount:.10f}".rstrip("0").partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"


def plural(unit: str) -> str:
    return unit if unit[-1].isupper() else f"{unit}s"  # GB, WRU and RRU stay as they are


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


@dataclass(frozen=True)
class LineItem:
    service: str
    item: str
    quantity: float
    unit: str
    unit_price: str
    unit_usd: float
    monthly_usd: float


# --- prices ----------------------------------------------------------------------------------


def load_prices(path: Path = PRICES_PATH) -> dict[str, Any]:
    prices: dict[str, Any] = json.loads(path.read_text())
    return prices


def price(prices: dict[str, Any], key: str) -> Price:
    entry = prices["prices"][key]
    return Price(key, float(entry["usd"]), float(entry["per"]), str(entry["unit"]), str(entry["source"]))


# --- template --------------------------------------------------------------------------------


def _resources(template: dict[str, Any], type_name: str) -> dict[str, dict[str, Any]]:
    return {lid: res for lid, res in template.get("Resources", {}).items() if res.get("Type") == type_name}


def _props(resource: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = resource.get("Properties", {})
    return props


def role_of(function_name: str) -> str | None:
    for role, prefix in FUNCTION_PREFIXES.items():
        if function_name.startswith(prefix):
            return role
    return None


def _retention(group: dict[str, Any]) -> int | None:
    retention = _props(group).get("RetentionInDays")
    return int(retention) if retention is not None else None  # None: kept forever


def _log_retention_days(template: dict[str, Any], props: dict[str, Any], name: str) -> int | None:
    """The function's own log group (LoggingConfig), else `/aws/lambda/{name}`; None = never expires."""
    groups = _resources(template, "AWS::Logs::LogGroup")
    ref = props.get("LoggingConfig", {}).get("LogGroup")
    if isinstance(ref, dict) and ref.get("Ref") in groups:
        return _retention(groups[ref["Ref"]])
    for group in groups.values():
        if _props(group).get("LogGroupName") == f"/aws/lambda/{name}":
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


def _access_logs(template: dict[str, Any]) -> list[AccessLog]:
    apis = _resources(template, "AWS::ApiGatewayV2::Api")
    groups = _resources(template, "AWS::Logs::LogGroup")
    found = []
    for stage_id, stage in _resources(template, "AWS::ApiGatewayV2::Stage").items():
        settings = _props(stage).get("AccessLogSettings")
        if not isinstance(settings, dict) or "DestinationArn" not in settings:
            continue
        api = apis.get(_logical_id(_props(stage).get("ApiId")) or "")
        protocol = str(_props(api).get("ProtocolType")) if api else "UNKNOWN"
        group = groups.get(_logical_id(settings["DestinationArn"]) or "")
        found.append(AccessLog(stage_id, protocol, _retention(group) if group else None))
    return found


def _read_function(template: dict[str, Any], logical_id: str, resource: dict[str, Any]) -> LambdaFunction | None:
    props = _props(resource)
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


def _periodic_runs(
    template: dict[str, Any], functions: dict[str, LambdaFunction], notes: list[str]
) -> dict[str, float]:
    """Runs per day of each scheduled function, the rule's target matched to the function by its logical id."""
    by_logical_id = {f.logical_id: f for f in functions.values()}
    runs: dict[str, float] = {}
    for rule_id, rule in _resources(template, "AWS::Events::Rule").items():
        props = _props(rule)
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


def _stage_settings(template: dict[str, Any]) -> dict[str, float]:
    """The settings the handlers run with, read from the functions' environment."""
    settings = dict(STAGE_SETTINGS_DEFAULTS)
    for resource in _resources(template, "AWS::Lambda::Function").values():
        variables = _props(resource).get("Environment", {}).get("Variables", {})
        for key in settings:
            value = _number(variables.get(key))
            if value is not None and value > 0:
                settings[key] = value
    return settings


def _api_protocols(template: dict[str, Any]) -> set[str]:
    return {str(_props(api).get("ProtocolType")) for api in _resources(template, "AWS::ApiGatewayV2::Api").values()}


def read_resources(template: dict[str, Any]) -> StackResources:
    functions: dict[str, LambdaFunction] = {}
    unmodelled: list[str] = []
    for logical_id, resource in _resources(template, "AWS::Lambda::Function").items():
        function = _read_function(template, logical_id, resource)
        if function is None:
            name = _props(resource).get("FunctionName")
            unmodelled.append(name if isinstance(name, str) else logical_id)
        else:
            functions[function.role] = function
    notes: list[str] = []
    protocols = _api_protocols(template)
    return StackResources(
        functions=functions,
        unmodelled_functions=sorted(unmodelled),
        periodic_runs_per_day=_periodic_runs(template, functions, notes),
        alarms=len(_resources(template, "AWS::CloudWatch::Alarm")),
        dashboards=len(_resources(template, "AWS::CloudWatch::Dashboard")),
        sns_topics=len(_resources(template, "AWS::SNS::Topic")),
        scheduled_rules=sum(
            1 for rule in _resources(template, "AWS::Events::Rule").values() if "ScheduleExpression" in _props(rule)
        ),
        has_websocket_api="WEBSOCKET" in protocols,
        has_http_api="HTTP" in protocols,
        dynamodb_tables=len(_resources(template, "AWS::DynamoDB::Table")),
        settings=_stage_settings(template),
        access_logs=_access_logs(template),
        notes=notes,
    )


# --- usage -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Events:
    """Monthly counts of what clients do, the base of every other quantity."""

    sessions: float
    session_minutes: float
    connections_per_session: float
    connects: float
    heartbeats: float
    controls: float
    refreshes: float
    listener_refreshes: float
    http_requests: float
    status_pushes: float


@dataclass(frozen=True)
class Usage:
    """Monthly quantities of the profile on this stack."""

    events: Events
    connection_minutes: float
    messages: dict[str, float]
    invocations: dict[str, float]
    wru: dict[str, float]
    rru: dict[str, float]
    dynamodb_stored_gb: float
    periodic_runs: float


def count_events(r: StackResources, p: Profile) -> Events:
    session_hours = min(p.session_hours, r.settings["SESSION_MAX_DURATION_HOURS"])
    sessions = p.sessions_per_day * p.days
    per_session = SPEAKERS_PER_SESSION + p.listeners_per_session
    # Each connection is refreshed once per refresh period it lives through (API Gateway's 2-hour cap).
    cycles = math.floor(session_hours * 60 / r.settings["CONNECTION_REFRESH_MINUTES"])
    return Events(
        sessions=sessions,
        session_minutes=session_hours * 60,
        connections_per_session=per_session,
        connects=sessions * per_session * (1 + cycles),
        heartbeats=sessions * per_session * session_hours * 3600 / p.heartbeat_seconds,
        controls=sessions * p.controls_per_session_hour * session_hours,
        refreshes=sessions * per_session * cycles,
        listener_refreshes=sessions * p.listeners_per_session * cycles,
        http_requests=sessions * p.http_requests_per_session if r.has_http_api else 0.0,
        # The periodic job pushes sessionStatus to each speaker once a minute, if it is scheduled.
        status_pushes=sessions * session_hours * 60 if r.periodic_runs_per_day.get("status") else 0.0,
    )


def _messages(e: Events, p: Profile) -> dict[str, float]:
    """Frames API Gateway meters, both directions; create and join in the handshake form."""
    return {
        "heartbeats (in + ack)": 2 * e.heartbeats,
        "sessionCreated": e.sessions,  # a join on $connect is accepted with no frame
        "controls (in + ack + fan-out)": e.controls * (2 + p.listeners_per_session),
        "status pushes (periodic job)": e.status_pushes,
        "session end (per listener)": e.sessions * p.listeners_per_session * SESSION_END_FRAMES_PER_LISTENER,
        "connection refreshes": e.refreshes * REFRESH_FRAMES,
    }


def _invocations(r: StackResources, e: Events, p: Profile) -> dict[str, float]:
    counts = {
        "authorizer": e.connects,
        "connection": e.connects + e.sessions + e.refreshes,  # + async sessionCreated/refresh deliveries
        "heartbeat": e.heartbeats,
        "disconnect": e.connects,
        "refresh": 0.0,  # refresh's message form is not modelled (the handshake form runs in connection)
        "control": e.controls,
        "status": 0.0,  # getSessionStatus requests are not modelled; the periodic job is added below
        "default": 0.0,
        "http": e.http_requests,
    }
    for role, per_day in r.periodic_runs_per_day.items():
        counts[role] = counts.get(role, 0.0) + per_day * p.days
    # A function that is not in the template costs nothing.
    return {role: (count if role in r.functions else 0.0) for role, count in counts.items()}


def _scan_rru(items: float) -> float:
    """An eventually consistent read: 0.5 RRU per 4 KB, at least one 4 KB unit per request."""
    return 0.5 * max(1, math.ceil(items * ITEM_KB / 4))


def _dynamodb(r: StackResources, e: Events, p: Profile) -> tuple[dict[str, float], dict[str, float], float]:
    """Request units per operation, and the average GB stored."""
    if r.dynamodb_tables == 0:
        return {}, {}, 0.0
    u, gsi = DYNAMODB_UNITS, GSI_WRU_PER_LISTENER_ROW_CHANGE
    listeners = e.sessions * p.listeners_per_session
    wru = {
        "create": e.sessions * u["create"].wru,
        "join": listeners * (u["join"].wru + gsi),
        "leave": e.connects * u["leave"].wru + listeners * gsi,
        "refresh": e.refreshes * u["refresh"].wru + e.listener_refreshes * 2 * gsi,
        "control": e.controls * u["control"].wru,
        "http": e.http_requests * u["http"].wru,
    }
    # The periodic job scans Connections (live rows) and Sessions (rows kept until their TTL).
    session_hours = e.session_minutes / 60
    active_sessions = p.sessions_per_day * session_hours / 24
    connection_items = active_sessions * e.connections_per_session
    session_items = p.sessions_per_day * (session_hours + r.settings["DATA_RETENTION_HOURS"]) / 24
    scans = r.periodic_runs_per_day.get("status", 0.0) * p.days
    rru = {
        "join": listeners * u["join"].rru,
        "refresh": e.refreshes * u["refresh"].rru,
        # + the fan-out's eventually consistent GSI query of the session's listeners
        "control": e.controls * (u["control"].rru + _scan_rru(p.listeners_per_session)),
        "http": e.http_requests * u["http"].rru,
        "periodic scans": scans * (_scan_rru(connection_items) + _scan_rru(session_items)),
    }
    gsi_items = active_sessions * p.listeners_per_session
    stored_gb = (connection_items + session_items + gsi_items) * ITEM_KB * 1024 / BYTES_PER_GB
    return wru, rru, stored_gb


def model_usage(r: StackResources, p: Profile) -> Usage:
    e = count_events(r, p)
    wru, rru, stored_gb = _dynamodb(r, e, p)
    return Usage(
        events=e,
        connection_minutes=e.sessions * e.connections_per_session * e.session_minutes,
        messages=_messages(e, p),
        invocations=_invocations(r, e, p),
        wru=wru,
        rru=rru,
        dynamodb_stored_gb=stored_gb,
        periodic_runs=sum(r.periodic_runs_per_day.values()) * p.days,
    )


# --- line items ------------------------------------------------------------------------------


def _item(service: str, item: str, quantity: float, p: Price) -> LineItem:
    return LineItem(service, item, quantity, plural(p.unit), p.label(), p.unit_usd, quantity * p.unit_usd)


def billed_gb_seconds(invocations: float, duration_ms: float, memory_mb: int) -> float:
    """Lambda bills duration rounded up to the next millisecond, times the configured memory."""
    return invocations * math.ceil(duration_ms) / 1000 * memory_mb / 1024


def _api_gateway_items(u: Usage, prices: dict[str, Any]) -> list[LineItem]:
    minutes = price(prices, "websocketConnectionMinutes")
    items = [_item("API Gateway", "WebSocket connection minutes", u.connection_minutes, minutes)]
    messages = price(prices, "websocketMessages")
    items += [_item("API Gateway", f"WebSocket messages: {kind}", n, messages) for kind, n in u.messages.items()]
    items.append(_item("API Gateway", "HTTP API requests", u.events.http_requests, price(prices, "httpApiRequests")))
    return items


def _lambda_items(r: StackResources, u: Usage, prices: dict[str, Any]) -> list[LineItem]:
    items: list[LineItem] = []
    requests = price(prices, "lambdaRequests")
    for role, prefix in FUNCTION_PREFIXES.items():
        function = r.functions.get(role)
        invocations = u.invocations.get(role, 0.0)
        if function is None:
            items.append(LineItem("Lambda", f"{prefix}* (not in template)", 0.0, "GB-seconds", "-", 0.0, 0.0))
            continue
        key = "lambdaGbSecondsArm64" if function.architecture == "arm64" else "lambdaGbSecondsX86_64"
        gb_seconds = billed_gb_seconds(invocations, AVERAGE_DURATION_MS[role], function.memory_mb)
        label = f"{function.name} ({function.architecture}, {function.memory_mb} MB, {AVERAGE_DURATION_MS[role]:g} ms)"
        items.append(_item("Lambda", label, gb_seconds, price(prices, key)))
        items.append(_item("Lambda", f"{function.name} requests", invocations, requests))
    return items


def _dynamodb_items(u: Usage, prices: dict[str, Any]) -> list[LineItem]:
    wru, rru = price(prices, "dynamodbWriteRequestUnits"), price(prices, "dynamodbReadRequestUnits")
    items = [_item("DynamoDB", f"writes: {op}", n, wru) for op, n in u.wru.items()]
    items += [_item("DynamoDB", f"reads: {op}", n, rru) for op, n in u.rru.items()]
    items.append(_item("DynamoDB", "storage (average)", u.dynamodb_stored_gb, price(prices, "dynamodbStorage")))
    return items


def _access_log_lines(protocol: str, u: Usage) -> float:
    if protocol == "HTTP":
        return u.events.http_requests
    if protocol == "WEBSOCKET":  # $connect, $disconnect and every inbound message
        return 2 * u.events.connects + u.events.heartbeats + u.events.controls
    return 0.0


def _logs_items(r: StackResources, u: Usage, p: Profile, prices: dict[str, Any]) -> list[LineItem]:
    """Stored logs in steady state: a retention's worth of daily ingestion (all of it if never expiring)."""
    streams = [
        (u.invocations.get(role, 0.0) * LOG_BYTES_PER_INVOCATION, f.log_retention_days)
        for role, f in r.functions.items()
    ]
    access = [
        (_access_log_lines(a.protocol, u) * ACCESS_LOG_BYTES_PER_LINE, a.log_retention_days) for a in r.access_logs
    ]
    items = []
    for label, group in (("Lambda logs", streams), ("API Gateway access logs", access)):
        if not group:
            continue
        ingested_gb = sum(size for size, _ in group) / BYTES_PER_GB
        stored_gb = sum(size / p.days * min(days or p.days, p.days) for size, days in group) / BYTES_PER_GB
        items.append(_item("CloudWatch Logs", f"{label}: ingestion", ingested_gb, price(prices, "logsIngestion")))
        items.append(_item("CloudWatch Logs", f"{label}: storage (average)", stored_gb, price(prices, "logsStorage")))
    return items


def _cloudwatch_items(r: StackResources, prices: dict[str, Any]) -> list[LineItem]:
    metrics = len(CUSTOM_METRICS) if r.functions else 0
    return [
        _item("CloudWatch", f"custom metrics ({metrics}, dimension service)", metrics, price(prices, "customMetrics")),
        _item("CloudWatch", "standard alarms", r.alarms, price(prices, "alarms")),
        _item("CloudWatch", "dashboards", r.dashboards, price(prices, "dashboards")),
    ]


def _other_items(r: StackResources, u: Usage, prices: dict[str, Any]) -> list[LineItem]:
    events = price(prices, "eventbridgeScheduledInvocations")
    items = [
        _item(
            "EventBridge",
            f"scheduled rule runs ({r.scheduled_rules} rule{'' if r.scheduled_rules == 1 else 's'})",
            u.periodic_runs,
            events,
        )
    ]
    if r.sns_topics:
        # Alarm emails: a handful a month, inside the 1,000 free emails.
        items.append(_item("SNS", "alarm emails (negligible)", 0.0, price(prices, "snsEmailNotifications")))
    return items


# --- report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    line_items: list[LineItem]
    total_usd: float
    profile: Profile
    usage: Usage
    assumptions: dict[str, Any]
    notes: list[str]
    prices_as_of: str
    region: str


def _assumptions(prices: dict[str, Any]) -> dict[str, Any]:
    return {
        "speakersPerSession": SPEAKERS_PER_SESSION,
        "averageDurationMs": AVERAGE_DURATION_MS,
        "logBytesPerInvocation": LOG_BYTES_PER_INVOCATION,
        "accessLogBytesPerLine": ACCESS_LOG_BYTES_PER_LINE,
        "dynamodbItemKb": ITEM_KB,
        "dynamodbUnitsPerOperation": {op: asdict(units) for op, units in DYNAMODB_UNITS.items()},
        "gsiWruPerListenerRowChange": GSI_WRU_PER_LISTENER_ROW_CHANGE,
        "sessionEndFramesPerListener": SESSION_END_FRAMES_PER_LISTENER,
        "refreshFrames": REFRESH_FRAMES,
        "customMetrics": list(CUSTOM_METRICS),
        "freeTiers": prices.get("freeTiers", "ignored"),
        "pricesNote": prices.get("note", ""),
    }


def _notes(r: StackResources, p: Profile, u: Usage, prices: dict[str, Any]) -> list[str]:
    notes = list(r.notes)
    max_hours = r.settings["SESSION_MAX_DURATION_HOURS"]
    if p.session_hours > max_hours:
        notes.append(f"Sessions end at SESSION_MAX_DURATION_HOURS={max_hours:g}: session hours capped.")
    if r.unmodelled_functions:
        notes.append(f"Functions not modelled (0 cost): {', '.join(r.unmodelled_functions)}.")
    if not r.has_http_api:
        notes.append("No HTTP API in the template: HTTP API requests are 0.")
    if sum(u.messages.values()) > 1e9:
        notes.append("Over 1 billion WebSocket messages: the first-tier price overstates the rest.")
    if not r.has_websocket_api:
        notes.append("No WebSocket API in the template: its lines are still modelled from the profile.")
    notes.append("Every WebSocket message is assumed under 32 KB, every HTTP request under 512 KB (metered once).")
    notes.append("ConnectionErrors is also emitted per ErrorCode: each code that occurs adds one metric-month.")
    notes.append("The periodic job's GET/DELETE @connections calls are not counted as messages.")
    notes.append(f"Free tiers ignored. Prices as of {prices['asOf']} ({prices['region']}), from prices.json.")
    return notes


def estimate(template: dict[str, Any], profile: Profile, prices: dict[str, Any]) -> Report:
    resources = read_resources(template)
    usage = model_usage(resources, profile)
    items = [
        *_api_gateway_items(usage, prices),
        *_lambda_items(resources, usage, prices),
        *_dynamodb_items(usage, prices),
        *_logs_items(resources, usage, profile, prices),
        *_cloudwatch_items(resources, prices),
        *_other_items(resources, usage, prices),
    ]
    return Report(
        line_items=items,
        total_usd=sum(item.monthly_usd for item in items),
        profile=profile,
        usage=usage,
        assumptions=_assumptions(prices),
        notes=_notes(resources, profile, usage, prices),
        prices_as_of=str(prices["asOf"]),
        region=str(prices["region"]),
    )


# --- output ----------------------------------------------------------------------------------


def _quantity(value: float, unit: str) -> str:
    text = f"{value:,.0f}" if value >= 100 or value == int(value) else f"{value:,.4f}"
    return f"{text} {unit}"


def _table(rows: Iterable[Sequence[str]], right: set[int]) -> list[str]:
    grid = [list(row) for row in rows]
    widths = [max(len(row[i]) for row in grid) for i in range(len(grid[0]))]

    def cell(i: int, text: str) -> str:
        return text.rjust(widths[i]) if i in right else text.ljust(widths[i])

    return ["  ".join(cell(i, text) for i, text in enumerate(row)).rstrip() for row in grid]


def render(report: Report) -> str:
    header = ("service", "item", "monthly quantity", "unit price", "monthly USD")
    rows = [
        (i.service, i.item, _quantity(i.quantity, i.unit), i.unit_price, f"{i.monthly_usd:,.2f}")
        for i in report.line_items
    ]
    lines = _table([header, *rows, ("TOTAL", "", "", "", f"{report.total_usd:,.2f}")], right={2, 4})
    rule = "-" * max(len(line) for line in lines)
    out = [lines[0], rule, *lines[1:-1], rule, lines[-1], ""]
    out.append(
        f"Profile ({report.profile.days:g} days): "
        + ", ".join(f"{f.name}={getattr(report.profile, f.name):g}" for f in fields(report.profile))
    )
    out.append(f"Prices: {report.region}, as of {report.prices_as_of} (prices.json, not fetched online)")
    out.append("Assumptions:")
    for key, value in report.assumptions.items():
        out.append(f"  {key}: {json.dumps(value) if isinstance(value, dict | list) else value}")
    out.append("Notes:")
    out += [f"  - {note}" for note in report.notes]
    return "\n".join(out)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Monthly AWS cost of a stage for a usage profile.")
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE, help="synthesized CloudFormation JSON")
    defaults = Profile()
    for f in fields(Profile):
        flag = "--" + f.name.replace("_", "-")
        parser.add_argument(
            flag, type=float, default=getattr(defaults, f.name), help=f"default {getattr(defaults, f.name):g}"
        )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.template.is_file():
        print(f"{args.template} not found: synthesize the stage first (make synth ENV=dev)", file=sys.stderr)
        return 2
    profile = Profile(**{f.name: getattr(args, f.name) for f in fields(Profile)})
    if profile.heartbeat_seconds <= 0 or profile.days <= 0:
        print("--heartbeat-seconds and --days must be positive", file=sys.stderr)
        return 2
    report = estimate(json.loads(args.template.read_text()), profile, load_prices())
    print(json.dumps({"template": str(args.template), **asdict(report)}, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

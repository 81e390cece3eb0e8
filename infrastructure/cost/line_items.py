"""The bill's lines: each monthly quantity of the usage model at its price."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from cost.prices import Price, plural, price
from cost.resources import FUNCTION_PREFIXES, StackResources
from cost.usage import (
    ACCESS_LOG_BYTES_PER_LINE,
    AVERAGE_DURATION_MS,
    BYTES_PER_GB,
    CUSTOM_METRICS,
    LOG_BYTES_PER_INVOCATION,
    Profile,
    Usage,
)


@dataclass(frozen=True)
class LineItem:
    service: str
    item: str
    quantity: float
    unit: str
    unit_price: str
    unit_usd: float
    monthly_usd: float


def _item(service: str, item: str, quantity: float, p: Price) -> LineItem:
    return LineItem(service, item, quantity, plural(p.unit), p.label(), p.unit_usd, quantity * p.unit_usd)


def billed_gb_seconds(invocations: float, duration_ms: float, memory_mb: int) -> float:
    """Lambda bills duration rounded up to the next millisecond, times the configured memory."""
    return invocations * math.ceil(duration_ms) / 1000 * memory_mb / 1024


def api_gateway_items(u: Usage, prices: dict[str, Any]) -> list[LineItem]:
    minutes = price(prices, "websocketConnectionMinutes")
    items = [_item("API Gateway", "WebSocket connection minutes", u.connection_minutes, minutes)]
    messages = price(prices, "websocketMessages")
    items += [_item("API Gateway", f"WebSocket messages: {kind}", n, messages) for kind, n in u.messages.items()]
    items.append(_item("API Gateway", "HTTP API requests", u.events.http_requests, price(prices, "httpApiRequests")))
    return items


def lambda_items(r: StackResources, u: Usage, prices: dict[str, Any]) -> list[LineItem]:
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


def dynamodb_items(u: Usage, prices: dict[str, Any]) -> list[LineItem]:
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


def logs_items(r: StackResources, u: Usage, p: Profile, prices: dict[str, Any]) -> list[LineItem]:
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


def cloudwatch_items(r: StackResources, prices: dict[str, Any]) -> list[LineItem]:
    metrics = len(CUSTOM_METRICS) if r.functions else 0
    return [
        _item("CloudWatch", f"custom metrics ({metrics}, dimension service)", metrics, price(prices, "customMetrics")),
        _item("CloudWatch", "standard alarms", r.alarms, price(prices, "alarms")),
        _item("CloudWatch", "dashboards", r.dashboards, price(prices, "dashboards")),
    ]


def other_items(r: StackResources, u: Usage, prices: dict[str, Any]) -> list[LineItem]:
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

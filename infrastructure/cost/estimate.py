"""Monthly AWS cost of one stage for a usage profile, computed from its synthesized template.

    PYTHONPATH=infrastructure:. .venv/bin/python -m cost [--template <synthesized template>] [--json]

The estimate reads the stack's resources (`cost.resources`), models the profile's usage on them
(`cost.usage`), prices every quantity (`cost.line_items`, `cost.prices`) and adds the notes a
reader needs to trust the total; `cost.render` prints it and `cost.cli` is the command line.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from cost import line_items as lines
from cost.line_items import LineItem
from cost.resources import StackResources, read_resources
from cost.usage import (
    ACCESS_LOG_BYTES_PER_LINE,
    AVERAGE_DURATION_MS,
    CUSTOM_METRICS,
    DYNAMODB_UNITS,
    GSI_WRU_PER_LISTENER_ROW_CHANGE,
    ITEM_KB,
    LOG_BYTES_PER_INVOCATION,
    REFRESH_FRAMES,
    SESSION_END_FRAMES_PER_LISTENER,
    SPEAKERS_PER_SESSION,
    Profile,
    Usage,
    model_usage,
)


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
        *lines.api_gateway_items(usage, prices),
        *lines.lambda_items(resources, usage, prices),
        *lines.dynamodb_items(usage, prices),
        *lines.logs_items(resources, usage, profile, prices),
        *lines.cloudwatch_items(resources, prices),
        *lines.other_items(resources, usage, prices),
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

"""Running a local stage's EventBridge schedule rule now, instead of waiting for its schedule."""

from __future__ import annotations

from typing import Any

from stage_access import control
from stage_access.endpoints import StageEndpoints


def trigger_rule(stack: StageEndpoints, rule: str) -> dict[str, Any]:
    """Run a schedule rule's targets now, through the gateway process that owns the schedules."""
    result: dict[str, Any] = control.post(stack, f"/__local/rules/{rule}/trigger")
    return result

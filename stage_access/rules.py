"""Running a local stage's EventBridge schedule rule now, instead of waiting for its schedule."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from stage_access.endpoints import StageEndpoints


def trigger_rule(stack: StageEndpoints, rule: str) -> dict[str, Any]:
    """Run a schedule rule's targets now, through the gateway process that owns the schedules."""
    request = urllib.request.Request(f"{stack['lambdaEndpoint']}/__local/rules/{rule}/trigger", method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback only
        result: dict[str, Any] = json.load(response)
        return result

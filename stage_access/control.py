"""Calling a running local stack's control endpoints (`/__local/...`), which need its secret.

The stack writes the secret, readable by its owner only, to the file `stack.json` names; no
deployed stage has these endpoints (local_stack/control_access.py says why they are guarded)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from stage_access.endpoints import StageEndpoints

SECRET_HEADER = "X-Local-Stack-Secret"  # noqa: S105 - a header name


def control_headers(stack: StageEndpoints) -> dict[str, str]:
    """The headers a control request carries: the stack's secret, and a JSON body type."""
    secret = Path(stack["controlSecretFile"]).read_text().strip()
    return {SECRET_HEADER: secret, "Content-Type": "application/json"}


def control_url(stack: StageEndpoints, path: str) -> str:
    """`path` (starting `/__local/`) on the gateway that serves the stack's Lambda API."""
    return f"{stack['lambdaEndpoint']}{path}"


def post(stack: StageEndpoints, path: str, body: dict[str, Any] | None = None, timeout: float = 60) -> Any:
    """POST a control request; its JSON answer."""
    request = urllib.request.Request(  # noqa: S310 - loopback only
        control_url(stack, path), data=json.dumps(body or {}).encode(), headers=control_headers(stack), method="POST"
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback only
        return json.load(response)

"""The delivery event the `$connect` handshake schedules of its own function (see deferred_delivery)."""

from __future__ import annotations

from typing import Any

from session_management import deferred_delivery
from session_management.dependencies import dependencies
from session_management.observability import log_unexpected


def handle(event: dict[str, Any]) -> dict[str, Any]:
    try:
        deps = dependencies()
        repos = deps.repositories
        return deferred_delivery.deliver(event, deps.connections_api, repos.sessions, repos.connections)
    except Exception as exc:  # the management API unreachable: logged without a traceback
        log_unexpected(exc)
        return {"delivered": False}

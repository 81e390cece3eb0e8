"""Refusals the WebSocket handlers count against the caller's address (see abuse_limits), with
the tables this execution environment's dependencies reach."""

from __future__ import annotations

from session_management import abuse_limits
from session_management.caller import Caller
from session_management.dependencies import dependencies
from session_management.errors import ServiceError


def record_handshake_refusal(caller: Caller, error: ServiceError) -> None:
    abuse_limits.record_refusal(dependencies().repositories.rate_limits, caller, error, handshake=True)


def record_message_refusal(caller: Caller, error: ServiceError) -> None:
    abuse_limits.record_refusal(dependencies().repositories.rate_limits, caller, error, handshake=False)

"""Who is on the other end of a WebSocket connection, as API Gateway's event tells us."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from session_management.observability import hash_id


def management_endpoint(event: Mapping[str, Any]) -> str:
    """`https://{domainName}/{stage}`, as AWS documents for the management API (never `wss://`)."""
    context = event["requestContext"]
    return f"https://{context['domainName']}/{context['stage']}"


@dataclass(frozen=True)
class Caller:
    connection_id: str
    endpoint: str
    source_ip: str = ""
    user_id: str | None = None

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> Caller:
        context = event["requestContext"]
        authorizer = context.get("authorizer") or {}
        return cls(
            connection_id=context["connectionId"],
            endpoint=management_endpoint(event),
            source_ip=(context.get("identity") or {}).get("sourceIp", ""),
            user_id=authorizer.get("userId") or None,
        )

    @property
    def address_key(self) -> str:
        # Addresses are personal data: counters are keyed by a hash, never the address itself.
        return f"ip:{hash_id(self.source_ip)}"

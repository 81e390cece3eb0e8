"""Sending frames to connections through API Gateway's @connections API."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from session_management.aws import management_client


def endpoint_from_event(event: Mapping[str, Any]) -> str:
    """`https://{domainName}/{stage}`, as AWS documents for the management API (never `wss://`)."""
    context = event["requestContext"]
    return f"https://{context['domainName']}/{context['stage']}"


def post_json(endpoint: str, connection_id: str, message: Mapping[str, Any]) -> bool:
    """Send one message; False when the connection is gone (410), which callers treat as normal."""
    client = management_client(endpoint)
    try:
        client.post_to_connection(ConnectionId=connection_id, Data=json.dumps(message).encode())
    except client.exceptions.GoneException:
        return False
    return True

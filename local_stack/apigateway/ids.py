"""Identifiers shaped like API Gateway's.

Connection ids are 16 characters of base64 (11 bytes, one `=` of padding), like
`L0SM9cOFvHcCIhw=`. The first byte names the gateway process that holds the connection, so an
`@connections` call that lands on another process can be forwarded without shared state.
"""

from __future__ import annotations

import base64
import secrets


def new_connection_id(process_index: int) -> str:
    return base64.b64encode(bytes([process_index]) + secrets.token_bytes(10)).decode()


def owner_of(connection_id: str) -> int | None:
    try:
        raw = base64.b64decode(connection_id, validate=True)
    except (ValueError, TypeError):
        return None
    return raw[0] if len(raw) == 11 else None


def new_request_id() -> str:
    return base64.b64encode(secrets.token_bytes(11)).decode()


def new_message_id() -> str:
    return base64.b64encode(secrets.token_bytes(11)).decode()

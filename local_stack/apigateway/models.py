"""What one gateway process holds about its WebSocket connections, and the domain errors of the
`@connections` management API.

State only: `gateway.py` changes it as API Gateway would, `responses.py` maps it to HTTP.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Any


def now_ms() -> int:
    return int(time.time() * 1000)


class ConnectionState(enum.Enum):
    # Until $connect returns, @connections answers 410 GoneException, as in AWS.
    CONNECTING = "connecting"
    OPEN = "open"
    CLOSED = "closed"


@dataclass
class Connection:
    connection_id: str
    connected_at_ms: int
    source_ip: str
    user_agent: str | None  # None when the client sent no User-Agent: the event then has none
    headers: dict[str, str]
    multi_value_headers: dict[str, list[str]]
    query: dict[str, str] | None
    multi_value_query: dict[str, list[str]] | None
    last_active_at_ms: int = 0
    authorizer: dict[str, Any] | None = None
    state: ConnectionState = ConnectionState.CONNECTING
    socket: Any = None
    transport: Any = None
    close_code: int | None = None
    close_reason: str = ""
    # What the `$connect` integration chose of the client's offered subprotocols (its response's
    # Sec-WebSocket-Protocol header); API Gateway passes it to the client.
    subprotocol: str | None = None
    disconnect_fired: bool = field(default=False)

    @property
    def is_open(self) -> bool:
        return self.state is ConnectionState.OPEN and self.socket is not None and not self.socket.closed


@dataclass(frozen=True)
class Refusal:
    """Why a handshake ends before the socket opens: the status and body API Gateway answers with."""

    status: int
    text: str
    content_type: str | None = None


class ManagementApiError(Exception):
    """An `@connections` call API Gateway refuses, named by its `x-amzn-ErrorType`."""

    error_type = "InternalServerErrorException"
    message: str | None = None


class GoneException(ManagementApiError):
    """The connection is not open (never was, still connecting, or closed)."""

    error_type = "GoneException"


class LimitExceededException(ManagementApiError):
    """429: the account's `@connections` rate is passed, or the client's buffer is full."""

    error_type = "LimitExceededException"
    message = "Rate exceeded"


class PayloadTooLargeException(ManagementApiError):
    error_type = "PayloadTooLargeException"
    message = "Request entity too large"

"""Connection state held by one gateway process."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


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
    user_agent: str
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
    disconnect_fired: bool = field(default=False)

    @property
    def is_open(self) -> bool:
        return self.state is ConnectionState.OPEN and self.socket is not None and not self.socket.closed

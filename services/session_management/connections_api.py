"""API Gateway's @connections management API: the one way the services reach a connection.

A session remembers the endpoint its speaker connected through (`https://{domainName}/{stage}`),
so a client is kept per endpoint. A 410 (GoneException) means the connection has closed, which
every caller treats as an ordinary outcome: it is a return value here, not an exception.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from session_management.aws import management_client


class ConnectionsApi:
    def __init__(self) -> None:
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()  # fan-outs post from many threads

    def _client(self, endpoint: str) -> Any:
        client = self._clients.get(endpoint)
        if client is None:
            with self._lock:
                client = self._clients.setdefault(endpoint, management_client(endpoint))
        return client

    def post(self, endpoint: str, connection_id: str, data: bytes) -> bool:
        """Send one frame; False when the connection is gone."""
        client = self._client(endpoint)
        try:
            client.post_to_connection(ConnectionId=connection_id, Data=data)
        except client.exceptions.GoneException:
            return False
        return True

    def post_json(self, endpoint: str, connection_id: str, message: Mapping[str, Any]) -> bool:
        return self.post(endpoint, connection_id, json.dumps(message).encode())

    def last_active_ms(self, endpoint: str, connection_id: str) -> int | None:
        """When the connection last carried a frame (0 if API Gateway does not say); None when gone."""
        client = self._client(endpoint)
        try:
            info = client.get_connection(ConnectionId=connection_id)
        except client.exceptions.GoneException:
            return None
        value = info.get("LastActiveAt") or info.get("ConnectedAt")
        return int(value.timestamp() * 1000) if isinstance(value, datetime) else 0

    def close(self, endpoint: str, connection_id: str) -> bool:
        """DELETE @connections (the connection's `$disconnect` follows); False when it was gone already."""
        client = self._client(endpoint)
        try:
            client.delete_connection(ConnectionId=connection_id)
        except client.exceptions.GoneException:
            return False
        return True

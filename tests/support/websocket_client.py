"""The WebSocket client every stack suite speaks through: every frame it receives is checked
against the contracts, and waiting is always for an event with a deadline, never a sleep."""

from __future__ import annotations

import json
import socket
import ssl
import time
from typing import Any
from urllib.parse import urlencode, urlparse

import websocket

from session_management import contracts

# API Gateway's own frames (errors, no-route) are not our messages and have no `type`.
GATEWAY_FRAME_KEYS = {"message", "connectionId", "requestId"}


class HandshakeRefused(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"handshake refused with HTTP {status}: {body}")
        self.status = status
        self.body = body


class Client:
    def __init__(self, ws: websocket.WebSocket) -> None:
        self.ws = ws
        self.received: list[dict[str, Any]] = []

    @classmethod
    def connect(
        cls,
        url: str,
        timeout: float = 15,
        ca_bundle: str | None = None,
        source_ip: str | None = None,
        header: dict[str, str] | None = None,
        **query: str,
    ) -> Client:
        """Connect; `source_ip` (a 127.0.0.x address) lets a test speak from its own client address."""
        target = f"{url}?{urlencode(query)}" if query else url
        sslopt = {"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": ca_bundle} if ca_bundle else None
        options: dict[str, Any] = {}
        if header:
            options["header"] = [f"{name}: {value}" for name, value in header.items()]
        if source_ip is not None:
            parsed = urlparse(url)
            sock = socket.socket()
            sock.settimeout(timeout)
            sock.bind((source_ip, 0))
            sock.connect((parsed.hostname, parsed.port))
            options["socket"] = sock
        try:
            ws = websocket.create_connection(target, timeout=timeout, sslopt=sslopt, **options)
        except websocket.WebSocketBadStatusException as exc:
            body = exc.resp_body.decode() if isinstance(exc.resp_body, bytes) else str(exc.resp_body or "")
            raise HandshakeRefused(exc.status_code, body) from None
        return cls(ws)

    def send(self, payload: dict[str, Any] | str) -> None:
        self.ws.send(payload if isinstance(payload, str) else json.dumps(payload))

    def receive(self, timeout: float = 10) -> dict[str, Any]:
        """The next frame, validated against its contract (or recognised as a gateway frame)."""
        self.ws.settimeout(timeout)
        frame = json.loads(self.ws.recv())
        if "type" in frame:
            contracts.validate_outbound(frame)
        else:
            assert set(frame) <= GATEWAY_FRAME_KEYS, f"frame is neither a contract message nor a gateway frame: {frame}"
        self.received.append(frame)
        return frame

    def receive_type(self, message_type: str, timeout: float = 10) -> dict[str, Any]:
        frame = self.receive(timeout)
        assert frame.get("type") == message_type, f"expected {message_type}, got {frame}"
        return frame

    def wait_for(self, message_type: str, timeout: float = 10) -> dict[str, Any]:
        """The next frame of a type, skipping others (acks, status pushes); bounded by a deadline."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = [f.get("type") for f in self.received]
                raise AssertionError(f"no {message_type} within {timeout}s; saw {seen}")
            frame = self.receive(remaining)
            if frame.get("type") == message_type:
                return frame

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

"""One WebSocket connection as a load user sees it, cooperative under gevent.

A reader greenlet validates every frame against the contracts and hands it to whoever waits for
its type, so a heartbeat's round trip is measured to its own ack even while pushes arrive.
"""

from __future__ import annotations

import contextlib
import json
import ssl
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import gevent
import websocket
from gevent.event import AsyncResult

from session_management import contracts

Handler = Callable[[dict[str, Any], float], None]


class HandshakeRefused(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"handshake refused with HTTP {status}: {body[:200]}")
        self.status = status


class Connection:
    def __init__(
        self, ws: websocket.WebSocket, on_push: Handler, on_closed: Callable[[Connection, Exception], None]
    ) -> None:
        self.ws = ws
        self._waiting: dict[str, AsyncResult] = {}
        self._on_push = on_push
        self._on_closed = on_closed
        self.closed_by_us = False
        self._reader = gevent.spawn(self._read)

    @classmethod
    def open(
        cls,
        url: str,
        query: dict[str, str],
        on_push: Handler,
        on_closed: Callable[[Connection, Exception], None],
        timeout: float,
        ca_bundle: str | None = None,
    ) -> Connection:
        sslopt = {"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": ca_bundle} if ca_bundle else None
        try:
            ws = websocket.create_connection(
                f"{url}?{urlencode(query)}", timeout=timeout, sslopt=sslopt, enable_multithread=False
            )
        except websocket.WebSocketBadStatusException as exc:
            body = exc.resp_body.decode() if isinstance(exc.resp_body, bytes) else str(exc.resp_body or "")
            raise HandshakeRefused(exc.status_code, body) from None
        ws.settimeout(None)
        return cls(ws, on_push, on_closed)

    def expect(self, message_type: str) -> AsyncResult:
        """Register interest before sending, so an answer that races the send is not lost."""
        result = AsyncResult()
        self._waiting[message_type] = result
        return result

    def send(self, payload: dict[str, Any]) -> None:
        self.ws.send(json.dumps(payload))

    def close(self) -> None:
        self.closed_by_us = True
        with contextlib.suppress(Exception):  # closing an already broken socket
            self.ws.close(timeout=1)
        self._reader.kill(block=False)

    def _read(self) -> None:
        try:
            while True:
                raw = self.ws.recv()
                received = time.perf_counter()
                if not raw:  # websocket-client returns "" for the server's close frame
                    raise ConnectionError("closed by the server")
                frame = json.loads(raw)
                if "type" not in frame:
                    raise contracts.ContractViolation("frame", "it has no type")
                contracts.validate_outbound(frame)
                waiter = self._waiting.pop(frame["type"], None)
                if waiter is not None:
                    waiter.set((frame, received))
                else:
                    self._on_push(frame, received)
        except Exception as exc:  # the socket closed, or a frame broke its contract (the user reports which)
            for waiter in self._waiting.values():
                waiter.set_exception(exc if isinstance(exc, contracts.ContractViolation) else ConnectionError(str(exc)))
            self._waiting.clear()
            if not self.closed_by_us:
                self._on_closed(self, exc)

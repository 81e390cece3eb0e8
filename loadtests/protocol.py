"""One WebSocket connection as a load user sees it, cooperative under gevent.

A reader greenlet validates every frame against the contracts and hands it to whoever waits for
its type, so a heartbeat's round trip is measured to its own ack even while pushes arrive.

The client reports its own requests, the Locust way: `connect` and `Connection.request` time
each exchange and fire one Locust request event per step through a `Meter`, so the users in the
locustfile say what to do, never how to time it.
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
ClosedHandler = Callable[["Connection", Exception], None]
ANSWER_TIMEOUT = 15.0
# Steps that happen only while connections ramp up keep their plain name; every other step is
# named by the phase it was measured in (`heartbeat` vs `heartbeat (ramp)`).
RAMP_ONLY_STEPS = frozenset({"create", "join", "connection"})


class Meter:
    """Fires Locust request events for measured steps, named by the load run's current phase."""

    def __init__(self, request_event: Any, phase_name: Callable[[str], str]) -> None:
        self.request_event = request_event  # Locust's `environment.events.request`
        self.phase_name = phase_name

    def fire(self, step: str, milliseconds: float, exception: Exception | None = None) -> None:
        """A step whose duration is known (a frame's receive time, a send time carried in requestId)."""
        name = step if step in RAMP_ONLY_STEPS else self.phase_name(step)
        self.request_event.fire(
            request_type="WS", name=name, response_time=milliseconds, response_length=0, exception=exception, context={}
        )

    def since(self, step: str, started: float, exception: Exception | None = None) -> None:
        """A step timed from `started` (a `time.perf_counter()` reading) to now."""
        self.fire(step, (time.perf_counter() - started) * 1000, exception)


class HandshakeRefused(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"handshake refused with HTTP {status}: {body[:200]}")
        self.status = status


class Connection:
    def __init__(self, ws: websocket.WebSocket, on_push: Handler, on_closed: ClosedHandler, meter: Meter) -> None:
        self.ws = ws
        self.meter = meter
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
        on_closed: ClosedHandler,
        timeout: float,
        meter: Meter,
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
        return cls(ws, on_push, on_closed, meter)

    def expect(self, message_type: str) -> AsyncResult:
        """Register interest before sending, so an answer that races the send is not lost."""
        result = AsyncResult()
        self._waiting[message_type] = result
        return result

    def send(self, payload: dict[str, Any]) -> None:
        self.ws.send(json.dumps(payload))

    def request(
        self, step: str, payload: dict[str, Any], answer: str, timeout: float = ANSWER_TIMEOUT
    ) -> dict[str, Any] | None:
        """Send and wait for the answer, timed from the send to the answer's arrival; None if it failed."""
        waiter = self.expect(answer)
        started = time.perf_counter()
        try:
            self.send(payload)
            frame, received = waiter.get(timeout=timeout)
        except Exception as exc:  # a broken socket, a timeout or a contract violation: reported, not raised
            self.meter.since(step, started, exc)
            return None
        self.meter.fire(step, (received - started) * 1000)
        return dict(frame)

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


def connect(
    step: str,
    url: str,
    query: dict[str, str],
    on_push: Handler,
    on_closed: ClosedHandler,
    meter: Meter,
    *,
    timeout: float,
    answer: str | None = None,
    ca_bundle: str | None = None,
) -> tuple[Connection, dict[str, Any] | None] | None:
    """Open a connection and wait for its `answer` frame (if any), timed as `step`; None if it failed."""
    started = time.perf_counter()
    try:
        connection = Connection.open(url, query, on_push, on_closed, timeout, meter, ca_bundle=ca_bundle)
        frame = connection.expect(answer).get(timeout=ANSWER_TIMEOUT)[0] if answer else None
    except Exception as exc:  # a refused handshake or a missing answer: reported, not raised
        meter.since(step, started, exc)
        return None
    meter.since(step, started)
    return connection, frame

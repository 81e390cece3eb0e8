"""One model connection: a real WebSocket (tests.e2e.client.Client) with a reader thread that keeps
every frame, checks it against its contract the way the Client does (and, stricter, refuses the
non-JSON constants NaN/Infinity that Python's json would accept), and notices when the server
closes the connection. The model waits for frames with deadlines, never with bare sleeps."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import websocket

from tests.model.harness import GATEWAY_FRAME_KEYS, Client, contracts

Frame = dict[str, Any]
# Frames that tell a connection its own id.
OWN_ID = ("sessionCreated", "sessionJoined", "connectionRefreshComplete", "connectionRefreshRequired")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_frame(text: str) -> Frame:
    """Strict JSON (RFC 8259: no NaN/Infinity) that is a contract message or an API Gateway frame."""
    frame = json.loads(text, parse_constant=_no_constants)
    if not isinstance(frame, dict):
        raise ValueError(f"frame is not an object: {text[:200]}")
    if "type" in frame:
        contracts.validate_outbound(frame)
    elif not set(frame) <= GATEWAY_FRAME_KEYS:
        raise ValueError(f"frame is neither a contract message nor a gateway frame: {text[:200]}")
    return frame


@dataclass(eq=False)
class Conn:
    """A connection as the model sees it. `role` is what the model believes the service made of it."""

    serial: int
    client: Client
    ip: str
    user: str | None  # the signed-in user whose token it carries, if any
    role: str = "plain"  # plain | speaker | listener
    session_id: str | None = None
    language: str | None = None
    connection_id: str | None = None  # once a frame told the client (sessionJoined, a notice, ...)
    lineage: int | None = None  # listeners: the join this connection descends from by refreshes
    opened_at: float = field(default_factory=time.monotonic)
    frames: list[Frame] = field(default_factory=list)
    open: bool = True
    closed_by: str | None = None  # client | drop | server
    close_code: int | None = None
    on_violation: Callable[[str, str], None] | None = None
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _stop: bool = False

    def start(self) -> None:
        self.client.ws.settimeout(0.5)
        threading.Thread(target=self._read, name=f"model-conn-{self.serial}", daemon=True).start()

    def _violation(self, name: str, detail: str) -> None:
        if self.on_violation is not None:
            self.on_violation(name, f"conn#{self.serial} ({self.role}): {detail}")

    def _read(self) -> None:
        ws = self.client.ws
        while not self._stop:
            try:
                opcode, data = ws.recv_data()
            except websocket.WebSocketTimeoutException:
                continue
            except (websocket.WebSocketConnectionClosedException, OSError, AttributeError):
                self._closed("server" if self.closed_by is None else self.closed_by, None)
                return
            except Exception as exc:  # a malformed frame at the protocol level
                self._violation("frames_valid", f"unreadable frame: {exc!r}")
                self._closed("server", None)
                return
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                code = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
                self._closed(self.closed_by or "server", code)
                return
            if opcode not in (websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_BINARY):
                continue
            text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else str(data)
            try:
                frame = parse_frame(text)
            except Exception as exc:
                self._violation("frames_valid", f"{type(exc).__name__}: {str(exc)[:300]}")
                frame = {"type": "<invalid>", "raw": text[:500]}
            if frame.get("code") == "INTERNAL_ERROR" or frame.get("message") == "Internal server error":
                self._violation("no_internal_error", json.dumps(frame)[:300])
            with self._cond:
                self.frames.append(frame)
                if (
                    not self.connection_id
                    and isinstance(frame.get("connectionId"), str)
                    and frame.get("type") in OWN_ID
                ):
                    self.connection_id = frame["connectionId"]
                self._cond.notify_all()

    def _closed(self, by: str, code: int | None) -> None:
        with self._cond:
            if self.open:
                self.open = False
                self.closed_by = by
                self.close_code = code
            self._cond.notify_all()
        with contextlib.suppress(Exception):
            self.client.ws.shutdown()

    # -- what a client does --------------------------------------------------------------------

    def send(self, payload: dict[str, Any] | str) -> bool:
        if not self.open:
            return False
        try:
            self.client.send(payload)
            return True
        except Exception:
            return False

    def close(self) -> None:
        """A clean close: our close frame, then the reader sees the server's answer."""
        if not self.open:
            return
        self.closed_by = "client"
        try:
            self.client.ws.send_close()
        except Exception:
            self._closed("client", None)
            return
        self.wait_closed(5)
        if self.open:
            self._closed("client", None)

    def drop(self) -> None:
        """Abrupt: the socket goes away without a close frame (a laptop lid, a dead Wi-Fi)."""
        if not self.open:
            return
        self.closed_by = "drop"
        with contextlib.suppress(Exception):
            self.client.ws.sock.shutdown(socket.SHUT_RDWR)
        self._closed("drop", None)

    def stop(self) -> None:
        self._stop = True
        if self.open:
            self.drop()

    # -- waiting -----------------------------------------------------------------------------------

    def mark(self) -> int:
        with self._cond:
            return len(self.frames)

    def wait_for(self, match: Callable[[Frame], bool], timeout: float, after: int = 0) -> Frame | None:
        """The first frame from index `after` on that matches, waiting at most `timeout`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for frame in self.frames[after:]:
                    if match(frame):
                        return frame
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self.open:
                    for frame in self.frames[after:]:
                        if match(frame):
                            return frame
                    return None
                self._cond.wait(min(remaining, 0.2))

    def reply(self, request_id: str, timeout: float = 10, after: int = 0) -> Frame | None:
        return self.wait_for(lambda f: f.get("requestId") == request_id, timeout, after)

    def wait_closed(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.open and time.monotonic() < deadline:
                self._cond.wait(min(0.2, max(0.0, deadline - time.monotonic())))
            return not self.open

    def has(self, message_type: str) -> bool:
        with self._cond:
            return any(f.get("type") == message_type for f in self.frames)

    def last(self, message_type: str) -> Frame | None:
        with self._cond:
            for frame in reversed(self.frames):
                if frame.get("type") == message_type:
                    return frame
        return None

    def describe(self) -> str:
        state = "open" if self.open else f"closed by {self.closed_by} ({self.close_code})"
        return f"conn#{self.serial} {self.role} of {self.session_id} [{self.language or '-'}] {state}"

"""The checklist's post-deployment test: a speaker creates, a listener joins, heartbeats are
acknowledged, the HTTP API lists the session, and a listener leaving is counted."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import requests
import websocket

from verify.checklist import CheckResult, outcome

TIMEOUT_SECONDS = 15


def _connect(url: str, **query: str) -> websocket.WebSocket:
    return websocket.create_connection(f"{url}?{urlencode(query)}", timeout=TIMEOUT_SECONDS)


def _next_of_type(ws: websocket.WebSocket, message_type: str, limit: int = 10) -> dict[str, Any]:
    for _ in range(limit):
        frame = json.loads(ws.recv())
        if frame.get("type") == message_type:
            return dict(frame)
    raise AssertionError(f"no {message_type} frame")


def _eventually(check: Callable[[], bool], timeout: float = TIMEOUT_SECONDS) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def run(target: dict[str, Any], token: str, dynamodb: Any) -> Iterator[CheckResult]:
    url = target["websocketUrl"]
    sessions_table = target["tables"]["sessions"]
    try:
        speaker = _connect(url, action="createSession", sourceLanguage="en", qualityTier="standard", token=token)
        session_id = _next_of_type(speaker, "sessionCreated")["sessionId"]
        yield outcome("Smoke", "speaker creates a session", True, session_id)
    except Exception as exc:  # a refused or broken handshake is the finding itself
        yield outcome("Smoke", "speaker creates a session", False, type(exc).__name__)
        return
    try:
        listener = _connect(url, action="joinSession", sessionId=session_id, targetLanguage="es")
        yield outcome("Smoke", "listener joins", True)
        listener.send(json.dumps({"action": "heartbeat"}))
        _next_of_type(listener, "heartbeatAck")
        yield outcome("Smoke", "heartbeat acknowledged", True)

        def listener_count() -> int:
            item = dynamodb.get_item(
                TableName=sessions_table, Key={"sessionId": {"S": session_id}}, ConsistentRead=True
            )
            return int(item.get("Item", {}).get("listenerCount", {}).get("N", "-1"))

        if target.get("httpApiUrl"):
            response = requests.get(
                f"{target['httpApiUrl']}/sessions",
                headers={"Authorization": f"Bearer {token}"},
                timeout=TIMEOUT_SECONDS,
            )
            listed = response.ok and session_id in {s["sessionId"] for s in response.json()["sessions"]}
            yield outcome("Smoke", "HTTP API lists the speaker's session", listed, str(response.status_code))
        listener.close()
        yield outcome(
            "Smoke", "disconnect cleans up (listenerCount back to 0)", _eventually(lambda: listener_count() == 0)
        )
    except Exception as exc:
        yield outcome("Smoke", "listener round trip", False, type(exc).__name__)
    finally:
        speaker.close()

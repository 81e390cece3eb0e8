"""Sending one message to many connections: parallel, bounded, and honest about failures.

API Gateway's @connections calls share an account throttle (10,000 requests per second), so a
fan-out runs at most `concurrency` posts at a time and paces itself below `max_per_second`.
Connections that answer 410 are gone: the caller removes their rows.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from session_management.connections_api import ConnectionsApi
from session_management.observability import hash_id, logger

MAX_POSTS_PER_SECOND = 2000  # a fifth of the account's @connections throttle per fan-out


@dataclass
class FanoutResult:
    delivered: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class _Pacer:
    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self.next_at = time.monotonic()
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = time.monotonic()
            delay = self.next_at - now
            self.next_at = max(now, self.next_at) + self.interval
        if delay > 0:
            time.sleep(delay)


def broadcast(
    api: ConnectionsApi,
    endpoint: str,
    connection_ids: Iterable[str],
    message: Mapping[str, Any],
    concurrency: int = 32,
    max_per_second: float = MAX_POSTS_PER_SECOND,
) -> FanoutResult:
    data = json.dumps(message).encode()
    pacer = _Pacer(max_per_second)
    result = FanoutResult()
    lock = threading.Lock()

    def post(connection_id: str) -> None:
        pacer.wait()
        try:
            outcome = result.delivered if api.post(endpoint, connection_id, data) else result.gone
        except Exception as exc:  # one bad connection must not stop the others
            logger.warning(
                "fan-out post failed", extra={"connection": hash_id(connection_id), "error": type(exc).__name__}
            )
            outcome = result.failed
        with lock:
            outcome.append(connection_id)

    targets = list(connection_ids)
    if targets:
        with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(targets)))) as pool:
            list(pool.map(post, targets))
    return result


def close_connections(api: ConnectionsApi, endpoint: str, connection_ids: Iterable[str], concurrency: int = 32) -> int:
    """Close connections through DELETE @connections (their $disconnect then cleans up); returns how many."""
    closed = 0
    lock = threading.Lock()

    def close(connection_id: str) -> None:
        nonlocal closed
        try:
            if not api.close(endpoint, connection_id):
                return
        except Exception:  # already gone is fine
            return
        with lock:
            closed += 1

    targets = list(connection_ids)
    if targets:
        with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(targets)))) as pool:
            list(pool.map(close, targets))
    return closed

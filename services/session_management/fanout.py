"""Sending one message to many connections: parallel, bounded, and honest about failures.

API Gateway's @connections calls share an account throttle (10,000 requests per second), so a
fan-out runs at most `concurrency` posts at a time and paces itself below `max_per_second`.
Connections that answer 410 are gone: the caller removes their rows. A 429 (the account's rate,
or a client whose buffer is full) is not gone: the SDK retries it, and what is still throttled
after the first pass is posted once more after a pause; only then is it counted as failed, and
the listener keeps its row.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from session_management.connections_api import ConnectionsApi
from session_management.observability import hash_id, logger
from session_management.repositories.errors import error_code

MAX_POSTS_PER_SECOND = 2000  # a fifth of the account's @connections throttle per fan-out
THROTTLED = frozenset({"LimitExceededException", "TooManyRequestsException", "ThrottlingException"})
RETRY_PAUSE_SECONDS = 1.0


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
    retry_pause_seconds: float = RETRY_PAUSE_SECONDS,
) -> FanoutResult:
    data = json.dumps(message).encode()
    pacer = _Pacer(max_per_second)
    result = FanoutResult()
    throttled: list[str] = []
    lock = threading.Lock()

    def post(connection_id: str, retry_when_throttled: bool) -> None:
        pacer.wait()
        try:
            outcome = result.delivered if api.post(endpoint, connection_id, data) else result.gone
        except Exception as exc:  # one bad connection must not stop the others
            code = error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
            outcome = throttled if retry_when_throttled and code in THROTTLED else result.failed
            if outcome is result.failed:
                logger.warning("fan-out post failed", extra={"connection": hash_id(connection_id), "error": code})
        with lock:
            outcome.append(connection_id)

    def post_all(targets: list[str], retry_when_throttled: bool) -> None:
        with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(targets)))) as pool:
            list(pool.map(lambda connection_id: post(connection_id, retry_when_throttled), targets))

    targets = list(connection_ids)
    if targets:
        post_all(targets, retry_when_throttled=True)
    if throttled:
        time.sleep(retry_pause_seconds)  # the throttle refills; a slow client may have read meanwhile
        post_all(list(throttled), retry_when_throttled=False)
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

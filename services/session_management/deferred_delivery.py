"""Messages the `$connect` handshake owes its caller, delivered once the connection is live.

API Gateway answers PostToConnection with 410 until the `$connect` function returns, so a
handshake cannot send `sessionCreated` (or `connectionRefreshComplete`). Instead:

1. the handshake creates its session marked undelivered (`Session.created_delivered` False,
   stored as `sessionCreatedDelivered`) and schedules a delivery: an asynchronous invocation of
   the connection function with a delivery event (`is_delivery`);
2. the delivery posts as soon as the connection is live, and records sessionCreated as delivered;
3. until then nothing else may reach the speaker first: the periodic job asks
   `speaker_may_be_told` before its status push.

Lambda retries a failed asynchronous invocation and may deliver one twice, so each delivery first
claims its message on the connection's row (`ConnectionRepository.claim_delivery`): a duplicate
finds the claim or the delivered mark and posts nothing. A sessionCreated that arrives late (a
retry, a minute on) is dropped when its session has ended or has another speaker by then.

The message forms of createSession answer through the route response, so their sessions are
delivered at once.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping
from typing import Any

from session_management.connections_api import ConnectionsApi
from session_management.observability import hash_id, logger
from session_management.repositories.connections import ConnectionRepository
from session_management.repositories.sessions import Session, SessionRepository

DELIVERY_SOURCE = "session-management.delivery"
DELIVERY_DEADLINE_SECONDS = 5.0
# Longer than one attempt can take (the deadline plus a cold start), far shorter than Lambda's
# first retry (about a minute), so only a duplicate running at the same time is held off.
DELIVERY_LEASE_SECONDS = DELIVERY_DEADLINE_SECONDS + 10.0


def is_delivery(event: Mapping[str, Any]) -> bool:
    return event.get("source") == DELIVERY_SOURCE


def speaker_may_be_told(session: Session) -> bool:
    """Whether the speaker has its sessionCreated, so other messages may follow it."""
    return session.created_delivered


class DeliveryScheduler:
    """Schedules a delivery through an asynchronous invocation of `function_name` (this function)."""

    def __init__(self, lambda_client: Any, function_name: str) -> None:
        self.lambda_client = lambda_client
        self.function_name = function_name

    def schedule(self, connection_id: str, endpoint: str, message: Mapping[str, Any]) -> None:
        payload = {"source": DELIVERY_SOURCE, "connectionId": connection_id, "endpoint": endpoint, "message": message}
        self.lambda_client.invoke(
            FunctionName=self.function_name, InvocationType="Event", Payload=json.dumps(payload).encode()
        )


def _still_owed(message: Mapping[str, Any], connection_id: str, sessions: SessionRepository) -> bool:
    """Whether a sessionCreated is still true when it arrives: its session active, this its speaker."""
    if message.get("type") != "sessionCreated":
        return True
    session = sessions.get(message["sessionId"])
    return session is not None and session.is_active and session.speaker_connection_id == connection_id


def deliver(
    event: Mapping[str, Any], api: ConnectionsApi, sessions: SessionRepository, connections: ConnectionRepository
) -> dict[str, Any]:
    """Post once the connection is live: 410 means '$connect has not returned yet' for a short while."""
    connection_id, message = event["connectionId"], event["message"]
    message_type = str(message.get("type"))
    lease_ms = int(DELIVERY_LEASE_SECONDS * 1000)
    if not connections.claim_delivery(connection_id, message_type, int(time.time() * 1000), lease_ms):
        logger.info("delivery skipped: delivered, in progress or gone", extra={"connection": hash_id(connection_id)})
        return {"delivered": False, "duplicate": True}
    if not _still_owed(message, connection_id, sessions):
        logger.info("delivery dropped: its session moved on", extra={"connection": hash_id(connection_id)})
        return {"delivered": False, "stale": True}
    deadline = time.monotonic() + DELIVERY_DEADLINE_SECONDS
    delay = 0.025
    while True:
        if api.post_json(event["endpoint"], connection_id, message):
            connections.mark_delivered(connection_id, message_type, int(time.time() * 1000))
            if message_type == "sessionCreated":
                sessions.mark_created_delivered(message["sessionId"])
            return {"delivered": True}
        if time.monotonic() + delay > deadline:
            logger.warning("delivery abandoned: connection gone", extra={"connection": hash_id(connection_id)})
            return {"delivered": False}
        time.sleep(delay * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not security
        delay = min(delay * 2, 0.4)

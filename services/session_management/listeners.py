"""Telling a session's listeners something: one bounded fan-out, with its consequences handled.

A listener that answers 410 is gone and its `$disconnect` may never come, so its row leaves at
once (the count stays exact); other failures are logged and counted (FanoutFailures) and the row
stays for the next message or the periodic job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from session_management import fanout
from session_management.connections_api import ConnectionsApi
from session_management.metrics import record_fanout_failures
from session_management.observability import logger
from session_management.repositories.connections import ConnectionRepository
from session_management.repositories.sessions import Session


@dataclass(frozen=True)
class ListenerFanout:
    connections: ConnectionRepository
    api: ConnectionsApi
    concurrency: int

    def tell(self, session: Session, message: Mapping[str, Any]) -> fanout.FanoutResult:
        listeners = self.connections.listeners(session.session_id)
        result = fanout.broadcast(
            self.api,
            session.management_endpoint,
            [c.connection_id for c in listeners],
            message,
            concurrency=self.concurrency,
        )
        by_id = {c.connection_id: c for c in listeners}
        for gone in result.gone:
            self.connections.leave(by_id[gone])
        if result.failed:
            logger.warning("fan-out failures", extra={"sessionId": session.session_id, "failed": len(result.failed)})
            record_fanout_failures(len(result.failed))
        return result

    def close(self, session: Session, connection_ids: Iterable[str]) -> int:
        """Close listeners' connections (their `$disconnect` removes the rows)."""
        return fanout.close_connections(self.api, session.management_endpoint, connection_ids, self.concurrency)

"""The periodic job (EventBridge, every minute): what `$disconnect` and the clients cannot be
trusted to do.

- Speakers who did not come back within the grace window: the session ends.
- Connections API Gateway reports gone (410): their rows and counts are removed.
- Connections silent longer than heartbeatTimeoutSeconds: closed through DELETE @connections,
  which runs the normal `$disconnect` path.
- The liveness GETs are bounded per run (`livenessChecksPerRun`, 5,000): with more connections
  each is checked every ceil(n / 5,000) minutes, in stable buckets. 50,000 GETs a minute would
  outrun one invocation (and crowd fan-out out of the account's @connections throughput), while
  API Gateway's own 10-minute idle timeout closes silent connections on the same time scale.
- Connections nearing API Gateway's 2-hour limit: told to refresh (and speakers warned).
- Every active session's speaker: a sessionStatus push.
"""

from __future__ import annotations

import math
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from session_management import messages
from session_management.aws import management_client
from session_management.config import load_settings
from session_management.controls import session_status
from session_management.lifecycle import Repositories, disconnect, end_session, repositories
from session_management.management_api import post_json
from session_management.observability import log_unexpected, logger
from session_management.repositories.connections import Connection, Role
from session_management.repositories.sessions import Session

HOUR_MS = 3_600_000


@dataclass
class ReconcileReport:
    sessions_ended: int = 0
    gone_removed: int = 0
    idle_closed: int = 0
    refresh_notices: int = 0
    warnings: int = 0
    status_pushes: int = 0
    active_sessions: int = 0
    total_listeners: int = 0
    errors: list[str] = field(default_factory=list)
    removed: set[str] = field(default_factory=set)


def _last_active_ms(info: dict[str, Any]) -> int:
    value = info.get("LastActiveAt") or info.get("ConnectedAt")
    return int(value.timestamp() * 1000) if isinstance(value, datetime) else 0


def liveness_due(connection_id: str, minute: int, buckets: int) -> bool:
    """Whether this run asks API Gateway about the connection: every connection once per `buckets` runs."""
    return zlib.crc32(connection_id.encode()) % buckets == minute % buckets


def _check_connection(
    row: Connection, session: Session | None, now: int, report: ReconcileReport, check_liveness: bool = True
) -> None:
    settings = load_settings()
    if session is None or not session.management_endpoint:
        return
    if not check_liveness:
        _notify_refresh(row, session, now, report)
        return
    client = management_client(session.management_endpoint)
    try:
        info = client.get_connection(ConnectionId=row.connection_id)
    except client.exceptions.GoneException:
        disconnect(row.connection_id)  # the $disconnect that never came
        report.gone_removed += 1
        report.removed.add(row.connection_id)
        return
    if now - _last_active_ms(info) > settings.heartbeat_timeout_seconds * 1000:
        try:
            client.delete_connection(ConnectionId=row.connection_id)  # $disconnect follows
            report.idle_closed += 1
        except client.exceptions.GoneException:
            disconnect(row.connection_id)
            report.gone_removed += 1
        report.removed.add(row.connection_id)
        return
    _notify_refresh(row, session, now, report)


def _notify_refresh(row: Connection, session: Session, now: int, report: ReconcileReport) -> None:
    settings = load_settings()
    repos = repositories()
    age_ms = now - row.connected_at_ms
    closes_at = row.connected_at_ms + int(settings.session_max_duration_hours * HOUR_MS)
    if age_ms >= settings.connection_refresh_minutes * 60_000 and not row.refresh_notified:
        message = messages.connection_refresh_required(
            session_id=session.session_id,
            role=row.role.value,
            connection_id=row.connection_id,
            refresh_by=closes_at,
            target_language=row.target_language,
        )
        if post_json(session.management_endpoint, row.connection_id, message):
            repos.connections.mark_notified(row.connection_id, "refreshNotifiedAt", now)
            report.refresh_notices += 1
    if (
        row.role is Role.SPEAKER
        and age_ms >= settings.connection_warning_minutes * 60_000
        and not row.warning_notified
        and session.speaker_connection_id == row.connection_id
    ):
        message = messages.connection_warning(
            session_id=session.session_id, remaining_seconds=(closes_at - now) // 1000
        )
        if post_json(session.management_endpoint, row.connection_id, message):
            repos.connections.mark_notified(row.connection_id, "warningNotifiedAt", now)
            report.warnings += 1


def run(repos: Repositories | None = None) -> ReconcileReport:
    settings = load_settings()
    repos = repos or repositories()
    report = ReconcileReport()
    now = int(time.time() * 1000)
    sessions = {s.session_id: s for s in repos.sessions.active()}
    for session in list(sessions.values()):
        disconnected = session.speaker_disconnected_at_ms
        if disconnected is not None and now - disconnected > settings.speaker_reconnect_grace_seconds * 1000:
            if end_session(session, "speakerDisconnected", repos):
                report.sessions_ended += 1
            sessions.pop(session.session_id)
    rows = repos.connections.all()
    buckets = max(1, math.ceil(len(rows) / max(1, settings.liveness_checks_per_run)))
    minute = now // 60_000
    with ThreadPoolExecutor(max_workers=settings.fanout_concurrency) as pool:
        futures = [
            pool.submit(
                _check_connection,
                row,
                sessions.get(row.session_id),
                now,
                report,
                liveness_due(row.connection_id, minute, buckets),
            )
            for row in rows
        ]
        for future in futures:
            try:
                future.result()
            except Exception as exc:
                log_unexpected(exc)
                report.errors.append(type(exc).__name__)
    listeners_by_session: dict[str, list[Connection]] = {}
    for row in rows:  # one scan per run: the rows this run removed are left out instead of scanning again
        if row.role is Role.LISTENER and row.connection_id not in report.removed:
            listeners_by_session.setdefault(row.session_id, []).append(row)
    for session in sessions.values():
        current = repos.sessions.get(session.session_id)
        if current is None or not current.is_active:
            continue
        report.active_sessions += 1
        report.total_listeners += current.listener_count
        if current.speaker_disconnected_at_ms is None and current.created_delivered:
            status = session_status(current, listeners_by_session.get(current.session_id, []), full=True)
            if post_json(current.management_endpoint, current.speaker_connection_id, status):
                report.status_pushes += 1
    logger.info(
        "reconciled",
        extra={
            **{k: v for k, v in report.__dict__.items() if k not in ("errors", "removed")},
            "errors": len(report.errors),
        },
    )
    return report

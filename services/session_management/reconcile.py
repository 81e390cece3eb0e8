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
- Sessions past `sessionExpiresAt` (sessionMaxLifetimeHours): ended with reason `expired`.
- Rows of sessions that are no longer active (a listener who joined just as the session ended, whom
  the end's fan-out over the eventually consistent index missed): told `sessionEnded` and closed.
- The active-session counter: set to the number of sessions really active if it drifted, so a
  slot that leaked (an item deleted by TTL, a failed write) is given back within a run.
"""

from __future__ import annotations

import math
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from session_management import messages
from session_management.config import Settings
from session_management.connections_api import ConnectionsApi
from session_management.deferred_delivery import speaker_may_be_told
from session_management.dependencies import Repositories
from session_management.lifecycle import disconnect, end_session
from session_management.listeners import ListenerFanout
from session_management.observability import log_unexpected, logger
from session_management.repositories.connections import Connection, Role
from session_management.repositories.sessions import Session
from session_management.status import session_status

HOUR_MS = 3_600_000


@dataclass
class ReconcileReport:
    sessions_ended: int = 0
    sessions_expired: int = 0
    orphans_closed: int = 0
    active_counter_corrected: int = 0
    gone_removed: int = 0
    idle_closed: int = 0
    refresh_notices: int = 0
    warnings: int = 0
    status_pushes: int = 0
    active_sessions: int = 0
    total_listeners: int = 0
    active_at_start: int = 0
    errors: list[str] = field(default_factory=list)
    removed: set[str] = field(default_factory=set)

    def summary(self) -> dict[str, int]:
        """The run's counts: what it logs and what the function returns (a set of ids is
        not JSON, and Lambda fails an invocation whose result is not: Runtime.MarshalError)."""
        counts = {k: v for k, v in self.__dict__.items() if isinstance(v, int)}
        return {**counts, "errors": len(self.errors)}


@dataclass(frozen=True)
class JobDependencies:
    """What one run touches: the tables, the settings, @connections and the listener fan-out."""

    repos: Repositories
    settings: Settings
    api: ConnectionsApi
    listeners: ListenerFanout


def liveness_due(connection_id: str, minute: int, buckets: int) -> bool:
    """Whether this run asks API Gateway about the connection: every connection once per `buckets` runs."""
    return zlib.crc32(connection_id.encode()) % buckets == minute % buckets


def _check_connection(
    deps: JobDependencies,
    row: Connection,
    session: Session | None,
    now: int,
    report: ReconcileReport,
    check_liveness: bool = True,
) -> None:
    if session is None:
        if row.role is Role.LISTENER:  # a speaker's connection may still ask for its ended session's status
            _close_orphan(deps, row, report)
        return
    if not session.management_endpoint:
        return
    if not check_liveness:
        _notify_refresh(deps, row, session, now, report)
        return
    endpoint = session.management_endpoint
    last_active = deps.api.last_active_ms(endpoint, row.connection_id)
    if last_active is None:
        _disconnected(deps, row, report)  # the $disconnect that never came
        return
    if now - last_active > deps.settings.heartbeat_timeout_seconds * 1000:
        if deps.api.close(endpoint, row.connection_id):  # $disconnect follows
            report.idle_closed += 1
        else:
            _disconnected(deps, row, report)
        report.removed.add(row.connection_id)
        return
    _notify_refresh(deps, row, session, now, report)


def _close_orphan(deps: JobDependencies, row: Connection, report: ReconcileReport) -> None:
    """A row whose session was not active when this run began. Read again (consistently): a session
    created since is left for the next run; an ended one's listener is told why and closed."""
    session = deps.repos.sessions.get(row.session_id)
    if session is not None and session.is_active:
        return
    if session is not None and session.management_endpoint:
        reason = session.end_reason or "expired"
        message = messages.session_ended(session_id=session.session_id, reason=reason)
        deps.api.post_json(session.management_endpoint, row.connection_id, message)
        if deps.api.close(session.management_endpoint, row.connection_id):  # $disconnect removes the row
            report.orphans_closed += 1
            report.removed.add(row.connection_id)
            return
    _disconnected(deps, row, report)


def _disconnected(deps: JobDependencies, row: Connection, report: ReconcileReport) -> None:
    disconnect(row.connection_id, deps.repos, deps.settings, deps.listeners)
    report.gone_removed += 1
    report.removed.add(row.connection_id)


def _notify_refresh(
    deps: JobDependencies, row: Connection, session: Session, now: int, report: ReconcileReport
) -> None:
    settings = deps.settings
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
        if deps.api.post_json(session.management_endpoint, row.connection_id, message):
            deps.repos.connections.mark_notified(row.connection_id, "refreshNotifiedAt", now)
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
        if deps.api.post_json(session.management_endpoint, row.connection_id, message):
            deps.repos.connections.mark_notified(row.connection_id, "warningNotifiedAt", now)
            report.warnings += 1


def run(deps: JobDependencies) -> ReconcileReport:
    report = ReconcileReport()
    now = int(time.time() * 1000)
    counted_before = deps.repos.sessions.active_sessions_counted()
    sessions = _end_abandoned_sessions(deps, now, report)
    _reconcile_active_counter(deps, counted_before, report)
    rows = deps.repos.connections.all()
    _check_connections(deps, rows, sessions, now, report)
    _push_statuses(deps, rows, sessions, report)
    logger.info("reconciled", extra=report.summary())
    return report


def _end_abandoned_sessions(deps: JobDependencies, now: int, report: ReconcileReport) -> dict[str, Session]:
    """End the sessions whose speaker did not come back within the grace window; the rest, by id."""
    sessions = {s.session_id: s for s in deps.repos.sessions.active()}
    report.active_at_start = len(sessions)
    for session in list(sessions.values()):
        disconnected = session.speaker_disconnected_at_ms
        if now >= session.expires_at_ms:
            if end_session(session, "expired", deps.repos, deps.listeners):
                report.sessions_expired += 1
            sessions.pop(session.session_id)
        elif disconnected is not None and now - disconnected > deps.settings.speaker_reconnect_grace_seconds * 1000:
            if end_session(session, "speakerDisconnected", deps.repos, deps.listeners):
                report.sessions_ended += 1
            sessions.pop(session.session_id)
    return sessions


def _reconcile_active_counter(deps: JobDependencies, counted_before: int, report: ReconcileReport) -> None:
    """Give back leaked slots: if the counter read before this run's consistent scan still stands
    after the run's own ends, and differs from the sessions really active, set it to them. A create
    or end in between moves the counter, the condition fails, and the next run tries again."""
    counted = deps.repos.sessions.active_sessions_counted()
    actually_active = report.active_at_start - report.sessions_ended - report.sessions_expired
    ended_here = report.sessions_ended + report.sessions_expired
    drifted = counted == counted_before - ended_here and counted != actually_active
    if drifted and deps.repos.sessions.correct_active_sessions(counted, actually_active):
        logger.warning("active-session counter corrected", extra={"counted": counted, "active": actually_active})
        report.active_counter_corrected += 1


def _check_connections(
    deps: JobDependencies, rows: list[Connection], sessions: dict[str, Session], now: int, report: ReconcileReport
) -> None:
    """Each row in parallel: liveness (for this run's bucket), idleness, refresh notices."""
    buckets = max(1, math.ceil(len(rows) / max(1, deps.settings.liveness_checks_per_run)))
    minute = now // 60_000
    with ThreadPoolExecutor(max_workers=deps.settings.fanout_concurrency) as pool:
        futures = [
            pool.submit(
                _check_connection,
                deps,
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


def _push_statuses(
    deps: JobDependencies, rows: list[Connection], sessions: dict[str, Session], report: ReconcileReport
) -> None:
    """A sessionStatus push to every active session's connected speaker, once it has its sessionCreated."""
    listeners_by_session: dict[str, list[Connection]] = {}
    for row in rows:  # one scan per run: the rows this run removed are left out instead of scanning again
        if row.role is Role.LISTENER and row.connection_id not in report.removed:
            listeners_by_session.setdefault(row.session_id, []).append(row)
    for session in sessions.values():
        current = deps.repos.sessions.get(session.session_id)
        if current is None or not current.is_active:
            continue
        report.active_sessions += 1
        report.total_listeners += current.listener_count
        if current.speaker_disconnected_at_ms is None and speaker_may_be_told(current):
            status = session_status(current, listeners_by_session.get(current.session_id, []), full=True)
            if deps.api.post_json(current.management_endpoint, current.speaker_connection_id, status):
                report.status_pushes += 1

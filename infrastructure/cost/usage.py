"""How a usage profile uses a stage: monthly events, messages, invocations and DynamoDB units.

How the service is *used* comes from the profile and from the assumptions below, which are the
only guesses of the estimate; every one is printed with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cost.resources import StackResources

# Assumed average duration per invocation in ms (billed rounded up to the next 1 ms).
AVERAGE_DURATION_MS: dict[str, float] = {
    "authorizer": 50,  # JWKS cached per execution environment; anonymous listeners are cheaper
    "connection": 120,  # a DynamoDB transaction, or the async sessionCreated delivery
    "heartbeat": 5,  # no DynamoDB call
    "disconnect": 60,
    "refresh": 120,
    "control": 300,  # includes the fan-out to every listener
    "status": 30,  # getSessionStatus: two reads and a query
    "periodic_job": 500,  # two scans, GET @connections per row, status pushes
    "default": 10,
    "http": 80,
}

# Bytes written to CloudWatch Logs per invocation: START/END/REPORT, one JSON log line, EMF.
LOG_BYTES_PER_INVOCATION = 600
# Bytes per API Gateway access-log line (one per HTTP request, WebSocket connect/disconnect or inbound message).
ACCESS_LOG_BYTES_PER_LINE = 300
# Every DynamoDB item is assumed to be 1 KB (sessions, connection rows, GSI copies).
ITEM_KB = 1.0
SPEAKERS_PER_SESSION = 1
# Outbound frames each listener receives when a session ends: speakerDisconnected, sessionEnded.
SESSION_END_FRAMES_PER_LISTENER = 2
# Frames per connection refresh: connectionRefreshRequired, connectionRefreshComplete.
REFRESH_FRAMES = 2


@dataclass(frozen=True)
class Units:
    """DynamoDB request units of one operation (transactions bill 2 WRU per item written)."""

    wru: float
    rru: float


DYNAMODB_UNITS: dict[str, Units] = {
    "create": Units(6, 0),  # transaction: session + speaker row + active-session count
    "join": Units(4, 1),  # transaction: listener row + listener count; session read
    "leave": Units(4, 0),  # transaction: row removed + count decremented (speaker or listener)
    "refresh": Units(4, 1),  # swap of the speaker id, or a listener's new row in for its old one
    "control": Units(2, 1),  # session state update + requestId claim (RateLimits); caller read
    "heartbeat": Units(0, 0),  # heartbeats never touch DynamoDB
    "http": Units(0, 1),  # one strongly consistent read per HTTP API request
}
# Listener rows are copied to the sparse language GSI: each row written or removed is 1 more WRU.
GSI_WRU_PER_LISTENER_ROW_CHANGE = 1.0

# EMF metrics, each with the `service` dimension: one metric-month per name.
CUSTOM_METRICS = (
    "SessionCreationLatency",
    "ListenerJoinLatency",
    "HeartbeatLatency",
    "ConnectionErrors",
    "ActiveSessions",
    "TotalListeners",
    "FanoutFailures",
    "PeriodicJobFailures",
)

BYTES_PER_GB = 1024**3


@dataclass(frozen=True)
class Profile:
    """How the stage is used; all counts are averages."""

    sessions_per_day: float = 20
    listeners_per_session: float = 100
    session_hours: float = 1.5
    heartbeat_seconds: float = 30
    controls_per_session_hour: float = 30
    http_requests_per_session: float = 5
    days: float = 30


@dataclass(frozen=True)
class Events:
    """Monthly counts of what clients do, the base of every other quantity."""

    sessions: float
    session_minutes: float
    connections_per_session: float
    connects: float
    heartbeats: float
    controls: float
    refreshes: float
    listener_refreshes: float
    http_requests: float
    status_pushes: float


@dataclass(frozen=True)
class Usage:
    """Monthly quantities of the profile on this stack."""

    events: Events
    connection_minutes: float
    messages: dict[str, float]
    invocations: dict[str, float]
    wru: dict[str, float]
    rru: dict[str, float]
    dynamodb_stored_gb: float
    periodic_runs: float


def count_events(r: StackResources, p: Profile) -> Events:
    session_hours = min(p.session_hours, r.settings["SESSION_MAX_DURATION_HOURS"])
    sessions = p.sessions_per_day * p.days
    per_session = SPEAKERS_PER_SESSION + p.listeners_per_session
    # Each connection is refreshed once per refresh period it lives through (API Gateway's 2-hour cap).
    cycles = math.floor(session_hours * 60 / r.settings["CONNECTION_REFRESH_MINUTES"])
    return Events(
        sessions=sessions,
        session_minutes=session_hours * 60,
        connections_per_session=per_session,
        connects=sessions * per_session * (1 + cycles),
        heartbeats=sessions * per_session * session_hours * 3600 / p.heartbeat_seconds,
        controls=sessions * p.controls_per_session_hour * session_hours,
        refreshes=sessions * per_session * cycles,
        listener_refreshes=sessions * p.listeners_per_session * cycles,
        http_requests=sessions * p.http_requests_per_session if r.has_http_api else 0.0,
        # The periodic job pushes sessionStatus to each speaker once a minute, if it is scheduled.
        status_pushes=sessions * session_hours * 60 if r.periodic_runs_per_day.get("periodic_job") else 0.0,
    )


def _messages(e: Events, p: Profile) -> dict[str, float]:
    """Frames API Gateway meters, both directions; create and join in the handshake form."""
    return {
        "heartbeats (in + ack)": 2 * e.heartbeats,
        "sessionCreated": e.sessions,  # a join on $connect is accepted with no frame
        "controls (in + ack + fan-out)": e.controls * (2 + p.listeners_per_session),
        "status pushes (periodic job)": e.status_pushes,
        "session end (per listener)": e.sessions * p.listeners_per_session * SESSION_END_FRAMES_PER_LISTENER,
        "connection refreshes": e.refreshes * REFRESH_FRAMES,
    }


def _invocations(r: StackResources, e: Events, p: Profile) -> dict[str, float]:
    counts = {
        "authorizer": e.connects,
        "connection": e.connects + e.sessions + e.refreshes,  # + async sessionCreated/refresh deliveries
        "heartbeat": e.heartbeats,
        "disconnect": e.connects,
        "refresh": 0.0,  # refresh's message form is not modelled (the handshake form runs in connection)
        "control": e.controls,
        "status": 0.0,  # getSessionStatus requests are not modelled
        "periodic_job": 0.0,  # its scheduled runs are added below
        "default": 0.0,
        "http": e.http_requests,
    }
    for role, per_day in r.periodic_runs_per_day.items():
        counts[role] = counts.get(role, 0.0) + per_day * p.days
    # A function that is not in the template costs nothing.
    return {role: (count if role in r.functions else 0.0) for role, count in counts.items()}


def _scan_rru(items: float) -> float:
    """An eventually consistent read: 0.5 RRU per 4 KB, at least one 4 KB unit per request."""
    return 0.5 * max(1, math.ceil(items * ITEM_KB / 4))


def _dynamodb(r: StackResources, e: Events, p: Profile) -> tuple[dict[str, float], dict[str, float], float]:
    """Request units per operation, and the average GB stored."""
    if r.dynamodb_tables == 0:
        return {}, {}, 0.0
    u, gsi = DYNAMODB_UNITS, GSI_WRU_PER_LISTENER_ROW_CHANGE
    listeners = e.sessions * p.listeners_per_session
    wru = {
        "create": e.sessions * u["create"].wru,
        "join": listeners * (u["join"].wru + gsi),
        "leave": e.connects * u["leave"].wru + listeners * gsi,
        "refresh": e.refreshes * u["refresh"].wru + e.listener_refreshes * 2 * gsi,
        "control": e.controls * u["control"].wru,
        "http": e.http_requests * u["http"].wru,
    }
    # The periodic job scans Connections (live rows) and Sessions (rows kept until their TTL).
    session_hours = e.session_minutes / 60
    active_sessions = p.sessions_per_day * session_hours / 24
    connection_items = active_sessions * e.connections_per_session
    session_items = p.sessions_per_day * (session_hours + r.settings["DATA_RETENTION_HOURS"]) / 24
    scans = r.periodic_runs_per_day.get("periodic_job", 0.0) * p.days
    rru = {
        "join": listeners * u["join"].rru,
        "refresh": e.refreshes * u["refresh"].rru,
        # + the fan-out's eventually consistent GSI query of the session's listeners
        "control": e.controls * (u["control"].rru + _scan_rru(p.listeners_per_session)),
        "http": e.http_requests * u["http"].rru,
        "periodic scans": scans * (_scan_rru(connection_items) + _scan_rru(session_items)),
    }
    gsi_items = active_sessions * p.listeners_per_session
    stored_gb = (connection_items + session_items + gsi_items) * ITEM_KB * 1024 / BYTES_PER_GB
    return wru, rru, stored_gb


def model_usage(r: StackResources, p: Profile) -> Usage:
    e = count_events(r, p)
    wru, rru, stored_gb = _dynamodb(r, e, p)
    return Usage(
        events=e,
        connection_minutes=e.sessions * e.connections_per_session * e.session_minutes,
        messages=_messages(e, p),
        invocations=_invocations(r, e, p),
        wru=wru,
        rru=rru,
        dynamodb_stored_gb=stored_gb,
        periodic_runs=sum(r.periodic_runs_per_day.values()) * p.days,
    )

"""The invariants the model checks after every step, against the tables (DynamoDB Local, read
consistently) and against what its clients saw.

Each check returns (name, detail) pairs for what does not hold. Checks that depend on asynchronous
work the service does after a step (a `$disconnect`, the closing of an ended session's listeners)
are retried by the caller for a bounded settle time before they count; none of them sleeps.

- count_matches_rows: every session's listenerCount equals its listener rows (never negative).
- listener_cap: no listenerCount exceeds maxListenersPerSession.
- rows_match_open_connections: each model session has as many listener (and speaker) rows as
  open listener (speaker) connections; after a DynamoDB fault extra rows are allowed until one job run.
- rows_outlive_connection: after a job run, no row is left for a connection that is closed.
- active_counter: the active-session counter equals the number of active sessions.
- ended_listeners_told: every listener connection of an ended session has had sessionEnded or is closed.
- refresh_replaces: one join's chain of refreshes holds at most two open listener connections
  (the old and the new during a handover).
- listener_language: a listener's row has the language it was last told (sessionJoined, changeLanguage).
- session_expiry: after a job run, no session is active past its sessionExpiresAt.
- enumeration_bound: one address gets at most ENUMERATION_BOUND_PER_MINUTE answers about unknown
  well-formed ids a minute, on every path (a malformed id's refusal tells nothing about what exists).
- no_typo_lockout (in the join rule): a correct join is admitted from an address with at most
  TYPO_ALLOWANCE_PER_MINUTE mistyped ids that minute.

Checked in the rules, as they happen: no_5xx (no handshake or HTTP status of 500 or more, except the
documented 503 SESSION_FULL / SERVICE_UNAVAILABLE), no_internal_error (no INTERNAL_ERROR frame and
no API Gateway `Internal server error` frame), frames_valid (every frame strict JSON and valid
against its contract), heartbeat_acked (every heartbeat on a connection that stays open gets its
heartbeatAck), job_clean (the periodic job reports no errors) and outcome:<rule> (the answer the
protocol promises for that request).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.model import harness
from tests.model.harness import MAX_LISTENERS, TABLES

if TYPE_CHECKING:
    from tests.model.machine import SessionModel

# The existence bound of the stage the model runs (docs/ARCHITECTURE.md, Limits): a correct join is
# admitted while the address has fewer misses than the limit this minute (the default 30 lets a hall
# with 25 typos in; the e2e stage keeps 10), and fixed one-minute windows give an address at most
# twice the limit in any sliding 60 s.
TYPO_ALLOWANCE_PER_MINUTE = harness.EXISTENCE_ANSWERS_PER_MINUTE - 1
ENUMERATION_BOUND_PER_MINUTE = 2 * harness.EXISTENCE_ANSWERS_PER_MINUTE

# Re-read until they hold or the settle time is over: asynchronous work ($disconnect, the closing
# of an ended session's listeners) may be under way, and two scans are not one snapshot.
SETTLED = (
    "count_matches_rows",
    "listener_cap",
    "active_counter",
    "rows_match_open_connections",
    "rows_outlive_connection",
    "ended_listeners_told",
)
ALL = (
    "count_matches_rows",
    "listener_cap",
    "rows_match_open_connections",
    "rows_outlive_connection",
    "active_counter",
    "ended_listeners_told",
    "refresh_replaces",
    "listener_language",
    "session_expiry",
    "enumeration_bound",
)
IN_RULES = (
    "no_5xx",
    "no_internal_error",
    "frames_valid",
    "heartbeat_acked",
    "job_clean",
    "no_typo_lockout",
    "outcome",
)


@dataclass
class Tables:
    sessions: dict[str, dict[str, Any]]
    rows: list[dict[str, Any]]
    active_counter: int

    @classmethod
    def read(cls, dynamodb: Any) -> Tables:
        sessions = {i["sessionId"]["S"]: i for i in _scan(dynamodb, TABLES["sessions"])}
        rows = _scan(dynamodb, TABLES["connections"])
        item = dynamodb.get_item(
            TableName=TABLES["rate_limits"], Key={"identifier": {"S": "activeSessions"}}, ConsistentRead=True
        ).get("Item", {})
        return cls(sessions, rows, int(item.get("count", {}).get("N", "0")))

    def rows_of(self, session_id: str, role: str) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["sessionId"]["S"] == session_id and r["role"]["S"] == role]


def _scan(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = dynamodb.scan(**kwargs)
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def check(model: SessionModel, tables: Tables) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    found += _counts(tables)
    found += _rows_and_connections(model, tables)
    found += _active_counter(tables)
    found += _ended_listeners(model, tables)
    found += _refresh_lineages(model)
    found += _languages(model, tables)
    found += _expiry(model, tables)
    found += _enumeration(model)
    return found


def _counts(tables: Tables) -> list[tuple[str, str]]:
    found = []
    by_session = Counter(r["sessionId"]["S"] for r in tables.rows if r["role"]["S"] == "listener")
    for session_id, item in tables.sessions.items():
        count = int(item["listenerCount"]["N"])
        if count != by_session.get(session_id, 0) or count < 0:
            found.append(
                ("count_matches_rows", f"{session_id}: listenerCount {count}, rows {by_session.get(session_id, 0)}")
            )
        if count > MAX_LISTENERS:
            found.append(("listener_cap", f"{session_id}: listenerCount {count} > {MAX_LISTENERS}"))
    return found


def _rows_and_connections(model: SessionModel, tables: Tables) -> list[tuple[str, str]]:
    found = []
    for session_id in model.sessions:
        for role in ("listener", "speaker"):
            rows = len(tables.rows_of(session_id, role))
            live = len(model.open_conns(role=role, session_id=session_id))
            if rows < live:
                found.append(("rows_match_open_connections", f"{session_id}: {live} open {role}s, {rows} rows"))
            elif rows > live and not model.orphans_allowed:
                # Rows a DynamoDB fault may have left are allowed until the next job run, not after.
                name = "rows_outlive_connection" if model.job_ran_this_step else "rows_match_open_connections"
                found.append((name, f"{session_id}: {live} open {role}s, {rows} rows"))
    return found


def _active_counter(tables: Tables) -> list[tuple[str, str]]:
    active = sum(1 for i in tables.sessions.values() if i["isActive"]["BOOL"])
    if tables.active_counter != active:
        return [("active_counter", f"counter {tables.active_counter}, active sessions {active}")]
    return []


def _ended_listeners(model: SessionModel, tables: Tables) -> list[tuple[str, str]]:
    found = []
    for session_id in model.sessions:
        item = tables.sessions.get(session_id)
        if item is None or item["isActive"]["BOOL"]:
            continue
        for conn in model.open_conns(role="listener", session_id=session_id):
            if not conn.has("sessionEnded"):
                found.append(("ended_listeners_told", f"{session_id} ended; {conn.describe()} has no sessionEnded"))
    return found


def _refresh_lineages(model: SessionModel) -> list[tuple[str, str]]:
    open_by_lineage = Counter(c.lineage for c in model.open_conns(role="listener") if c.lineage is not None)
    return [
        ("refresh_replaces", f"join #{lineage} holds {n} open listener connections through refreshes")
        for lineage, n in open_by_lineage.items()
        if n > 2
    ]


def _languages(model: SessionModel, tables: Tables) -> list[tuple[str, str]]:
    rows = {r["connectionId"]["S"]: r for r in tables.rows}
    found = []
    for conn in model.open_conns(role="listener"):
        row = rows.get(conn.connection_id or "")
        if row is not None and row.get("targetLanguage", {}).get("S") != conn.language:
            found.append(
                (
                    "listener_language",
                    f"{conn.describe()}: told {conn.language}, row says {row.get('targetLanguage', {}).get('S')}",
                )
            )
    return found


def _expiry(model: SessionModel, tables: Tables) -> list[tuple[str, str]]:
    if model.last_job_started_ms is None:
        return []
    found = []
    for session_id, item in tables.sessions.items():
        expires = int(item["sessionExpiresAt"]["N"])
        if item["isActive"]["BOOL"] and expires < model.last_job_started_ms:
            late = (model.last_job_started_ms - expires) / 1000
            found.append(("session_expiry", f"{session_id} active {late:.1f}s past its sessionExpiresAt"))
    return found


def _enumeration(model: SessionModel) -> list[tuple[str, str]]:
    now = time.monotonic()
    found = []
    for ip, times in model.existence_answers.items():
        recent = [t for t in times if now - t < 60]
        if len(recent) > ENUMERATION_BOUND_PER_MINUTE:
            found.append(("enumeration_bound", f"{ip}: {len(recent)} answers about unknown ids within a minute"))
    return found

"""Settings from the function's environment, read once per execution environment.

The template sets every variable (see docs/ARCHITECTURE.md); the defaults exist only so unit
tests and tools can build settings without a full environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


@dataclass(frozen=True)
class Settings:
    env_name: str
    region: str
    sessions_table: str
    connections_table: str
    rate_limits_table: str
    cognito_user_pool_id: str
    cognito_client_id: str
    max_listeners_per_session: int
    max_active_sessions: int
    session_max_duration_hours: float
    connection_refresh_minutes: float
    connection_warning_minutes: float
    data_retention_hours: float
    rate_limit_sessions_per_hour: int
    rate_limit_listener_joins_per_min: int
    rate_limit_connection_attempts_per_min: int
    rate_limit_heartbeats_per_min: int
    heartbeat_timeout_seconds: float
    speaker_reconnect_grace_seconds: float
    fanout_concurrency: int
    liveness_checks_per_run: int

    @property
    def cognito_issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.cognito_user_pool_id}"


@cache
def load_settings() -> Settings:
    env = os.environ.get("ENV_NAME", "dev")
    return Settings(
        env_name=env,
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        sessions_table=os.environ.get("SESSIONS_TABLE_NAME", f"Sessions-{env}"),
        connections_table=os.environ.get("CONNECTIONS_TABLE_NAME", f"Connections-{env}"),
        rate_limits_table=os.environ.get("RATE_LIMITS_TABLE_NAME", f"RateLimits-{env}"),
        cognito_user_pool_id=os.environ.get("COGNITO_USER_POOL_ID", ""),
        cognito_client_id=os.environ.get("COGNITO_CLIENT_ID", ""),
        max_listeners_per_session=_int("MAX_LISTENERS_PER_SESSION", 500),
        max_active_sessions=_int("MAX_ACTIVE_SESSIONS", 100),
        session_max_duration_hours=_float("SESSION_MAX_DURATION_HOURS", 2),
        connection_refresh_minutes=_float("CONNECTION_REFRESH_MINUTES", 100),
        connection_warning_minutes=_float("CONNECTION_WARNING_MINUTES", 105),
        data_retention_hours=_float("DATA_RETENTION_HOURS", 12),
        rate_limit_sessions_per_hour=_int("RATE_LIMIT_SESSIONS_PER_HOUR", 50),
        rate_limit_listener_joins_per_min=_int("RATE_LIMIT_LISTENER_JOINS_PER_MIN", 10),
        rate_limit_connection_attempts_per_min=_int("RATE_LIMIT_CONNECTION_ATTEMPTS_PER_MIN", 20),
        rate_limit_heartbeats_per_min=_int("RATE_LIMIT_HEARTBEATS_PER_MIN", 2),
        heartbeat_timeout_seconds=_float("HEARTBEAT_TIMEOUT_SECONDS", 90),
        speaker_reconnect_grace_seconds=_float("SPEAKER_RECONNECT_GRACE_SECONDS", 60),
        fanout_concurrency=_int("FANOUT_CONCURRENCY", 32),
        liveness_checks_per_run=_int("LIVENESS_CHECKS_PER_RUN", 5000),
    )

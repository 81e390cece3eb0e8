"""Every setting the functions read, defined once, and `Settings` read from the function's environment.

A tunable is defined here only: its name, type, default and meaning. The stage config
(`StageConfig`, and the schema's defaults, which a test checks), the template's function
environment and `Settings` are all derived from `Tunables`, so they cannot drift apart. The
wiring variables (stage, tables, Cognito ids, the management endpoint) come from the stage and its
resources; the template always sets them, and the fallbacks here exist only so unit tests and
tools can build settings without a full environment. Standard library only: the CDK app imports
this module too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cache
from typing import Any, Final, get_type_hints

from session_management import resource_names


@dataclass(frozen=True, kw_only=True)
class Tunables:
    """What an operator tunes per stage. Field `x_y` is stage-config key `xY` and environment variable `X_Y`.

    Whole-number defaults stay ints even for float fields: the template carries `str(value)`.
    """

    # Limits.
    max_listeners_per_session: int = 500
    max_active_sessions: int = 100
    # Active sessions one speaker may hold at once, so two accounts cannot take every slot.
    max_active_sessions_per_speaker: int = 5
    # Timings, in floats so the e2e stage runs them in seconds.
    # The longest one connection lives (API Gateway's 2-hour cap); connections refresh before it.
    session_max_duration_hours: float = 2
    # The longest a session lives, across refreshed connections: it then ends with reason `expired`.
    session_max_lifetime_hours: float = 8
    connection_refresh_minutes: float = 100
    connection_warning_minutes: float = 105
    # TTL horizon for rows, and the log retention it maps to.
    data_retention_hours: float = 12
    # Abuse limits (fixed windows).
    rate_limit_sessions_per_hour: int = 50
    # Existence answers ("no such session", "not yours") one address may get, on every path that
    # gives them: per minute sized for a hall of 500 behind one NAT in which a few dozen mistype the
    # id; per day so that guessing ids stays hopeless (see abuse_limits).
    rate_limit_listener_joins_per_min: int = 30
    rate_limit_session_lookups_per_day: int = 300
    rate_limit_connection_attempts_per_min: int = 20
    # The heartbeat pace clients are asked to keep (the deployment guide's field). Not enforced per
    # connection: every heartbeat is acked, and stage throttling bounds the API (handlers/heartbeat).
    rate_limit_heartbeats_per_min: int = 2
    # Liveness.
    heartbeat_timeout_seconds: float = 90
    speaker_reconnect_grace_seconds: float = 60
    # Parallel `@connections` calls per fan-out.
    fanout_concurrency: int = 32
    # Liveness checks the periodic job makes per run, so one run stays within its timeout.
    liveness_checks_per_run: int = 5000


def environment_variable(tunable: str) -> str:
    return tunable.upper()


def stage_config_key(tunable: str) -> str:
    head, *rest = tunable.split("_")
    return head + "".join(part.capitalize() for part in rest)


# Each tunable's type (int or float), which parses its variable.
TUNABLE_TYPES: Final[Mapping[str, type]] = get_type_hints(Tunables)
TUNABLE_DEFAULTS: Final = Tunables()

# Wiring: set by the template on every function, from the stage and its resources.
ENV_NAME: Final = "ENV_NAME"
SESSIONS_TABLE_NAME: Final = "SESSIONS_TABLE_NAME"
CONNECTIONS_TABLE_NAME: Final = "CONNECTIONS_TABLE_NAME"
RATE_LIMITS_TABLE_NAME: Final = "RATE_LIMITS_TABLE_NAME"
COGNITO_USER_POOL_ID: Final = "COGNITO_USER_POOL_ID"
COGNITO_CLIENT_ID: Final = "COGNITO_CLIENT_ID"
# Set only on the functions below: sessions created over HTTP broadcast here until their speaker connects.
WEBSOCKET_MANAGEMENT_ENDPOINT: Final = "WEBSOCKET_MANAGEMENT_ENDPOINT"
WEBSOCKET_MANAGEMENT_ENDPOINT_FUNCTIONS: Final = (resource_names.HTTP_API,)
# Set by the Lambda runtime (the template may not set AWS_REGION: Lambda reserves it).
AWS_REGION: Final = "AWS_REGION"
AWS_DEFAULT_REGION: Final = "AWS_DEFAULT_REGION"


@dataclass(frozen=True, kw_only=True)
class Settings(Tunables):
    env_name: str
    region: str
    sessions_table: str
    connections_table: str
    rate_limits_table: str
    cognito_user_pool_id: str
    cognito_client_id: str
    websocket_management_endpoint: str

    @property
    def cognito_issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.cognito_user_pool_id}"


def read_tunables(environ: Mapping[str, str]) -> Tunables:
    """Each tunable from its variable, else its one default."""
    values: dict[str, Any] = {}
    for tunable in fields(Tunables):
        raw = environ.get(environment_variable(tunable.name))
        values[tunable.name] = (
            getattr(TUNABLE_DEFAULTS, tunable.name) if raw is None else TUNABLE_TYPES[tunable.name](raw)
        )
    return Tunables(**values)


def read_settings(environ: Mapping[str, str]) -> Settings:
    env = environ.get(ENV_NAME, "dev")
    return Settings(
        env_name=env,
        region=environ.get(AWS_REGION) or environ.get(AWS_DEFAULT_REGION) or "us-east-1",
        sessions_table=environ.get(SESSIONS_TABLE_NAME, resource_names.sessions_table(env)),
        connections_table=environ.get(CONNECTIONS_TABLE_NAME, resource_names.connections_table(env)),
        rate_limits_table=environ.get(RATE_LIMITS_TABLE_NAME, resource_names.rate_limits_table(env)),
        cognito_user_pool_id=environ.get(COGNITO_USER_POOL_ID, ""),
        cognito_client_id=environ.get(COGNITO_CLIENT_ID, ""),
        websocket_management_endpoint=environ.get(WEBSOCKET_MANAGEMENT_ENDPOINT, ""),
        **vars(read_tunables(environ)),
    )


@cache
def load_settings() -> Settings:
    """Read once per execution environment: the variables do not change while it lives."""
    return read_settings(os.environ)

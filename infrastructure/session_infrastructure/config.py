"""Stage configuration (`infrastructure/config/{env}.json`), checked before anything is synthesized.

Mistakes here deploy silently broken stages, so every check names the field and says what to do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
API_GATEWAY_MAX_CONNECTION_MINUTES = 120


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class StageConfig:
    env: str
    cognito_user_pool_id: str
    cognito_client_id: str
    region: str = "us-east-1"
    session_max_duration_hours: float = 2
    connection_refresh_minutes: float = 100
    connection_warning_minutes: float = 105
    max_listeners_per_session: int = 500
    max_active_sessions: int = 100
    data_retention_hours: float = 12
    heartbeat_timeout_seconds: float = 90
    speaker_reconnect_grace_seconds: float = 60
    fanout_concurrency: int = 32
    rate_limit_sessions_per_hour: int = 50
    rate_limit_listener_joins_per_min: int = 10
    rate_limit_connection_attempts_per_min: int = 20
    rate_limit_heartbeats_per_min: int = 2
    alarm_email: str = ""
    throttling_rate_limit: int = 1000
    throttling_burst_limit: int = 2000
    log_level: str = "INFO"

    @property
    def is_production_like(self) -> bool:
        """Staging and prod keep their data: RETAIN and point-in-time recovery."""
        return self.env in ("staging", "prod")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


_FIELDS = {_camel(f.name): f for f in fields(StageConfig)}


def parse(raw: dict[str, Any], source: str) -> StageConfig:
    unknown = sorted(set(raw) - set(_FIELDS))
    if unknown:
        raise ConfigError(f"{source}: unknown keys {unknown}; allowed: {sorted(_FIELDS)}")
    values: dict[str, Any] = {}
    for key, field in _FIELDS.items():
        if key not in raw:
            continue
        value = raw[key]
        expected = {"int": int, "float": float}.get(str(field.type), str)
        if expected is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise ConfigError(f"{source}: {key} must be an integer, got {value!r}")
        if expected is float and (isinstance(value, bool) or not isinstance(value, int | float) or value <= 0):
            raise ConfigError(f"{source}: {key} must be a positive number, got {value!r}")
        if expected is str and not isinstance(value, str):
            raise ConfigError(f"{source}: {key} must be a string, got {value!r}")
        values[field.name] = value
    for required in ("env", "cognitoUserPoolId", "cognitoClientId"):
        if not raw.get(required):
            raise ConfigError(f"{source}: {required} is required (the Cognito ids come from the stage's user pool)")
    config = StageConfig(**values)
    if config.session_max_duration_hours > 2:
        raise ConfigError(f"{source}: sessionMaxDurationHours is at most 2 (API Gateway closes connections at 2 hours)")
    if not config.connection_refresh_minutes < config.connection_warning_minutes < API_GATEWAY_MAX_CONNECTION_MINUTES:
        raise ConfigError(
            f"{source}: connectionWarningMinutes must come after connectionRefreshMinutes and before "
            f"{API_GATEWAY_MAX_CONNECTION_MINUTES} (got {config.connection_refresh_minutes} and "
            f"{config.connection_warning_minutes})"
        )
    return config


def load(env: str, directory: Path = CONFIG_DIR) -> StageConfig:
    path = directory / f"{env}.json"
    if not path.exists():
        raise ConfigError(
            f"{path} not found; create it from {path.name}.example or choose -c env=dev|staging|prod|local"
        )
    config = parse(json.loads(path.read_text()), str(path))
    if config.env != env:
        raise ConfigError(f"{path}: env is {config.env!r}, expected {env!r}")
    return config

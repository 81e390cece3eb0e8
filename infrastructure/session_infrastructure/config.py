"""Stage configuration (`infrastructure/config/{env}.json`), checked before anything is synthesized.

Mistakes here deploy silently broken stages, so the file is validated against
`stage-config.schema.json` and every message names the field and says what to do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
SCHEMA_PATH = CONFIG_DIR / "stage-config.schema.json"
API_GATEWAY_MAX_CONNECTION_MINUTES = 120
API_GATEWAY_MAX_CONNECTION_HOURS = API_GATEWAY_MAX_CONNECTION_MINUTES / 60
# Stages that keep their data and page people: RETAIN, point-in-time recovery, alarm email.
PRODUCTION_LIKE = ("staging", "prod")


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
        return self.env in PRODUCTION_LIKE

    @property
    def cognito_issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.cognito_user_pool_id}"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


_FIELDS = {_camel(f.name): f.name for f in fields(StageConfig)}
_VALIDATOR = Draft7Validator(json.loads(SCHEMA_PATH.read_text()))

# What a person should put in a required field, so the message is enough to fix it.
_REQUIRED_HINTS = {
    "env": "the stage name (dev, staging, prod)",
    "cognitoUserPoolId": "the stage's Cognito user pool id, e.g. us-east-1_AbCdEf123 (Cognito console > User pools)",
    "cognitoClientId": "the speaker app client id of that pool (User pool > App integration > App clients)",
}


def _describe(error: ValidationError) -> str:
    field = ".".join(str(p) for p in error.absolute_path)
    match error.validator:
        case "required":
            missing = str(error.message).split("'")[1]
            return f"{missing} is required: {_REQUIRED_HINTS.get(missing, 'see stage-config.schema.json')}"
        case "additionalProperties":
            unknown = sorted(set(error.instance) - set(_FIELDS))
            return f"unknown keys {unknown}; allowed: {sorted(_FIELDS)}"
        case "type":
            return f"{field} must be of type {error.validator_value}, got {error.instance!r}"
        case "pattern" | "anyOf":
            description = error.schema.get("description", "") if isinstance(error.schema, dict) else ""
            return f"{field} has an invalid value {error.instance!r}. {description}".strip()
        case _:
            return f"{field}: {error.message}"


def _check_timings(config: StageConfig) -> list[str]:
    problems = []
    if config.session_max_duration_hours > API_GATEWAY_MAX_CONNECTION_HOURS:
        problems.append(
            f"sessionMaxDurationHours is {config.session_max_duration_hours}; it can be at most "
            f"{API_GATEWAY_MAX_CONNECTION_HOURS:g} (API Gateway closes every WebSocket connection after 2 hours)"
        )
    if not config.connection_refresh_minutes < config.connection_warning_minutes < API_GATEWAY_MAX_CONNECTION_MINUTES:
        problems.append(
            "connectionWarningMinutes must come after connectionRefreshMinutes and before "
            f"{API_GATEWAY_MAX_CONNECTION_MINUTES} (got refresh {config.connection_refresh_minutes:g}, "
            f"warning {config.connection_warning_minutes:g})"
        )
    if config.is_production_like and not config.alarm_email:
        problems.append(f"alarmEmail is required for {config.env}: its alarms must reach the people on call")
    if config.throttling_burst_limit < config.throttling_rate_limit:
        problems.append("throttlingBurstLimit must be at least throttlingRateLimit")
    return problems


def parse(raw: Any, source: str) -> StageConfig:
    """Every problem at once, each on its own line: fixing one to find the next wastes a deploy."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the configuration must be a JSON object")
    problems = [_describe(e) for e in sorted(_VALIDATOR.iter_errors(raw), key=lambda e: list(e.absolute_path))]
    if problems:
        raise ConfigError(f"{source}:\n  - " + "\n  - ".join(problems))
    config = StageConfig(**{_FIELDS[key]: value for key, value in raw.items()})
    problems = _check_timings(config)
    if problems:
        raise ConfigError(f"{source}:\n  - " + "\n  - ".join(problems))
    return config


def load_file(path: Path) -> StageConfig:
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    return parse(raw, str(path))


def load(env: str, directory: Path = CONFIG_DIR, path: Path | None = None) -> StageConfig:
    """`path` overrides the stage's file (`-c configFile=...`), e.g. a config kept outside the repo."""
    path = path or directory / f"{env}.json"
    if not path.exists():
        example = path.with_name(f"{path.name}.example")
        hint = (
            f"copy {example.name} to {path.name} and fill in the stage's Cognito ids and alarm email"
            if example.exists()
            else "choose -c env=dev|staging|prod|local"
        )
        raise ConfigError(f"{path} not found: {hint}")
    config = load_file(path)
    if config.env != env:
        raise ConfigError(f"{path}: env is {config.env!r}, expected {env!r}")
    return config

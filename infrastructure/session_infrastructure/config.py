"""Stage configuration (`infrastructure/config/{env}.json`), checked before anything is synthesized.

Mistakes here deploy silently broken stages, so the file is validated against
`stage-config.schema.json` and every message names the field and says what to do.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from session_management.config import Tunables, stage_config_key

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
SCHEMA_PATH = CONFIG_DIR / "stage-config.schema.json"
API_GATEWAY_MAX_CONNECTION_MINUTES = 120
API_GATEWAY_MAX_CONNECTION_HOURS = API_GATEWAY_MAX_CONNECTION_MINUTES / 60
# Stages that keep their data and page people: RETAIN, point-in-time recovery, alarm email.
PRODUCTION_LIKE = ("staging", "prod")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True, kw_only=True)
class StageConfig(Tunables):
    """The functions' tunables (defined once in `session_management.config`) and what only the template needs."""

    # The stage is named by the file (`dev.json`) or `-c env=`; an `env` key, if present, must agree.
    env: str = ""
    # The AWS account the stage deploys to; pins the CDK environment and is checked before a deploy.
    account: str = ""
    cognito_user_pool_id: str
    cognito_client_id: str
    region: str = "us-east-1"
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


_FIELDS = {stage_config_key(f.name): f.name for f in fields(StageConfig)}
_SCHEMA = json.loads(SCHEMA_PATH.read_text())
_VALIDATOR = Draft7Validator(_SCHEMA)
_STAGE_NAME = re.compile(_SCHEMA["properties"]["env"]["pattern"])

# What a person should put in a required field, so the message is enough to fix it.
_REQUIRED_HINTS = {
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
    if config.session_max_lifetime_hours < config.session_max_duration_hours:
        problems.append(
            f"sessionMaxLifetimeHours ({config.session_max_lifetime_hours:g}) must be at least "
            f"sessionMaxDurationHours ({config.session_max_duration_hours:g}): a session outlives its connections"
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


def stage_of(path: Path) -> str:
    """The stage a config file names: `dev.json` is dev."""
    return path.name.removesuffix(".json")


def _stage(raw: dict[str, Any], env: str | None, source: str) -> str:
    """The stage from the file name or `-c env=`; an `env` key in the file may only repeat it."""
    in_file = raw.get("env")
    if env and in_file and in_file != env:
        raise ConfigError(
            f"{source}: env is {in_file!r}, expected {env!r} (the stage named by the file name or -c env=); "
            "remove the env key or make it agree"
        )
    stage = env or in_file
    if not stage:
        raise ConfigError(f"{source}: no stage: name the file after it (dev.json) or pass -c env=dev")
    if not _STAGE_NAME.match(stage):
        raise ConfigError(f"{source}: stage name {stage!r} is invalid: lowercase letters, digits and -, 2-16 long")
    return str(stage)


def parse(raw: Any, source: str, env: str | None = None) -> StageConfig:
    """Every problem at once, each on its own line: fixing one to find the next wastes a deploy.

    `env` is the stage the file is for (its name or `-c env=`); without it the file must name it.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the configuration must be a JSON object")
    problems = [_describe(e) for e in sorted(_VALIDATOR.iter_errors(raw), key=lambda e: list(e.absolute_path))]
    if problems:
        raise ConfigError(f"{source}:\n  - " + "\n  - ".join(problems))
    stage = _stage(raw, env, source)
    config = StageConfig(**{**{_FIELDS[key]: value for key, value in raw.items()}, "env": stage})
    problems = _check_timings(config)
    if problems:
        raise ConfigError(f"{source}:\n  - " + "\n  - ".join(problems))
    return config


def load_file(path: Path, env: str | None = None) -> StageConfig:
    """`env` defaults to the file's name: `dev.json` configures dev."""
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    return parse(raw, str(path), env or stage_of(path))


def load(env: str | None, directory: Path = CONFIG_DIR, path: Path | None = None) -> StageConfig:
    """`path` overrides the stage's file (`-c configFile=...`), e.g. a config kept outside the repo.

    Without `env` the stage is the file's name. With both, `env` (`-c env=`) names the stage.
    """
    if path is None:
        if not env:
            raise ConfigError("no stage: pass -c env=dev|staging|prod|local or -c configFile=.../<stage>.json")
        path = directory / f"{env}.json"
    if not path.exists():
        example = path.with_name(f"{path.name}.example")
        hint = (
            f"copy {example.name} to {path.name} and fill in the stage's account, Cognito ids and alarm email"
            if example.exists()
            else "choose -c env=dev|staging|prod|local"
        )
        raise ConfigError(f"{path} not found: {hint}")
    return load_file(path, env or stage_of(path))

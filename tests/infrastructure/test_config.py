"""Stage configuration is checked before synth, with messages a person can act on."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from session_infrastructure.config import ConfigError, load, parse

BASE = {"env": "dev", "cognitoUserPoolId": "us-east-1_abc", "cognitoClientId": "client"}
CONFIG_DIR = Path(__file__).resolve().parents[2] / "infrastructure" / "config"


def test_defaults_match_the_deployment_guide():
    config = parse(BASE, "test")
    assert config.session_max_duration_hours == 2
    assert (config.connection_refresh_minutes, config.connection_warning_minutes) == (100, 105)
    assert config.max_listeners_per_session == 500
    assert config.data_retention_hours == 12
    assert config.max_active_sessions == 100


def test_unknown_keys_are_errors():
    with pytest.raises(ConfigError, match="unknown keys"):
        parse({**BASE, "maxListeners": 10}, "test")


@pytest.mark.parametrize("field", ["cognitoUserPoolId", "cognitoClientId"])
def test_missing_cognito_ids_name_the_field(field):
    raw = {k: v for k, v in BASE.items() if k != field}
    with pytest.raises(ConfigError, match=field):
        parse(raw, "test")


def test_sessions_longer_than_api_gateways_limit_are_refused():
    with pytest.raises(ConfigError, match="API Gateway"):
        parse({**BASE, "sessionMaxDurationHours": 3}, "test")


@pytest.mark.parametrize(("refresh", "warning"), [(105, 100), (100, 120), (100, 100)])
def test_warning_must_follow_refresh_and_precede_two_hours(refresh, warning):
    with pytest.raises(ConfigError, match="connectionWarningMinutes"):
        parse({**BASE, "connectionRefreshMinutes": refresh, "connectionWarningMinutes": warning}, "test")


def test_types_are_checked():
    with pytest.raises(ConfigError, match="maxListenersPerSession must be of type integer"):
        parse({**BASE, "maxListenersPerSession": "500"}, "test")


@pytest.mark.parametrize("env", ["local", "e2e"])
def test_committed_local_configs_load(env):
    assert load(env).env == env


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_deployed_stages_are_examples_without_accounts_or_emails(env):
    """Real stage configs stay out of the repo: only `.example` files, with placeholders."""
    assert not (CONFIG_DIR / f"{env}.json").exists()
    text = (CONFIG_DIR / f"{env}.json.example").read_text()
    raw = json.loads(text)
    assert raw["env"] == env and raw["alarmEmail"] == ""
    assert not re.search(r"\b\d{12}\b", text)  # no account ids
    if env == "dev":
        parse(raw, "dev example")
    else:  # production-like stages refuse to synthesize until someone is paged by their alarms
        with pytest.raises(ConfigError, match="alarmEmail is required"):
            parse(raw, f"{env} example")
        assert parse({**raw, "alarmEmail": "oncall@example.com"}, env).is_production_like


def test_a_missing_stage_file_points_at_its_example(tmp_path):
    (tmp_path / "prod.json.example").write_text("{}")
    with pytest.raises(ConfigError, match=r"copy prod\.json\.example to prod\.json"):
        load("prod", tmp_path)


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as error:
        parse({"env": "dev", "maxActiveSessions": 0, "logLevel": "LOUD"}, "test")
    message = str(error.value)
    for expected in ("cognitoUserPoolId is required", "cognitoClientId is required", "maxActiveSessions", "logLevel"):
        assert expected in message


@pytest.mark.parametrize(
    ("field", "value"),
    [("cognitoUserPoolId", "my-pool"), ("alarmEmail", "not-an-email"), ("region", "mars-1")],
)
def test_malformed_values_name_the_field(field, value):
    with pytest.raises(ConfigError, match=field):
        parse({**BASE, field: value}, "test")


def test_warning_after_refresh_is_accepted_at_the_edges():
    config = parse({**BASE, "connectionRefreshMinutes": 90, "connectionWarningMinutes": 119}, "test")
    assert config.connection_warning_minutes == 119


def test_invalid_json_is_named(tmp_path):
    (tmp_path / "dev.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load("dev", tmp_path)


def test_env_mismatch_is_refused(tmp_path):
    (tmp_path / "dev.json").write_text(json.dumps({**BASE, "env": "staging", "alarmEmail": "a@example.com"}))
    with pytest.raises(ConfigError, match="expected 'dev'"):
        load("dev", tmp_path)

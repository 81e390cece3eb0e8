"""Stage configuration is checked before synth, with messages a person can act on."""

from __future__ import annotations

import json

import pytest

from session_infrastructure.config import ConfigError, load, parse

BASE = {"env": "dev", "cognitoUserPoolId": "us-east-1_abc", "cognitoClientId": "client"}


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
    with pytest.raises(ConfigError, match="maxListenersPerSession must be an integer"):
        parse({**BASE, "maxListenersPerSession": "500"}, "test")


@pytest.mark.parametrize("env", ["dev", "staging", "prod", "local"])
def test_committed_configs_load_and_hold_no_emails_or_accounts(env):
    config = load(env)
    assert config.env == env
    assert "@" not in config.alarm_email


def test_env_mismatch_is_refused(tmp_path):
    (tmp_path / "dev.json").write_text(json.dumps({**BASE, "env": "prod"}))
    with pytest.raises(ConfigError, match="expected 'dev'"):
        load("dev", tmp_path)

"""Stage configuration is checked before synth, with messages a person can act on."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from session_infrastructure.config import ConfigError, load, parse

BASE = {"env": "dev", "cognitoUserPoolId": "us-east-1_abc", "cognitoClientId": "client"}
CONFIG_DIR = Path(__file__).resolve().parents[2] / "infrastructure" / "config"
# The deployment guide's example `infrastructure/config/dev.json`, verbatim: no env, an account.
GUIDE_CONFIG = Path(__file__).resolve().parent / "fixtures" / "guide" / "dev.json"
# AWS's documentation placeholder account id; no other 12-digit number may be committed.
PLACEHOLDER_ACCOUNT = "123456789012"


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
    """Real stage configs stay out of the repo: only `.example` files, in the guide's format, with placeholders."""
    assert not (CONFIG_DIR / f"{env}.json").exists()
    text = (CONFIG_DIR / f"{env}.json.example").read_text()
    raw = json.loads(text)
    assert "env" not in raw and raw["alarmEmail"] == ""  # the guide's format: the file name is the stage
    assert set(re.findall(r"\b\d{12}\b", text)) == {PLACEHOLDER_ACCOUNT}  # no real account ids
    if env == "dev":
        assert load(env, path=CONFIG_DIR / f"{env}.json.example").env == env
    else:  # production-like stages refuse to synthesize until someone is paged by their alarms
        with pytest.raises(ConfigError, match="alarmEmail is required"):
            parse(raw, f"{env} example", env)
        assert parse({**raw, "alarmEmail": "oncall@example.com"}, env, env).is_production_like


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


def test_the_guides_example_config_loads_with_the_guides_values():
    config = load("dev", GUIDE_CONFIG.parent)
    assert (config.env, config.account, config.region) == ("dev", PLACEHOLDER_ACCOUNT, "us-east-1")
    assert (config.cognito_user_pool_id, config.cognito_client_id) == ("us-east-1_ABC123XYZ", "1a2b3c4d5e6f7g8h9i0j")
    assert config.alarm_email == "your-email@example.com"
    assert (config.session_max_duration_hours, config.max_listeners_per_session) == (2, 500)


def test_the_stage_is_the_file_name_without_an_env_key(tmp_path):
    raw = {k: v for k, v in BASE.items() if k != "env"}
    (tmp_path / "qa.json").write_text(json.dumps(raw))
    assert load(None, path=tmp_path / "qa.json").env == "qa"
    assert load("qa", tmp_path).env == "qa"
    with pytest.raises(ConfigError, match="no stage"):
        parse(raw, "test")


def test_an_env_key_that_disagrees_with_the_file_name_is_refused(tmp_path):
    (tmp_path / "dev.json").write_text(json.dumps({**BASE, "env": "prod"}))
    with pytest.raises(ConfigError, match=r"env is 'prod', expected 'dev'"):
        load(None, path=tmp_path / "dev.json")


@pytest.mark.parametrize("account", ["12345678901", "1234567890123", "12345678901a", "", 123456789012])
def test_an_account_must_be_twelve_digits(account):
    with pytest.raises(ConfigError, match="account"):
        parse({**BASE, "account": account}, "test")


@pytest.mark.parametrize(
    ("key", "default"),
    [
        ("sessionMaxDurationHours", 2),
        ("connectionRefreshMinutes", 100),
        ("connectionWarningMinutes", 105),
        ("maxListenersPerSession", 500),
        ("dataRetentionHours", 12),
        ("maxActiveSessions", 100),
        ("rateLimitSessionsPerHour", 50),
        ("rateLimitListenerJoinsPerMin", 10),
        ("rateLimitConnectionAttemptsPerMin", 20),
        ("rateLimitHeartbeatsPerMin", 2),
    ],
)
def test_every_optional_field_of_the_guide_is_accepted_with_its_default(key, default):
    """The guide's and the staging report's optional fields, at the values they document."""
    config = parse({**BASE, key: default}, "test")
    assert getattr(config, re.sub(r"[A-Z]", lambda m: "_" + m.group().lower(), key)) == default


def test_the_guides_example_config_synthesizes_pinned_to_its_account(tmp_path):
    """`cdk synth -c configFile=.../dev.json`: the stage from the file name, the account from the file."""
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    import app as cdk_app

    (tmp_path / "layer" / "python").mkdir(parents=True)
    context = {"layerPath": str(tmp_path / "layer"), "configFile": str(GUIDE_CONFIG)}
    stack = cdk_app.build(cdk.App(builtin_cloud_formation_validation=False, context=context))
    assert stack.stack_name == "SessionManagement-dev"
    assert (stack.account, stack.region) == (PLACEHOLDER_ACCOUNT, "us-east-1")
    functions = Template.from_stack(stack).find_resources("AWS::Lambda::Function")
    assert functions and all(
        f["Properties"]["Environment"]["Variables"]["ENV_NAME"] == "dev" for f in functions.values()
    )


def test_synth_refuses_an_env_key_that_disagrees_with_the_stage(tmp_path):
    import aws_cdk as cdk

    import app as cdk_app

    (tmp_path / "dev.json").write_text(json.dumps({**json.loads(GUIDE_CONFIG.read_text()), "env": "staging"}))
    context = {"env": "dev", "layerPath": str(tmp_path), "configFile": str(tmp_path / "dev.json")}
    with pytest.raises(ConfigError, match="expected 'dev'"):
        cdk_app.build(cdk.App(builtin_cloud_formation_validation=False, context=context))

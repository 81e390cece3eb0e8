"""One source for each setting: the stage config, the template's function environment and `Settings` agree.

Each tunable is defined once (`session_management.config.Tunables`). These tests synthesize the
template from several stage configs and prove that what the config says reaches every function
that reads it, with the value the config gives, and that `Settings` reads it back unchanged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import MISSING, fields
from pathlib import Path

import pytest

from session_infrastructure.config import CONFIG_DIR, SCHEMA_PATH, StageConfig, parse
from session_management import config as settings
from session_management import resource_names as names
from tests.infrastructure.conftest import example_config, synthesize_config

SCHEMA = json.loads(SCHEMA_PATH.read_text())
JSON_TYPES = {int: "integer", float: "number"}
REQUIRED_ONLY = {"env": "dev", "cognitoUserPoolId": "us-east-1_abc", "cognitoClientId": "client"}
# Read by Powertools rather than by `Settings`.
POWERTOOLS_VARIABLES = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "LOG_LEVEL"}
ARCHITECTURE = Path(__file__).resolve().parents[2] / "docs" / "ARCHITECTURE.md"


def every_tunable_changed() -> dict:
    """A config in which every tunable differs from its default, so a value ignored on the way shows."""
    raw = {**REQUIRED_ONLY, "env": "knobs", "logLevel": "DEBUG"}
    for tunable in fields(settings.Tunables):
        default = getattr(settings.TUNABLE_DEFAULTS, tunable.name)
        changed = default + 1 if settings.TUNABLE_TYPES[tunable.name] is int else default * 0.75
        raw[settings.stage_config_key(tunable.name)] = changed
    return raw


CONFIGS = {
    "schema defaults": REQUIRED_ONLY,
    "every tunable changed": every_tunable_changed(),
    "local": json.loads((CONFIG_DIR / "local.json").read_text()),
    "e2e": json.loads((CONFIG_DIR / "e2e.json").read_text()),
    **{f"{env} example": example_config(env) for env in ("dev", "staging", "prod")},
}


class RecordingEnvironment(Mapping[str, str]):
    """A function's environment that notes every variable asked for, set or not."""

    def __init__(self, variables: Mapping[str, str]) -> None:
        self.variables = dict(variables)
        self.asked: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.asked.add(name)
        return self.variables[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.variables)

    def __len__(self) -> int:
        return len(self.variables)


def variables_settings_reads() -> set[str]:
    environment = RecordingEnvironment({})
    settings.read_settings(environment)
    return environment.asked


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory, templates):
    """Each config's raw JSON, its parsed StageConfig and the template it synthesizes."""
    from aws_cdk.assertions import Template

    layer_dir = tmp_path_factory.mktemp("layer")
    built = {}
    for label, raw in CONFIGS.items():
        if label in ("dev example", "prod example"):  # the suite's own templates
            template = templates[raw["env"]]
        else:
            template = Template.from_stack(synthesize_config(raw, layer_dir, tmp_path_factory.mktemp("config")))
        built[label] = (raw, parse(raw, label), template.to_json())
    return built


def function_environments(template: dict, env: str) -> dict[str, dict]:
    """Function key -> its variables, with the tables' `Ref`s resolved to their physical names."""
    resources = template["Resources"]
    keys = {names.function_name(key, env): key for key in names.FUNCTION_BASE_NAMES}

    def resolve(value):
        if isinstance(value, dict) and set(value) == {"Ref"}:
            return resources[value["Ref"]]["Properties"]["TableName"]
        return value

    environments = {}
    for resource in resources.values():
        if resource["Type"] == "AWS::Lambda::Function":
            props = resource["Properties"]
            key = keys[props["FunctionName"]]
            environments[key] = {k: resolve(v) for k, v in props["Environment"]["Variables"].items()}
    return environments


def test_the_schema_describes_every_stage_config_field_with_the_one_default():
    properties = SCHEMA["properties"]
    assert set(properties) == {settings.stage_config_key(f.name) for f in fields(StageConfig)}
    for field in fields(StageConfig):
        key = settings.stage_config_key(field.name)
        if field.default is MISSING:
            assert key in SCHEMA["required"], key
        else:
            assert properties[key]["default"] == field.default, key
    for tunable in fields(settings.Tunables):
        key = settings.stage_config_key(tunable.name)
        assert properties[key]["type"] == JSON_TYPES[settings.TUNABLE_TYPES[tunable.name]], key


@pytest.mark.parametrize("label", sorted(CONFIGS))
def test_every_variable_settings_reads_is_set_on_every_function_that_reads_it(synthesized, label):
    _, config, template = synthesized[label]
    environments = function_environments(template, config.env)
    assert set(environments) == set(names.FUNCTION_BASE_NAMES)
    # The Lambda runtime sets the region; the template may not (Lambda reserves AWS_REGION).
    read = variables_settings_reads() - {settings.AWS_REGION, settings.AWS_DEFAULT_REGION}
    per_function = {settings.WEBSOCKET_MANAGEMENT_ENDPOINT: settings.WEBSOCKET_MANAGEMENT_ENDPOINT_FUNCTIONS}
    for key, variables in environments.items():
        expected = {name for name in read if key in per_function.get(name, names.FUNCTION_BASE_NAMES)}
        assert expected <= set(variables), (key, sorted(expected - set(variables)))
        # Nothing set that nobody reads.
        assert set(variables) <= read | POWERTOOLS_VARIABLES, (key, sorted(set(variables) - read))
        assert settings.AWS_REGION not in variables


@pytest.mark.parametrize("label", sorted(CONFIGS))
def test_every_stage_config_knob_reaches_the_environment_with_the_configs_value(synthesized, label):
    raw, config, template = synthesized[label]
    for key, variables in function_environments(template, config.env).items():
        for tunable in fields(settings.Tunables):
            config_key = settings.stage_config_key(tunable.name)
            given = raw.get(config_key, SCHEMA["properties"][config_key]["default"])
            assert variables[settings.environment_variable(tunable.name)] == str(given), (key, config_key)
        assert variables["LOG_LEVEL"] == raw.get("logLevel", SCHEMA["properties"]["logLevel"]["default"])
        # What the function's Settings make of it, with the region the Lambda runtime adds.
        read = settings.read_settings({**variables, settings.AWS_REGION: config.region})
        for tunable in fields(settings.Tunables):
            assert getattr(read, tunable.name) == getattr(config, tunable.name), (key, tunable.name)
        assert (read.env_name, read.region) == (config.env, config.region)
        assert (read.cognito_user_pool_id, read.cognito_client_id) == (
            config.cognito_user_pool_id,
            config.cognito_client_id,
        )
        assert (read.sessions_table, read.connections_table, read.rate_limits_table) == (
            names.sessions_table(config.env),
            names.connections_table(config.env),
            names.rate_limits_table(config.env),
        )
        assert read.cognito_issuer == config.cognito_issuer


def test_settings_without_an_environment_take_the_one_default():
    read = settings.read_settings({})
    for tunable in fields(settings.Tunables):
        assert getattr(read, tunable.name) == getattr(settings.TUNABLE_DEFAULTS, tunable.name)
    assert read.sessions_table == names.sessions_table(read.env_name)


def test_the_architecture_page_lists_every_variable_with_its_default():
    section = ARCHITECTURE.read_text().split("## Environment variables", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", section))
    assert variables_settings_reads() - {settings.AWS_DEFAULT_REGION} <= documented
    assert documented >= POWERTOOLS_VARIABLES
    for tunable in fields(settings.Tunables):
        default = getattr(settings.TUNABLE_DEFAULTS, tunable.name)
        assert f"`{settings.environment_variable(tunable.name)}` ({default})" in section, tunable.name

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


CONFIG_DIR = Path(__file__).resolve().parents[2] / "infrastructure" / "config"
ALARM_EMAIL = "oncall@example.com"


def example_config(env: str) -> dict:
    """The committed example, as an operator would fill it in (prod needs its alarm email).

    The examples name no env (their file name does); it is added here as the loader resolves it.
    """
    raw = {**json.loads((CONFIG_DIR / f"{env}.json.example").read_text()), "env": env}
    if env in ("staging", "prod"):
        raw["alarmEmail"] = ALARM_EMAIL
    return raw


def synthesize_config(raw: dict, layer_dir: Path, config_dir: Path):
    """The stack `cdk synth -c env=... -c configFile=...` builds from this stage config."""
    import aws_cdk as cdk

    import app as cdk_app

    (layer_dir / "python").mkdir(parents=True, exist_ok=True)
    path = config_dir / f"{raw['env']}.json"
    path.write_text(json.dumps(raw))
    context = {"env": raw["env"], "layerPath": str(layer_dir), "configFile": str(path)}
    app = cdk.App(builtin_cloud_formation_validation=False, context=context)
    return cdk_app.build(app)


def synthesize_stack(env: str, layer_dir: Path, config_dir: Path):
    return synthesize_config(example_config(env), layer_dir, config_dir)


@pytest.fixture(scope="session")
def stacks(tmp_path_factory: pytest.TempPathFactory):
    layer_dir = tmp_path_factory.mktemp("layer")
    config_dir = tmp_path_factory.mktemp("config")
    return {env: synthesize_stack(env, layer_dir, config_dir) for env in ("dev", "prod")}


@pytest.fixture(scope="session")
def templates(stacks):
    from aws_cdk.assertions import Template

    return {env: Template.from_stack(stack) for env, stack in stacks.items()}

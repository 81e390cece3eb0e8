from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "infrastructure"))


CONFIG_DIR = Path(__file__).resolve().parents[2] / "infrastructure" / "config"
ALARM_EMAIL = "oncall@example.com"


def stage_config_file(env: str, directory: Path) -> Path:
    """The committed example, as an operator would fill it in (prod needs its alarm email)."""
    raw = json.loads((CONFIG_DIR / f"{env}.json.example").read_text())
    if env in ("staging", "prod"):
        raw["alarmEmail"] = ALARM_EMAIL
    path = directory / f"{env}.json"
    path.write_text(json.dumps(raw))
    return path


def synthesize_stack(env: str, layer_dir: Path, config_dir: Path):
    import aws_cdk as cdk

    import app as cdk_app

    (layer_dir / "python").mkdir(parents=True, exist_ok=True)
    context = {"env": env, "layerPath": str(layer_dir), "configFile": str(stage_config_file(env, config_dir))}
    app = cdk.App(builtin_cloud_formation_validation=False, context=context)
    return cdk_app.build(app)


@pytest.fixture(scope="session")
def stacks(tmp_path_factory: pytest.TempPathFactory):
    layer_dir = tmp_path_factory.mktemp("layer")
    config_dir = tmp_path_factory.mktemp("config")
    return {env: synthesize_stack(env, layer_dir, config_dir) for env in ("dev", "prod")}


@pytest.fixture(scope="session")
def templates(stacks):
    from aws_cdk.assertions import Template

    return {env: Template.from_stack(stack) for env, stack in stacks.items()}

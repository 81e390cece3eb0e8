from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "infrastructure"))


def synthesize(env: str, layer_dir: Path):
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    import app as cdk_app

    (layer_dir / "python").mkdir(parents=True, exist_ok=True)
    app = cdk.App(builtin_cloud_formation_validation=False, context={"env": env, "layerPath": str(layer_dir)})
    stack = cdk_app.build(app)
    return Template.from_stack(stack)


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory):
    layer_dir = tmp_path_factory.mktemp("layer")
    return {env: synthesize(env, layer_dir) for env in ("dev", "prod")}

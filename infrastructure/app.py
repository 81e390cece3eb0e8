"""CDK app entry point: `cdk synth -c env=dev|staging|prod|local` builds stack SessionManagement-{env}.

`-c configFile=path` reads the stage config from elsewhere (staging and prod configs are not committed).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import aws_cdk as cdk

from session_infrastructure import config as stage_config
from session_infrastructure.functions import DEFAULT_LAYER_DIR
from session_infrastructure.stack import SessionManagementStack


def build(app: cdk.App) -> SessionManagementStack:
    env_name = app.node.try_get_context("env") or "dev"
    config_file = app.node.try_get_context("configFile")
    config = stage_config.load(env_name, path=Path(config_file) if config_file else None)
    layer_dir = Path(app.node.try_get_context("layerPath") or DEFAULT_LAYER_DIR)
    account = os.environ.get("CDK_DEFAULT_ACCOUNT")
    return SessionManagementStack(
        app,
        f"SessionManagement-{env_name}",
        config=config,
        layer_dir=layer_dir,
        env=cdk.Environment(account=account, region=config.region),
        description=f"Session management ({env_name}): WebSocket API, Lambda handlers, DynamoDB state",
    )


def main() -> None:
    # Built-in template validation costs most of synth time and needs no running here.
    app = cdk.App(builtin_cloud_formation_validation=False)
    build(app)
    app.synth()


if __name__ == "__main__":
    main()

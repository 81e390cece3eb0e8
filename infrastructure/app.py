"""CDK app entry point: `cdk synth -c env=dev|staging|prod|local` builds stack SessionManagement-{env}.

`-c configFile=path` reads the stage config from elsewhere (staging and prod configs are not committed);
without `-c env=` the stage is that file's name (`.../prod.json` is prod). The config's `account`
pins the stack's environment, so CDK itself will not deploy it with another account's credentials.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# The CDK code and the names and settings it shares with the functions (services/session_management).
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1] / "services"))

import aws_cdk as cdk

from session_infrastructure import config as stage_config
from session_infrastructure.functions import DEFAULT_LAYER_DIR
from session_infrastructure.stack import SessionManagementStack
from session_management import resource_names as names


def build(app: cdk.App) -> SessionManagementStack:
    config_file = app.node.try_get_context("configFile")
    env_context = app.node.try_get_context("env") or (None if config_file else "dev")
    config = stage_config.load(env_context, path=Path(config_file) if config_file else None)
    env_name = config.env
    layer_dir = Path(app.node.try_get_context("layerPath") or DEFAULT_LAYER_DIR)
    # Stages without an account (local, e2e) synthesize for whatever account the CLI resolves.
    account = config.account or os.environ.get("CDK_DEFAULT_ACCOUNT")
    return SessionManagementStack(
        app,
        names.stack_name(env_name),
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

"""Everything the model takes from the rest of the repository, in one place.

Other suites are being restructured; when `tests/support`, `tests/e2e` or `local_stack` move, only
the imports below change (the model itself never imports from elsewhere).
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from local_stack import cli
from local_stack.processes import ROOT
from local_stack.supervisor import LocalStackOptions
from session_management import contracts
from session_management import resource_names as names
from stage_access import rules, tokens
from tests.support.clients import local_client
from tests.support.stack_state import stack_process
from tests.support.websocket_client import GATEWAY_FRAME_KEYS, Client, HandshakeRefused

__all__ = [
    "GATEWAY_FRAME_KEYS",
    "ROOT",
    "Client",
    "HandshakeRefused",
    "contracts",
    "dynamodb_paused",
    "local_client",
    "run_job",
    "speaker_token",
    "start_stack",
    "stop_stack",
]

ENV = "e2e"
TABLES = {
    "sessions": names.sessions_table(ENV),
    "connections": names.connections_table(ENV),
    "rate_limits": names.rate_limits_table(ENV),
}
JOB_RULE = names.periodic_job_rule(ENV)
_STAGE_CONFIG = json.loads((ROOT / "infrastructure" / "config" / f"{ENV}.json").read_text())
EXISTENCE_ANSWERS_PER_MINUTE = int(_STAGE_CONFIG["rateLimitListenerJoinsPerMin"])
# The e2e stage (infrastructure/config/e2e.json), in seconds: what the model's clock rules aim at.
REFRESH_SECONDS = 0.1 * 60
WARNING_SECONDS = 0.15 * 60
CONNECTION_LIMIT_SECONDS = 0.005 * 3600  # API Gateway's 2 hours, scaled like sessionMaxDurationHours
SESSION_LIFETIME_SECONDS = float(_STAGE_CONFIG["sessionMaxLifetimeHours"]) * 3600
GRACE_SECONDS = 3.0
HEARTBEAT_TIMEOUT_SECONDS = 5.0
MAX_LISTENERS = 500
MAX_ACTIVE_SESSIONS = 100
SESSIONS_PER_HOUR = 50


def start_stack(state_dir: Path) -> dict[str, Any]:
    """A stage-`e2e` stack of the model's own (as tests/lifecycle/conftest.py starts one). The
    periodic job runs only when a rule triggers it; the gateway closes connections at 18 s."""
    options = LocalStackOptions(
        state_dir=str(state_dir),
        env=ENV,
        assembly_dir=str(ROOT / "cdk.out-e2e"),
        lambda_concurrency=1,
        gateway_overrides={
            "maxConnectionSeconds": CONNECTION_LIMIT_SECONDS,
            "scheduleTimeScale": 1_000_000,  # never on its own: the run_job rule triggers it
        },
    )
    return cli.start(options)


def stop_stack(state_dir: Path) -> None:
    cli.stop(state_dir)


def speaker_token(stack: dict[str, Any], user: str) -> str:
    return tokens.speaker_token(stack, user)


def run_job(stack: dict[str, Any]) -> dict[str, Any]:
    return rules.trigger_rule(stack, JOB_RULE)


@contextmanager
def dynamodb_paused(stack: dict[str, Any]) -> Iterator[None]:
    """DynamoDB Local frozen (SIGSTOP) until the block ends: requests hang, as in an outage."""
    process = stack_process(stack, "DynamoDBLocal")
    os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(process.pid, signal.SIGCONT)
        time.sleep(0.05)

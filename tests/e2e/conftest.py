"""One local stack for the whole end-to-end session, in its own state directory and ports, so a
developer's `make local-up` stack is never touched. The same tests can target another running
stack (LocalStack, a deployed stage) through E2E_STACK_JSON."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_stack import cli
from local_stack.supervisor import LocalStackOptions
from tests.support.clients import local_client
from tests.support.event_shapes import validate_recorded_events


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    external = os.environ.get("E2E_STACK_JSON")
    if external:
        yield json.loads(Path(external).read_text())
        return
    state_dir = tmp_path_factory.mktemp("local-stack")
    events = state_dir / "events.jsonl"
    options = LocalStackOptions(
        state_dir=str(state_dir), lambda_concurrency=6, gateway_overrides={"recordEventsFile": str(events)}
    )
    stack = cli.start(options)
    try:
        yield stack
    finally:
        cli.stop(state_dir)
    # Every event this suite made the gateway produce must match Powertools' models.
    assert validate_recorded_events(events) > 0


@pytest.fixture(scope="session")
def dynamodb(stack: dict[str, Any]) -> Any:
    return local_client(stack, "dynamodb")


@pytest.fixture(scope="session")
def tables(stack: dict[str, Any]) -> dict[str, str]:
    env = stack["env"]
    return {
        "sessions": f"Sessions-{env}",
        "connections": f"Connections-{env}",
        "rate_limits": f"RateLimits-{env}",
    }


@pytest.fixture(scope="session")
def speaker_token(stack: dict[str, Any]) -> str:
    return cli.speaker_token(stack, "e2e-speaker")

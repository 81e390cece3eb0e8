"""The lifecycle suite runs stage `e2e`: the real template, synthesized from infrastructure/config/e2e.json,
whose timings are seconds (refresh at 6 s, warning at 9 s, 18 s connection limit, 3 s reconnect grace,
5 s heartbeat timeout). The periodic job runs when a test triggers it, so every test awaits events."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from local_stack import cli
from local_stack.processes import ROOT
from local_stack.supervisor import LocalStackOptions
from tests.support.clients import local_client
from tests.support.event_shapes import validate_recorded_events

CONNECTION_LIMIT_SECONDS = 0.005 * 3600
# Each test speaks from addresses of its own, so per-address limits never couple tests.
_addresses = (f"127.0.{a}.{b}" for a, b in itertools.product(range(1, 250), range(2, 250)))


@pytest.fixture
def ip() -> str:
    return next(_addresses)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    state_dir = tmp_path_factory.mktemp("lifecycle-stack")
    events = state_dir / "events.jsonl"
    options = LocalStackOptions(
        state_dir=str(state_dir),
        env="e2e",
        assembly_dir=str(ROOT / "cdk.out-e2e"),
        lambda_concurrency=6,
        gateway_overrides={
            "recordEventsFile": str(events),
            "maxConnectionSeconds": CONNECTION_LIMIT_SECONDS,
            "scheduleTimeScale": 1_000_000,  # never on its own: tests trigger the job
        },
    )
    stack = cli.start(options)
    try:
        yield stack
    finally:
        cli.stop(state_dir)
    assert validate_recorded_events(events) > 0


@pytest.fixture(scope="session")
def dynamodb(stack: dict[str, Any]) -> Any:
    return local_client(stack, "dynamodb")


@pytest.fixture(scope="session")
def token(stack: dict[str, Any]) -> str:
    return cli.speaker_token(stack, "lifecycle-speaker")


@pytest.fixture(scope="session")
def other_token(stack: dict[str, Any]) -> str:
    return cli.speaker_token(stack, "another-speaker")


def run_job(stack: dict[str, Any]) -> dict[str, Any]:
    return cli.trigger_rule(stack, "session-periodic-job-e2e")

"""The lifecycle suite runs stage `e2e`: the real template, synthesized from infrastructure/config/e2e.json,
whose timings are seconds (refresh at 6 s, warning at 9 s, 18 s connection limit, 3 s reconnect grace,
5 s heartbeat timeout). The periodic job runs when a test triggers it, so every test awaits events."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from stage_access import tokens as stage_tokens
from tests.support.clients import local_client
from tests.support.stack_state import table_names
from tests.support.stacks import E2E_ASSEMBLY_DIR, started_stack

CONNECTION_LIMIT_SECONDS = 0.005 * 3600
# Each test speaks from addresses of its own, so per-address limits never couple tests.
_addresses = (f"127.0.{a}.{b}" for a, b in itertools.product(range(1, 250), range(2, 250)))


@pytest.fixture
def ip() -> str:
    return next(_addresses)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with started_stack(
        tmp_path_factory.mktemp("lifecycle-stack"),
        record_events=True,
        env="e2e",
        assembly_dir=str(E2E_ASSEMBLY_DIR),
        lambda_concurrency=6,
        gateway_overrides={
            "maxConnectionSeconds": CONNECTION_LIMIT_SECONDS,
            "scheduleTimeScale": 1_000_000,  # never on its own: tests trigger the job
        },
    ) as started:
        yield started


@pytest.fixture(scope="session")
def dynamodb(stack: dict[str, Any]) -> Any:
    return local_client(stack, "dynamodb")


@pytest.fixture  # per test: test_degradation.py runs a stack of its own
def tables(stack: dict[str, Any]) -> dict[str, str]:
    return table_names(stack["env"])


@pytest.fixture(scope="session")
def token(stack: dict[str, Any]) -> str:
    return stage_tokens.speaker_token(stack, "lifecycle-speaker")


@pytest.fixture(scope="session")
def other_token(stack: dict[str, Any]) -> str:
    return stage_tokens.speaker_token(stack, "another-speaker")

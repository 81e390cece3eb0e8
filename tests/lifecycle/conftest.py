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
from tests.support.stacks import started_e2e_stack

CONNECTION_LIMIT_SECONDS = 0.005 * 3600
# Each test speaks from addresses of its own, so per-address limits never couple tests.
_addresses = (f"127.0.{a}.{b}" for a, b in itertools.product(range(1, 250), range(2, 250)))


@pytest.fixture
def ip() -> str:
    return next(_addresses)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with started_e2e_stack(
        tmp_path_factory.mktemp("lifecycle-stack"),
        record_events=True,
        lambda_concurrency=6,
        gateway_overrides={"maxConnectionSeconds": CONNECTION_LIMIT_SECONDS},  # the stage's 18 s, not 2 h
    ) as started:
        yield started


# Per module, not per session: a module with a stack of its own (test_scale.py, test_degradation.py)
# overrides `stack` alone and gets these for it.
@pytest.fixture(scope="module")
def dynamodb(stack: dict[str, Any]) -> Any:
    return local_client(stack, "dynamodb")


@pytest.fixture  # per test: test_degradation.py runs a stack of its own
def tables(stack: dict[str, Any]) -> dict[str, str]:
    return table_names(stack["env"])


@pytest.fixture(scope="module")
def token(stack: dict[str, Any]) -> str:
    return stage_tokens.speaker_token(stack, "lifecycle-speaker")


@pytest.fixture(scope="module")
def other_token(stack: dict[str, Any]) -> str:
    return stage_tokens.speaker_token(stack, "another-speaker")

"""The fixtures of a suite that runs against stage `local`: the synthesized `cdk.out` template
on a stack of the suite's own, or another running stack (LocalStack, a deployed stage) named by
E2E_STACK_JSON.

A suite's conftest imports these names; pytest then gives that suite its own instance, so the
e2e and reliability suites never share a stack (nor a speaker's hourly creation limit)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stage_access import tokens as stage_tokens
from tests.support.clients import local_client
from tests.support.stack_state import table_names
from tests.support.stacks import started_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    external = os.environ.get("E2E_STACK_JSON")
    if external:
        yield json.loads(Path(external).read_text())
        return
    # Every event the suite makes the gateway produce must match Powertools' models.
    with started_stack(tmp_path_factory.mktemp("local-stack"), record_events=True, lambda_concurrency=6) as started:
        yield started


@pytest.fixture(scope="session")
def dynamodb(stack: dict[str, Any]) -> Any:
    return local_client(stack, "dynamodb")


@pytest.fixture(scope="session")
def tables(stack: dict[str, Any]) -> dict[str, str]:
    return table_names(stack["env"])


@pytest.fixture(scope="session")
def speaker_token(stack: dict[str, Any]) -> str:
    return stage_tokens.speaker_token(stack, "e2e-speaker")

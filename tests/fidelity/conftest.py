"""Two probe stacks: one with AWS's defaults, one with a token identity source, compressed timings
and a tight stage throttle. Both record every event for the Powertools shape check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_stack import cli
from local_stack.supervisor import LocalStackOptions
from tests.fidelity import probe_stack
from tests.support.clients import local_client
from tests.support.event_shapes import validate_recorded_events


def _start(base: Path, **build_args: Any) -> Iterator[dict[str, Any]]:
    assembly = base / "assembly"
    config = probe_stack.build(assembly, **build_args.pop("template", {}))
    events = base / "events.jsonl"
    options = LocalStackOptions(
        state_dir=str(base / "state"),
        assembly_dir=str(assembly),
        stack=probe_stack.STACK_NAME,
        stage_config_file=str(config),
        lambda_concurrency=4,
        warm_functions=False,
        gateway_overrides={"recordEventsFile": str(events), **build_args.pop("overrides", {})},
    )
    stack = cli.start(options)
    try:
        yield stack
    finally:
        cli.stop(base / "state")
    assert validate_recorded_events(events) > 0


@pytest.fixture(scope="session")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    yield from _start(tmp_path_factory.mktemp("probe"), overrides={"scheduleTimeScale": 0.01})


@pytest.fixture(scope="session")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    yield from _start(
        tmp_path_factory.mktemp("strict"),
        template={"identity_source": "route.request.querystring.token", "throttle": (2, 2)},
        overrides={"idleTimeoutSeconds": 1.5, "maxConnectionSeconds": 3, "scheduleTimeScale": 1000},
    )


@pytest.fixture(scope="session")
def probe_table(probe: dict[str, Any]) -> Any:
    return local_client(probe, "dynamodb")

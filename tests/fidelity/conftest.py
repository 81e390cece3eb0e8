"""Four probe stacks: one with AWS's defaults; one with a token identity source; one with a tight
stage throttle (which every route, `$connect` included, draws on, so it is kept from the others'
handshakes); one whose connections live seconds (idle timeout and hard limit compressed), kept
apart so a slow cold start on a busy machine cannot close the other stacks' connections mid-test.
The first two record every event for the Powertools shape check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.clients import local_client
from tests.support.probe_stack import started_probe_stack


@pytest.fixture(scope="session")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with started_probe_stack(
        tmp_path_factory.mktemp("probe"),
        record_events=True,
        lambda_concurrency=4,
        gateway_overrides={"scheduleTimeScale": 0.01},
    ) as stack:
        yield stack


@pytest.fixture(scope="session")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with started_probe_stack(
        tmp_path_factory.mktemp("strict"),
        template={"identity_source": "route.request.querystring.token"},
        record_events=True,
        lambda_concurrency=4,
    ) as stack:
        yield stack


@pytest.fixture(scope="session")
def throttled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with started_probe_stack(
        tmp_path_factory.mktemp("throttled"),
        template={"identity_source": "route.request.querystring.token", "throttle": (2, 2)},
        lambda_concurrency=2,
    ) as stack:
        yield stack


@pytest.fixture(scope="session")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with started_probe_stack(
        tmp_path_factory.mktemp("short-lived"),
        template={"identity_source": "route.request.querystring.token"},
        lambda_concurrency=2,
        gateway_overrides={"idleTimeoutSeconds": 1.5, "maxConnectionSeconds": 3, "scheduleTimeScale": 1000},
    ) as stack:
        yield stack


@pytest.fixture(scope="session")
def probe_table(probe: dict[str, Any]) -> Any:
    return local_client(probe, "dynamodb")

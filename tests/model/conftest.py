"""The model's own stage-`e2e` stack (tests/model/harness.py), one per pytest session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.model import harness
from tests.model.machine import SessionModel


@pytest.fixture(scope="session")
def model_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    state_dir = tmp_path_factory.mktemp("model-stack")
    stack = harness.start_stack(state_dir)
    SessionModel.stack = stack
    try:
        yield stack
    finally:
        harness.stop_stack(state_dir)

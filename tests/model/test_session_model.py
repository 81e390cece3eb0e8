"""The stateful model of the session lifecycle against the real local stack (issue 12).

In `pytest tests` it runs about a minute and a half of steps with a fixed seed; `make model-test`
runs it alone for MODEL_MINUTES (default 5). Any broken invariant fails the test with the shrunk
sequence of steps, printed as a program that tests/model/replay.py replays."""

from __future__ import annotations

import os

import pytest

from tests.model import runner

pytestmark = pytest.mark.e2e

SHORT_RUN_MINUTES = 1.5


def test_session_invariants_hold_under_any_sequence_of_steps(model_stack):
    minutes = float(os.environ.get("MODEL_MINUTES") or SHORT_RUN_MINUTES)
    long_run = "MODEL_MINUTES" in os.environ
    runner.run(
        minutes=minutes,
        base_seed=int(os.environ.get("MODEL_SEED", "12")),
        steps=int(os.environ.get("MODEL_STEPS", "40" if long_run else "20")),
    )

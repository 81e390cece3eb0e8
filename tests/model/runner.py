"""Running the model seeded and bounded by wall-clock.

Hypothesis has no time limit, so the run is one hypothesis run (seed MODEL_SEED, as many examples
as fit) that the model stops when the time is spent: a new example then raises BudgetSpent before
it does anything, which ends the run; the runner recognises it and returns. An example that broke
an invariant is shrunk to the end regardless (examples are only stopped while nothing failed),
and printed as a program (`state = SessionModel()`, one line per step) followed by
`@reproduce_failure(...)`; the example database is off, so nothing carries over between runs.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis.internal.conjecture import engine
from hypothesis.stateful import get_state_machine_test

from tests.model.harness import ROOT
from tests.model.machine import SessionModel
from tests.model.progress import RUN, BudgetSpent

REPORT = ROOT / "reports" / "model" / "last-run.json"


def _spent(exc: BaseException | None) -> bool:
    while exc is not None:
        if isinstance(exc, BudgetSpent):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def run(minutes: float, base_seed: int, steps: int, report: Path = REPORT) -> None:
    """Examples until `minutes` have passed; raises (after printing the shrunk steps) on a broken invariant."""
    engine.MAX_SHRINKING_SECONDS = int(os.environ.get("MODEL_SHRINK_SECONDS", "300"))
    RUN.reset()
    RUN.deadline = time.monotonic() + minutes * 60
    test = get_state_machine_test(
        SessionModel,
        settings=settings(
            max_examples=1_000_000,
            stateful_step_count=steps,
            deadline=None,
            database=None,
            print_blob=True,
            phases=[Phase.generate, Phase.shrink, Phase.explain],
            suppress_health_check=list(HealthCheck),
        ),
    )
    seed(base_seed)(test)
    try:
        test()
    except BaseException as exc:
        if not (_spent(exc) and not RUN.failures):
            raise
    finally:
        RUN.deadline = None
        RUN.report(report)

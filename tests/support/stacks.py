"""The one way a test suite runs a local stack of its own: in its own state directory, on free
ports, stopped afterwards, so a developer's `make local-up` stack is never touched."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from local_stack import cli
from local_stack.supervisor import LocalStackOptions
from stage_access import rules
from tests.support.event_shapes import validate_recorded_events

ROOT = Path(__file__).resolve().parents[2]
# The real template synthesized for stage `local` (LocalStackOptions' default): `cdk synth -c env=local`.
LOCAL_ASSEMBLY_DIR = ROOT / "cdk.out"
# ...and for stage `e2e`, whose timings are seconds: `cdk synth -c env=e2e --output cdk.out-e2e`.
E2E_ASSEMBLY_DIR = ROOT / "cdk.out-e2e"


@contextmanager
def started_stack(
    state_dir: Path, *, record_events: bool = False, check_event_shapes: bool = True, **options: Any
) -> Iterator[dict[str, Any]]:
    """Start a stack (`options` are LocalStackOptions' fields) and yield its stack.json; stop it after.

    With `record_events` the gateway writes every event it sends to a function into the state
    directory (`stack_state.recorded_events_file`), where the privacy scan finds the connection
    ids; unless `check_event_shapes` is off, each event must then match Powertools' models, and
    there must be some."""
    overrides = dict(options.pop("gateway_overrides", {}))
    events = state_dir / "events.jsonl"
    if record_events:
        overrides["recordEventsFile"] = str(events)
    stack = cli.start(LocalStackOptions(state_dir=str(state_dir), gateway_overrides=overrides, **options))
    try:
        yield stack
    finally:
        cli.stop(state_dir)
    if record_events and check_event_shapes:
        assert validate_recorded_events(events) > 0


@contextmanager
def started_e2e_stack(state_dir: Path, **options: Any) -> Iterator[dict[str, Any]]:
    """A stack of the e2e template with API Gateway's real 2-hour connection limit, whose periodic
    job runs only when a test triggers it (`run_periodic_job`); `options` as for `started_stack`."""
    overrides = {"scheduleTimeScale": 1_000_000, **options.pop("gateway_overrides", {})}
    with started_stack(
        state_dir, env="e2e", assembly_dir=str(E2E_ASSEMBLY_DIR), gateway_overrides=overrides, **options
    ) as stack:
        yield stack


def run_periodic_job(stack: dict[str, Any]) -> dict[str, Any]:
    """One run of the session periodic job now, as its schedule would. A failed target (the
    function raised, timed out or returned what Lambda cannot marshal) fails the caller's test."""
    result = rules.trigger_rule(stack, f"session-periodic-job-{stack['env']}")
    assert not result.get("failedTargets"), result
    return result

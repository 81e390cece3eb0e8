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


def run_periodic_job(stack: dict[str, Any]) -> dict[str, Any]:
    """One run of the session periodic job now, as its schedule would. A failed target (the
    function raised, timed out or returned what Lambda cannot marshal) fails the caller's test."""
    result = rules.trigger_rule(stack, f"session-periodic-job-{stack['env']}")
    assert not result.get("failedTargets"), result
    return result

"""The master's script of a load run: ramp until every connection is held, hold steady, verify,
write the run's summary, stop.

It runs in the master (or the only Locust process) once the test starts; the workers only run
users. The summary (`run-<mode>.json`) is what the gates read for `connections reached` and what
`loadtests.run` hands to the drained-state check.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gevent

from loadtests import coordination, progress, verifier
from loadtests.scenario import Scenario
from stage_access.endpoints import StageEndpoints


@dataclass(frozen=True)
class Conductor:
    scenario: Scenario
    mode: str
    target: StageEndpoints
    report_dir: Path
    roster: coordination.Roster | None
    held_connections: Callable[[], int]

    def conduct(self, runner: Any) -> None:
        scenario = self.scenario
        expected = scenario.connections
        started = time.monotonic()
        phase = ["ramp"]  # the current phase; "done" ends the progress lines

        def line() -> str:
            elapsed = time.monotonic() - started
            remaining = scenario.max_run_seconds - elapsed
            return progress.progress_line(phase[0], self.held_connections(), expected, runner.stats, elapsed, remaining)

        path = progress.progress_file(self.report_dir, self.mode)
        gevent.spawn(progress.report_periodically, path, line, lambda: phase[0] == "done")
        ramp_deadline = started + max(30.0, scenario.max_run_seconds - scenario.steady_seconds - 60)
        while time.monotonic() < ramp_deadline and self.held_connections() < expected:
            gevent.sleep(1)
        steady_started = time.monotonic()
        held_at_steady = self.held_connections()
        runner.send_message(coordination.PHASE, {"phase": coordination.STEADY})
        phase[0] = "steady"
        gevent.sleep(scenario.steady_seconds)
        held_at_end = self.held_connections()
        phase[0] = "verify"
        roster = self.roster
        sessions = list(roster.sessions) if roster else []
        live = verifier.verify_live(self.target, sessions) if self.mode == "service" and self.target else None
        summary = {
            "scenario": scenario.name,
            "mode": self.mode,
            "expectedConnections": expected,
            "heldAtSteadyStart": held_at_steady,
            "heldAtSteadyEnd": held_at_end,
            "connectionsReached": min(held_at_steady, held_at_end),
            "rampSeconds": round(steady_started - started, 1),
            "steadySeconds": scenario.steady_seconds,
            "sessions": sessions,
            "listenersAssigned": dict(roster.assigned) if roster else {},
            "verifierLive": live,
        }
        self.report_dir.mkdir(parents=True, exist_ok=True)
        (self.report_dir / f"run-{self.mode}.json").write_text(json.dumps(summary, indent=2))
        phase[0] = "done"
        runner.quit()

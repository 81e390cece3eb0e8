"""The phases of one load run: the echo floor (if the scenario measures one), the service, then
the drained-state check; and the fresh local stack a local run starts for itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from loadtests import verifier
from loadtests.locust_process import run_locust
from loadtests.paths import ROOT
from loadtests.scenario import Scenario
from stage_access.endpoints import StageEndpoints


def start_floor(scenario: Scenario, report_dir: Path) -> tuple[list[subprocess.Popen[bytes]], dict[str, Any]]:
    from local_stack.processes import free_port, port_open, wait_until

    ports = [free_port("127.0.0.1") for _ in range(scenario.gateway_processes)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "loadtests.echo_floor", "--port", str(port)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=(report_dir / f"floor-server-{port}.log").open("wb"),
        )
        for port in ports
    ]
    wait_until(lambda: all(port_open(p, "127.0.0.1") for p in ports), timeout=20)
    urls = [f"ws://127.0.0.1:{port}/prod" for port in ports]
    return processes, {"kind": "floor", "websocketUrl": urls[0], "websocketUrls": urls}


def start_local_target(scenario: Scenario) -> tuple[dict[str, Any], Path]:
    from local_stack import cli
    from local_stack.supervisor import LocalStackOptions

    state_dir = ROOT / ".local" / f"load-{scenario.name}"
    cli.stop(state_dir)  # a fresh stack: sessions of an earlier run would count against maxActiveSessions
    # Every execution environment warm before the ramp, as provisioned concurrency would be.
    overrides: dict[str, Any] = {
        "scheduleTimeScale": scenario.schedule_time_scale,
        "warmEnvironments": scenario.lambda_concurrency,
    }
    if scenario.env == "e2e":
        overrides["maxConnectionSeconds"] = 0.005 * 3600  # the e2e stage's sessionMaxDurationHours
    options = LocalStackOptions(
        state_dir=str(state_dir),
        env=scenario.env,
        assembly_dir=str(ROOT / ("cdk.out-e2e" if scenario.env == "e2e" else "cdk.out")),
        gateway_processes=scenario.gateway_processes,
        lambda_concurrency=scenario.lambda_concurrency,
        gateway_overrides=overrides,
    )
    return cli.start(options), state_dir


def stop_local_target(state_dir: Path) -> None:
    from local_stack import cli

    cli.stop(state_dir)


def run_phases(
    scenario: Scenario,
    run_target: StageEndpoints,
    target_file: Path,
    report_dir: Path,
    workers: int,
    roots: list[int],
    floor: bool,
) -> None:
    """The floor (if the scenario measures one), then the service, then the drained-state check."""
    if scenario.floor and floor:
        floor_processes, floor_target = start_floor(scenario, report_dir)
        roots.extend(p.pid for p in floor_processes)
        floor_file = report_dir / "floor-target.json"
        floor_file.write_text(json.dumps(floor_target))
        try:
            run_locust(scenario, floor_file, report_dir, "floor", workers, roots)
        finally:
            for process in floor_processes:
                process.terminate()
    run_locust(scenario, target_file, report_dir, "service", workers, roots)
    summary_file = report_dir / "run-service.json"
    summary = json.loads(summary_file.read_text()) if summary_file.exists() else {}
    # Without the run's summary there is nothing to check, and nothing checked is not a pass.
    drained = verifier.verify_drained(run_target, summary["sessions"]) if summary.get("sessions") else None
    (report_dir / "verifier.json").write_text(
        json.dumps({"live": summary.get("verifierLive"), "drained": drained}, indent=2)
    )

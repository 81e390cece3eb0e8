"""Running Locust headless as a child process group, one phase (floor or service) at a time.

The locustfile reads its scenario, target and report directory from the environment set here;
with several processes the master binds a loopback port of its own, and every process of the
group is gone before the next phase starts.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from loadtests.paths import LOCUSTFILE, ROOT
from loadtests.progress import ProgressEcho, progress_file, wait_echoing
from loadtests.scenario import Scenario

MASTER_PORT_ATTEMPTS = 3


def run_locust(
    scenario: Scenario, target_file: Path, report_dir: Path, mode: str, workers: int, sampler_roots: list[int]
) -> int:
    users = scenario.connections
    prefix = "locust" if mode == "service" else "floor"
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(scenario.spawn_rate),
        "--run-time",
        f"{int(scenario.max_run_seconds)}s",
        "--stop-timeout",
        "15",
        "--csv",
        str(report_dir / prefix),
        "--html",
        str(report_dir / f"{prefix}.html"),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    user_classes = ["SpeakerUser", "ListenerUser"] if mode == "service" else ["ListenerUser"]
    environment = {
        **os.environ,
        "LOAD_SCENARIO": scenario.source,
        "LOAD_TARGET_FILE": str(target_file),
        "LOAD_REPORT_DIR": str(report_dir),
        "LOAD_MODE": mode,
        "LOAD_PROCESSES": str(workers),
        "GEVENT_RESOLVER": "block",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "services"), str(ROOT)]),
    }
    log_file = report_dir / f"{prefix}.log"
    for _ in range(MASTER_PORT_ATTEMPTS):
        attempt = command + _master_options(workers) + user_classes
        echo = ProgressEcho(progress_file(report_dir, mode), f"{prefix}:")
        status = _run_once(attempt, environment, log_file, scenario, sampler_roots, echo)
        # A free port can be taken between choosing it and binding it (the stack's servers start too).
        if "Socket bind failure" not in log_file.read_text(errors="replace"):
            return status
    return status


def _master_options(workers: int) -> list[str]:
    """A loopback port of its own: workers of an earlier invocation still shutting down must never join."""
    if workers <= 1:
        return []
    from local_stack.processes import free_port

    port = str(free_port("127.0.0.1"))
    return [
        "--processes",
        str(workers),
        "--master-bind-host",
        "127.0.0.1",
        "--master-bind-port",
        port,
        "--master-host",
        "127.0.0.1",
        "--master-port",
        port,
    ]


def _run_once(
    command: list[str],
    environment: dict[str, str],
    log_file: Path,
    scenario: Scenario,
    sampler_roots: list[int],
    echo: ProgressEcho,
) -> int:
    with log_file.open("w") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        sampler_roots.append(process.pid)
        try:
            status = wait_echoing(process, echo, timeout=scenario.max_run_seconds + 120)
            return -9 if status is None else status
        finally:
            _reap_group(process.pid)


def _reap_group(pgid: int, grace: float = 20.0) -> None:
    """Locust's forked workers can outlive their master; the next phase starts only when all are gone."""
    deadline = time.monotonic() + grace
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
        while time.monotonic() < deadline:
            os.killpg(pgid, 0)
            time.sleep(0.2)
        os.killpg(pgid, signal.SIGKILL)

"""One load run, start to verdict: target, floor, Locust, verifier, gates, report.

    python -m loadtests.run --target local --scale smoke
    python -m loadtests.run --target staging --scale full --workers 4

Writes reports/load/<stage>-<timestamp>/ (Locust's HTML and CSVs, run summaries, verifier.json,
resources.json, gates.json) and exits non-zero when any gate fails.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from loadtests import gates, target, verifier
from loadtests.scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent
REPORT_ROOT = ROOT / "reports" / "load"


def machine() -> dict[str, Any]:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        model = next(
            (line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if "model name" in line), ""
        )
    return {
        "cpus": os.cpu_count(),
        "cpuModel": model,
        "memoryGiB": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def git_commit() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def template_hash(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


class ResourceSampler:
    """CPU seconds and RSS of every process of the run (stack, floor, Locust), sampled every few
    seconds and grouped by role: one line per gateway, per Lambda function, DynamoDB Local, Locust."""

    def __init__(self, roots: list[int]) -> None:
        self.roots = roots
        self.samples: dict[int, tuple[str, float, float]] = {}  # pid -> (role, peak RSS MiB, CPU seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        self._thread.join(timeout=10)
        roles: dict[str, dict[str, Any]] = {}
        for role, rss, cpu in self.samples.values():
            entry = roles.setdefault(role, {"processes": 0, "peakRssMiBPerProcess": 0.0, "cpuSeconds": 0.0})
            entry["processes"] += 1
            entry["peakRssMiBPerProcess"] = round(max(entry["peakRssMiBPerProcess"], rss), 1)
            entry["cpuSeconds"] = round(entry["cpuSeconds"] + cpu, 1)
        return dict(sorted(roles.items()))

    @staticmethod
    def role(process: psutil.Process) -> str:
        command = process.cmdline()
        if "worker.py" in " ".join(command):
            return "lambda " + str(process.environ().get("AWS_LAMBDA_FUNCTION_NAME", "?"))
        if any("DynamoDBLocal" in part for part in command):
            return "dynamodb-local (java)"
        if "-m" in command:
            module = command[command.index("-m") + 1]
            if module == "local_stack.apigateway.server" and "--index" in command:
                return f"gateway {command[command.index('--index') + 1]}"
            return str(module)
        return " ".join(command[:2])[:60]

    def _run(self) -> None:
        while not self._stop.wait(3):
            for root in self.roots:
                try:
                    family = [psutil.Process(root), *psutil.Process(root).children(recursive=True)]
                except psutil.Error:
                    continue
                for process in family:
                    try:
                        previous = self.samples.get(process.pid)
                        role = previous[0] if previous else self.role(process)
                        rss = process.memory_info().rss / 2**20
                        times = process.cpu_times()
                    except psutil.Error:
                        continue
                    peak = max(previous[1], rss) if previous else rss
                    self.samples[process.pid] = (role, peak, times.user + times.system)


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
        str(ROOT / "loadtests" / "locustfile.py"),
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
        status = _run_once(attempt, environment, log_file, scenario, sampler_roots)
        # A free port can be taken between choosing it and binding it (the stack's servers start too).
        if "Socket bind failure" not in log_file.read_text(errors="replace"):
            return status
    return status


MASTER_PORT_ATTEMPTS = 3


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
    command: list[str], environment: dict[str, str], log_file: Path, scenario: Scenario, sampler_roots: list[int]
) -> int:
    with log_file.open("w") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        sampler_roots.append(process.pid)
        try:
            return process.wait(timeout=scenario.max_run_seconds + 120)
        except subprocess.TimeoutExpired:
            return -9
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


def run_phases(
    scenario: Scenario,
    run_target: dict[str, Any],
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a load scenario and evaluate its gates")
    parser.add_argument("--target", default="local", help="local, or a deployed stage (staging, prod)")
    parser.add_argument("--scale", default="smoke", help="scenario name or file: smoke, full, soak")
    parser.add_argument("--workers", type=int, help="Locust processes (default: the scenario's)")
    parser.add_argument("--report-root", type=Path, default=REPORT_ROOT)
    parser.add_argument("--no-floor", action="store_true", help="skip the echo-server floor run")
    args = parser.parse_args(argv)

    scenario = Scenario.load(args.scale)
    workers = args.workers or scenario.processes
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    report_dir = args.report_root / f"{args.target}-{stamp}"
    report_dir.mkdir(parents=True, exist_ok=True)
    shape = f"{scenario.sessions} x {scenario.listeners_per_session}"
    print(f"load run: scenario {scenario.name} ({shape}), target {args.target}, report {report_dir}")

    stack_dir: Path | None = None
    roots: list[int] = []
    if args.target == "local":
        stack, stack_dir = start_local_target(scenario)
        roots.append(int(stack["supervisorPid"]))
        run_target = target.from_local_stack(stack)
        template_digest = stack.get("templateHash")
    else:
        run_target = target.from_cloudformation(args.target)
        template_digest = template_hash(ROOT / "cdk.out" / f"SessionManagement-{args.target}.template.json")
    target_file = report_dir / "target.json"
    target_file.write_text(json.dumps(run_target, indent=2))
    metadata = {
        "scenario": scenario.name,
        "target": args.target,
        "commit": git_commit(),
        "deployedCommit": run_target.get("sourceCommit"),
        "templateHash": template_digest,
        "machine": machine(),
        "workers": workers,
        "startedAt": datetime.now(UTC).isoformat(),
    }
    sampler = ResourceSampler(roots)
    sampler.start()
    try:
        run_phases(scenario, run_target, target_file, report_dir, workers, roots, floor=not args.no_floor)
    finally:
        metadata["resources"] = sampler.stop()
        metadata["finishedAt"] = datetime.now(UTC).isoformat()
        if stack_dir is not None:
            from local_stack import cli

            cli.stop(stack_dir)
    thresholds = gates.load_thresholds(args.target)
    results = gates.evaluate(report_dir, thresholds, scenario.connections)
    aim_results = gates.aims(report_dir, thresholds)
    document = gates.write_gates_file(report_dir, args.target, results, aim_results, metadata)
    print(gates.render(results, aim_results, document["steps"]))
    print(f"\n{'PASSED' if document['passed'] else 'FAILED'}: {report_dir / 'gates.json'}")
    return 0 if document["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())

"""The local stack's supervisor: starts every part, waits until each is healthy, publishes the
endpoints in `stack.json`, and stops everything if any part dies (with the reason in `state.json`).

It runs detached in the background; `local_stack.cli` starts and stops it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from local_stack.cloudformation.template import StackTemplate
from local_stack.control_access import SECRET_FILE, new_secret
from local_stack.dynamodb import provisioning
from local_stack.dynamodb import server as dynamodb_server
from local_stack.iam.credentials import OWNER_CREDENTIALS_FILE, StackCredentials
from local_stack.layout import StackLayout, runtime_settings, stack_description
from local_stack.private_files import append_private_bytes, private_dir, write_private
from local_stack.processes import ROOT, free_port, port_open, wait_until
from local_stack.tls import ensure_certificates

log = logging.getLogger("local_stack.supervisor")


@dataclass
class LocalStackOptions:
    """What a local stack instance is; tests start their own with shorter timings and free ports."""

    state_dir: str = str(ROOT / ".local")
    env: str = "local"
    assembly_dir: str = str(ROOT / "cdk.out")
    host: str = "127.0.0.1"
    gateway_processes: int = 1
    # 0 takes a free port (the test suites' stacks); anything else is that port or a clear error.
    gateway_port: int = 0
    tls_port: int = 0
    dynamodb_port: int = 0
    cognito_port: int = 0
    proxy_port: int = 0
    lambda_concurrency: int = 8
    warm_functions: bool = True
    gateway_overrides: dict[str, Any] = field(default_factory=dict)
    # Fixture stacks (the fidelity tests) name their own template and stage config.
    stack: str | None = None
    stage_config_file: str | None = None
    # Fault tests: DynamoDB Local keeps its data on disk across a crash, and crashed parts are
    # restarted on the same ports (as a managed service recovers), instead of stopping the stack.
    dynamodb_data_dir: str | None = None
    restart_crashed: bool = False

    @property
    def stack_name(self) -> str:
        # The emulator runs any template and imports nothing of the product; this is the CDK app's
        # stack name (session_management.resource_names.stack_name), held to it by a unit test.
        return self.stack or f"SessionManagement-{self.env}"

    @classmethod
    def load(cls, state_dir: Path) -> LocalStackOptions:
        return cls(**json.loads((state_dir / "options.json").read_text()))

    def save(self) -> None:
        private_dir(Path(self.state_dir))
        write_private(Path(self.state_dir) / "options.json", json.dumps(asdict(self), indent=2).encode())


def _stage_config(options: LocalStackOptions) -> dict[str, Any]:
    path = Path(options.stage_config_file or ROOT / "infrastructure" / "config" / f"{options.env}.json")
    result: dict[str, Any] = json.loads(path.read_text())
    return result


class PortTaken(RuntimeError):
    """A fixed port the stack was told to use is held by something else."""


def _port(preferred: int, host: str, what: str) -> int:
    """`preferred`, or a free port when it is 0. A fixed port is never swapped for another silently:
    clients are configured with it, so a taken one stops the start, naming it."""
    if not preferred:
        return free_port(host)
    if port_open(preferred, host):
        raise PortTaken(
            f"{what} port {preferred} is already in use (another local stack, or another program); "
            "stop it, or choose other ports (see `make local-up` in the README)"
        )
    return preferred


class Supervisor:
    def __init__(self, options: LocalStackOptions) -> None:
        self.options = options
        self.state_dir = Path(options.state_dir)
        self.log_dir = self.state_dir / "logs"
        self.signing_keys_file = self.state_dir / "cognito-signing-keys.json"
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.commands: dict[str, list[str]] = {}
        self.stopping = False
        self.steps: list[str] = []

    def progress(self, step: str) -> None:
        """What the start is doing now, for `make local-up` to print while it waits (every step is
        kept, so a reader that polls slower than the steps go misses none)."""
        self.steps.append(step)
        self.write_state("starting")

    def write_state(self, status: str, **extra: Any) -> None:
        state = {"status": status, "pid": os.getpid(), "updatedAt": time.time(), "steps": self.steps, **extra}
        write_private(self.state_dir / "state.json", json.dumps(state, indent=2).encode())

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        logfile = append_private_bytes(self.log_dir / f"{name}.log")
        process = subprocess.Popen(
            command, stdout=logfile, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT
        )
        self.children[name] = process
        self.commands[name] = command
        return process

    def _require(self, ok: bool, what: str, log_name: str) -> None:
        if not ok:
            raise RuntimeError(f"{what} did not become healthy; see {self.log_dir / (log_name + '.log')}")

    def start(self) -> dict[str, Any]:
        """Start every part in dependency order; returns what `stack.json` publishes."""
        private_dir(self.log_dir)
        config = _stage_config(self.options)
        region = config.get("region", "us-east-1")
        template = StackTemplate.load(Path(self.options.assembly_dir), self.options.stack_name, region)
        layout = StackLayout(
            host=self.options.host,
            region=region,
            user_pool_id=config["cognitoUserPoolId"],
            client_id=config["cognitoClientId"],
            tls=ensure_certificates(self.state_dir / "tls"),
            log_dir=self.log_dir,
            signing_keys_file=self.signing_keys_file,
            control_secret=new_secret(),
            control_secret_file=self.state_dir / SECRET_FILE,
            credentials=StackCredentials.new(),
            credentials_file=self.state_dir / OWNER_CREDENTIALS_FILE,
        )
        write_private(layout.control_secret_file, layout.control_secret.encode())
        write_private(layout.credentials_file, layout.credentials.owner_file_content())
        self.progress("starting DynamoDB Local and Cognito")
        self._start_dynamodb(layout)
        self._start_cognito(layout)
        self._wait_healthy("DynamoDB Local", "dynamodb", layout.dynamodb_port, 60)
        self._wait_healthy("Cognito", "cognito", layout.cognito_port, 30)
        self.progress("creating the tables from the template")
        tables = self._provision_tables(layout, template)
        self._allocate_gateway_ports(layout)
        runtime_file = self._write_runtime_file(layout)
        self.progress("starting the DynamoDB IAM proxy")
        self._start_iam_proxy(layout, runtime_file)
        self.progress(f"starting {self.options.gateway_processes} gateway process(es) and warming the functions")
        self._start_gateways(layout, runtime_file)
        stack = stack_description(self.options.env, layout, tables, template.digest(), os.getpid())
        write_private(self.state_dir / "stack.json", json.dumps(stack, indent=2).encode())
        return stack

    def _start_dynamodb(self, layout: StackLayout) -> None:
        layout.dynamodb_port = _port(self.options.dynamodb_port, layout.host, "DynamoDB Local")
        data_dir = self.options.dynamodb_data_dir
        if data_dir:
            private_dir(Path(data_dir))
        self._spawn("dynamodb", dynamodb_server.command(layout.dynamodb_port, data_dir=data_dir))

    def _start_cognito(self, layout: StackLayout) -> None:
        layout.cognito_port = _port(self.options.cognito_port, layout.host, "Cognito")
        self._spawn(
            "cognito",
            [
                sys.executable,
                "-m",
                "local_stack.cognito.server",
                "--port",
                str(layout.cognito_port),
                "--region",
                layout.region,
                "--user-pool-id",
                layout.user_pool_id,
                "--client-id",
                layout.client_id,
                "--keys-file",
                str(self.signing_keys_file),
            ],
        )

    def _provision_tables(self, layout: StackLayout, template: StackTemplate) -> list[str]:
        import boto3

        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=f"http://{layout.host}:{layout.dynamodb_port}",
            region_name=layout.region,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - local only
        )
        return provisioning.provision(dynamodb, template)

    def _allocate_gateway_ports(self, layout: StackLayout) -> None:
        opts, host = self.options, layout.host
        layout.proxy_port = _port(opts.proxy_port, host, "DynamoDB proxy")
        count = opts.gateway_processes
        layout.plain_ports = [_port(opts.gateway_port and opts.gateway_port + i, host, "gateway") for i in range(count)]
        layout.tls_ports = [_port(opts.tls_port and opts.tls_port + i, host, "gateway TLS") for i in range(count)]

    def _write_runtime_file(self, layout: StackLayout) -> Path:
        """What the IAM proxy and the gateway processes read at start (`.local/runtime.json`)."""
        runtime_file = self.state_dir / "runtime.json"
        write_private(runtime_file, json.dumps(runtime_settings(self.options, layout), indent=2).encode())
        return runtime_file

    def _start_iam_proxy(self, layout: StackLayout, runtime_file: Path) -> None:
        self._spawn(
            "dynamodb-iam-proxy",
            [sys.executable, "-m", "local_stack.dynamodb.proxy_server", "--runtime-file", str(runtime_file)],
        )
        self._wait_healthy("IAM proxy", "dynamodb-iam-proxy", layout.proxy_port, 30)

    def _start_gateways(self, layout: StackLayout, runtime_file: Path) -> None:
        """All gateway processes start together; each is ready once its functions are warm."""
        for index in range(self.options.gateway_processes):
            command = [sys.executable, "-m", "local_stack.gateway_process", "--runtime-file", str(runtime_file)]
            self._spawn(f"gateway-{index}", [*command, "--index", str(index)])
        for index, port in enumerate(layout.plain_ports):

            def gateway_ready(port: int = port) -> bool:
                return self._alive() and _healthy(layout.host, port)

            self._require(wait_until(gateway_ready, 90), f"gateway {index}", f"gateway-{index}")

    def _wait_healthy(self, what: str, name: str, port: int, timeout: float) -> None:
        """Until the part listens on its port; a part that exits meanwhile fails the start at once."""
        self._require(wait_until(lambda: self._alive() and port_open(port, self.options.host), timeout), what, name)

    def _alive(self) -> bool:
        dead = {name: p.returncode for name, p in self.children.items() if p.poll() is not None}
        if dead:
            name, code = next(iter(dead.items()))
            raise RuntimeError(f"{name} exited with code {code}; see {self.log_dir / (name + '.log')}")
        return True

    def monitor(self) -> None:
        while not self.stopping:
            time.sleep(0.5)
            for name, process in list(self.children.items()):
                if process.poll() is not None and not self.stopping and self.options.restart_crashed:
                    logging.getLogger("local_stack").warning("%s exited (%s); restarting it", name, process.returncode)
                    self._spawn(name, self.commands[name])
                    continue
                if process.poll() is not None and not self.stopping:
                    self.write_state(
                        "failed",
                        reason=f"{name} exited with code {process.returncode}",
                        log=str(self.log_dir / f"{name}.log"),
                    )
                    self.stop()
                    return

    def stop(self) -> None:
        self.stopping = True
        for process in self.children.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 10
        for process in self.children.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
        (self.state_dir / "stack.json").unlink(missing_ok=True)


def _healthy(host: str, port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/__local/health", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description="Local stack supervisor")
    parser.add_argument("--state-dir", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    supervisor = Supervisor(LocalStackOptions.load(args.state_dir))

    def on_signal(*_: Any) -> None:
        supervisor.stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    supervisor.write_state("starting")
    try:
        stack = supervisor.start()
    except Exception as exc:
        log.exception("start failed")
        supervisor.write_state("failed", reason=str(exc))
        supervisor.stop()
        sys.exit(1)
    supervisor.write_state("ready", stack=stack)
    supervisor.monitor()
    if supervisor.stopping:
        supervisor.stop()
        state_file = args.state_dir / "state.json"
        state = json.loads(state_file.read_text()) if state_file.exists() else {}
        if state.get("status") != "failed":
            supervisor.write_state("stopped")


if __name__ == "__main__":
    main()

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
from local_stack.dynamodb import provisioning
from local_stack.dynamodb import server as dynamodb_server
from local_stack.processes import ROOT, free_port, port_open, wait_until
from local_stack.tls import ensure_certificates

log = logging.getLogger("local_stack.supervisor")

LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


@dataclass
class LocalStackOptions:
    """What a local stack instance is; tests start their own with shorter timings and free ports."""

    state_dir: str = str(ROOT / ".local")
    env: str = "local"
    assembly_dir: str = str(ROOT / "cdk.out")
    host: str = "127.0.0.1"
    gateway_processes: int = 1
    gateway_port: int = 0
    dynamodb_port: int = 0
    cognito_port: int = 0
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
        return self.stack or f"SessionManagement-{self.env}"

    @classmethod
    def load(cls, state_dir: Path) -> LocalStackOptions:
        return cls(**json.loads((state_dir / "options.json").read_text()))

    def save(self) -> None:
        Path(self.state_dir).mkdir(parents=True, exist_ok=True)
        (Path(self.state_dir) / "options.json").write_text(json.dumps(asdict(self), indent=2))


def _stage_config(options: LocalStackOptions) -> dict[str, Any]:
    path = Path(options.stage_config_file or ROOT / "infrastructure" / "config" / f"{options.env}.json")
    result: dict[str, Any] = json.loads(path.read_text())
    return result


def _port(preferred: int, host: str) -> int:
    return preferred if preferred and not port_open(preferred, host) else free_port(host)


class Supervisor:
    def __init__(self, options: LocalStackOptions) -> None:
        self.options = options
        self.state_dir = Path(options.state_dir)
        self.log_dir = self.state_dir / "logs"
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.commands: dict[str, list[str]] = {}
        self.stopping = False

    def _write_state(self, status: str, **extra: Any) -> None:
        state = {"status": status, "pid": os.getpid(), "updatedAt": time.time(), **extra}
        tmp = self.state_dir / "state.json.tmp"
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.state_dir / "state.json")

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        logfile = (self.log_dir / f"{name}.log").open("ab")
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
        opts = self.options
        self.log_dir.mkdir(parents=True, exist_ok=True)
        config = _stage_config(opts)
        region = config.get("region", "us-east-1")
        template = StackTemplate.load(Path(opts.assembly_dir), opts.stack_name, region)
        tls = ensure_certificates(self.state_dir / "tls")
        host = opts.host

        dynamodb_port = _port(opts.dynamodb_port, host)
        if opts.dynamodb_data_dir:
            Path(opts.dynamodb_data_dir).mkdir(parents=True, exist_ok=True)
        self._spawn("dynamodb", dynamodb_server.command(dynamodb_port, data_dir=opts.dynamodb_data_dir))
        cognito_port = _port(opts.cognito_port, host)
        pool_id, client_id = config["cognitoUserPoolId"], config["cognitoClientId"]
        self._spawn(
            "cognito",
            [
                sys.executable,
                "-m",
                "local_stack.cognito.server",
                "--port",
                str(cognito_port),
                "--region",
                region,
                "--user-pool-id",
                pool_id,
                "--client-id",
                client_id,
                "--keys-file",
                str(self.state_dir / "cognito-signing-keys.json"),
            ],
        )
        self._require(
            wait_until(lambda: self._alive() and port_open(dynamodb_port, host), 60),
            "DynamoDB Local",
            "dynamodb",
        )
        self._require(wait_until(lambda: self._alive() and port_open(cognito_port, host), 30), "Cognito", "cognito")

        import boto3

        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=f"http://{host}:{dynamodb_port}",
            region_name=region,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - local only
        )
        tables = provisioning.provision(dynamodb, template)

        proxy_port = free_port(host)
        plain_ports = [
            _port(opts.gateway_port + i if opts.gateway_port else 0, host) for i in range(opts.gateway_processes)
        ]
        tls_ports = [free_port(host) for _ in range(opts.gateway_processes)]
        function_env = {
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            **LOCAL_CREDENTIALS,
            "AWS_ENDPOINT_URL_DYNAMODB": f"http://{host}:{proxy_port}",
            "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER": f"http://{host}:{cognito_port}",
            "AWS_ENDPOINT_URL_LAMBDA": f"http://{host}:{plain_ports[0]}",
            "AWS_CA_BUNDLE": str(tls.ca_cert),
        }
        runtime = {
            "gateway": {
                "stackName": opts.stack_name,
                "region": region,
                "assemblyDir": str(Path(opts.assembly_dir).resolve()),
                "logDir": str(self.log_dir.resolve()),
                "host": host,
                "plainPorts": plain_ports,
                "tlsPorts": tls_ports,
                "certFile": str(tls.server_cert),
                "keyFile": str(tls.server_key),
                "functionEnv": function_env,
                "lambdaConcurrency": opts.lambda_concurrency,
                "warmFunctions": opts.warm_functions,
                # The HTTP API's JWT authorizer names the real Cognito issuer; its keys live here.
                "jwksUrls": {
                    f"https://cognito-idp.{region}.amazonaws.com/{pool_id}": (
                        f"http://{host}:{cognito_port}/{pool_id}/.well-known/jwks.json"
                    )
                },
                **opts.gateway_overrides,
            },
            "dynamodbProxy": {"port": proxy_port, "upstream": f"http://{host}:{dynamodb_port}"},
        }
        runtime_file = self.state_dir / "runtime.json"
        runtime_file.write_text(json.dumps(runtime, indent=2))
        self._spawn(
            "dynamodb-iam-proxy",
            [sys.executable, "-m", "local_stack.dynamodb.proxy_server", "--runtime-file", str(runtime_file)],
        )
        self._require(
            wait_until(lambda: self._alive() and port_open(proxy_port, host), 30),
            "IAM proxy",
            "dynamodb-iam-proxy",
        )
        for index in range(opts.gateway_processes):
            self._spawn(
                f"gateway-{index}",
                [
                    sys.executable,
                    "-m",
                    "local_stack.apigateway.server",
                    "--runtime-file",
                    str(runtime_file),
                    "--index",
                    str(index),
                ],
            )
        for index, port in enumerate(plain_ports):

            def gateway_ready(port: int = port) -> bool:
                return self._alive() and _healthy(host, port)

            self._require(
                wait_until(gateway_ready, 90),
                f"gateway {index}",
                f"gateway-{index}",
            )

        stage = "prod"
        gateway = f"{host}:{plain_ports[0]}"
        stack = {
            "env": opts.env,
            "stage": stage,
            "websocketUrl": f"ws://{gateway}/{stage}",
            "managementApiUrl": f"http://{gateway}/{stage}",
            "dynamodbEndpoint": f"http://{host}:{proxy_port}",
            "dynamodbLocalEndpoint": f"http://{host}:{dynamodb_port}",
            "cognito": {
                "endpoint": f"http://{host}:{cognito_port}",
                "region": region,
                "userPoolId": pool_id,
                "clientId": client_id,
                "issuer": f"https://cognito-idp.{region}.amazonaws.com/{pool_id}",
                "jwksUrl": f"http://{host}:{cognito_port}/{pool_id}/.well-known/jwks.json",
                # Local-only private keys, so tests can forge tokens "signed by the pool" (like .local/tls).
                "signingKeysFile": str(self.state_dir / "cognito-signing-keys.json"),
            },
            "websocketTlsUrl": f"wss://{host}:{tls_ports[0]}/{stage}",
            "httpApiUrl": f"http://{gateway}",
            "httpApiTlsUrl": f"https://{host}:{tls_ports[0]}",
            "managementApiTlsUrl": f"https://{host}:{tls_ports[0]}/{stage}",
            "websocketUrls": [f"ws://{host}:{p}/{stage}" for p in plain_ports],
            "lambdaEndpoint": f"http://{host}:{plain_ports[0]}",
            "caBundle": str(tls.ca_cert),
            "region": region,
            "tables": tables,
            "templateHash": template.digest(),
            "logDir": str(self.log_dir),
            "supervisorPid": os.getpid(),
        }
        (self.state_dir / "stack.json").write_text(json.dumps(stack, indent=2))
        return stack

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
                    self._write_state(
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
    supervisor._write_state("starting")
    try:
        stack = supervisor.start()
    except Exception as exc:
        log.exception("start failed")
        supervisor._write_state("failed", reason=str(exc))
        supervisor.stop()
        sys.exit(1)
    supervisor._write_state("ready", stack=stack)
    supervisor.monitor()
    if supervisor.stopping:
        supervisor.stop()
        state_file = args.state_dir / "state.json"
        state = json.loads(state_file.read_text()) if state_file.exists() else {}
        if state.get("status") != "failed":
            supervisor._write_state("stopped")


if __name__ == "__main__":
    main()

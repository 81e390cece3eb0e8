"""`python -m local_stack up|down|status|token|trigger-rule`: what `make local-up`, `make local-down`,
`make local-status`, `make token` and `make trigger-rule` run. Also the programmatic API the
end-to-end tests use to start and stop their own stack.

Only starting, stopping and reporting on the local stack lives here; talking to the running stack
(tokens, rules) is `stage_access`'s job, whatever the stage.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from local_stack.private_files import append_private_bytes, private_dir
from local_stack.processes import ROOT
from local_stack.supervisor import LocalStackOptions
from stage_access.rules import trigger_rule
from stage_access.tokens import DEV_USER, speaker_token

START_TIMEOUT_SECONDS = 180
# `make local-up` listens on these, so a client's configuration survives a restart (LocalStack's
# 4566 and serverless-offline's 3001 are left alone). Each can be moved with its variable; a taken
# one is an error naming it. Gateway processes beyond the first take the next ports up.
DEFAULT_PORTS = {
    "gateway_port": ("LOCAL_GATEWAY_PORT", 4510),
    "tls_port": ("LOCAL_GATEWAY_TLS_PORT", 4520),
    "cognito_port": ("LOCAL_COGNITO_PORT", 4530),
    "proxy_port": ("LOCAL_DYNAMODB_PORT", 4540),
    "dynamodb_port": ("LOCAL_DYNAMODB_LOCAL_PORT", 4550),
}


def default_ports(environ: dict[str, str] | None = None) -> dict[str, int]:
    """The fixed ports `up` uses, each overridable by its environment variable."""
    source = os.environ if environ is None else environ
    return {field: int(source.get(variable, default)) for field, (variable, default) in DEFAULT_PORTS.items()}


class LocalStackError(RuntimeError):
    pass


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        result: dict[str, Any] = json.loads(path.read_text())
        return result
    except (OSError, ValueError):
        return None


def _pid_alive(pid: int) -> bool:
    # When this process started the supervisor (tests do), reap it, or it lingers as a zombie.
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_stack(state_dir: Path) -> dict[str, Any] | None:
    """The endpoints of the stack running from this state directory, if it is running and ready."""
    state = _read_json(state_dir / "state.json")
    if not state or state.get("status") != "ready" or not _pid_alive(int(state["pid"])):
        return None
    return _read_json(state_dir / "stack.json")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def start(
    options: LocalStackOptions,
    timeout: float = START_TIMEOUT_SECONDS,
    on_progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Start a stack in the background and wait until it is ready; a no-op if one already runs.
    `on_progress` hears each step the supervisor takes, once, as it starts it."""
    state_dir = Path(options.state_dir)
    existing = running_stack(state_dir)
    if existing is not None:
        return existing
    options.save()
    (state_dir / "state.json").unlink(missing_ok=True)
    private_dir(state_dir / "logs")
    with append_private_bytes(state_dir / "logs" / "supervisor.log") as logfile:
        process = subprocess.Popen(
            [sys.executable, "-m", "local_stack.supervisor", "--state-dir", str(state_dir)],
            stdout=logfile,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=ROOT,
            start_new_session=True,
        )
    started = time.monotonic()
    deadline = started + timeout
    reported = 0
    while time.monotonic() < deadline:
        state = _read_json(state_dir / "state.json") or {}
        steps = state.get("steps", [])
        if on_progress is not None:
            for step in steps[reported:]:
                on_progress(f"[{time.monotonic() - started:5.1f}s] {step}")
            reported = max(reported, len(steps))  # a ready or failed state still lists them all
        if state.get("status") == "ready":
            return dict(state["stack"])
        if state.get("status") == "failed" or process.poll() is not None:
            reason = state.get("reason", f"supervisor exited with code {process.poll()}")
            log = Path(state.get("log", state_dir / "logs" / "supervisor.log"))
            raise LocalStackError(f"local stack failed to start: {reason}\n--- {log} ---\n{_tail(log)}")
        time.sleep(0.2)
    stop(state_dir)
    raise LocalStackError(f"local stack not ready after {timeout:.0f}s; logs in {state_dir / 'logs'}")


def stop(state_dir: Path, timeout: float = 20) -> bool:
    """Stop exactly the supervisor this state directory started (it stops its own children)."""
    state = _read_json(state_dir / "state.json")
    if not state or not _pid_alive(int(state.get("pid", 0))):
        return False
    pid = int(state["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _pid_alive(pid):
        time.sleep(0.1)
    if _pid_alive(pid):
        os.killpg(pid, signal.SIGKILL)
    return True


def _print_endpoints(stack: dict[str, Any], already: bool) -> None:
    print(
        "Local stack is " + ("already running" if already else "up") + f" (env {stack['env']}, stage {stack['stage']})"
    )
    print(f"  WebSocket        {stack['websocketUrl']}   (TLS: {stack['websocketTlsUrl']})")
    print(f"  @connections     {stack['managementApiUrl']}   (TLS: {stack['managementApiTlsUrl']})")
    print(f"  HTTP API         {stack['httpApiUrl']}/sessions   (TLS: {stack['httpApiTlsUrl']}/sessions)")
    print(f"  DynamoDB         {stack['dynamodbEndpoint']}")
    print(
        f"  Cognito          {stack['cognito']['endpoint']}  pool {stack['cognito']['userPoolId']}"
        f"  client {stack['cognito']['clientId']}"
    )
    print(f"  CA bundle        {stack['caBundle']}")
    print(f"  Logs             {stack['logDir']}")
    print("Endpoints written to .local/stack.json. Token: make -s token [USER=alice]")


def main() -> None:
    parser = argparse.ArgumentParser(prog="local_stack")
    parser.add_argument("--state-dir", type=Path, default=ROOT / ".local")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up")
    up.add_argument("--gateway-processes", type=int, default=int(os.environ.get("GATEWAY_PROCESSES", "1")))

    commands.add_parser("down")
    commands.add_parser("status")
    trigger = commands.add_parser("trigger-rule", help="run an EventBridge schedule rule's targets now")
    trigger.add_argument("rule")
    token = commands.add_parser("token")
    token.add_argument("--user", default=DEV_USER)
    args = parser.parse_args()
    state_dir: Path = args.state_dir

    if args.command == "up":
        already = running_stack(state_dir)
        ports = default_ports()
        options = LocalStackOptions(
            state_dir=str(state_dir),
            gateway_processes=args.gateway_processes,
            gateway_port=ports["gateway_port"],
            tls_port=ports["tls_port"],
            cognito_port=ports["cognito_port"],
            proxy_port=ports["proxy_port"],
            dynamodb_port=ports["dynamodb_port"],
        )
        try:
            stack = start(options, on_progress=lambda line: print(line, flush=True))
        except LocalStackError as exc:
            print(str(exc), file=sys.stderr)
            sys.exit(1)
        _print_endpoints(stack, already is not None)
    elif args.command == "down":
        print("Local stack stopped." if stop(state_dir) else "Local stack was not running.")
    elif args.command == "status":
        running = running_stack(state_dir)
        if running is None:
            state = _read_json(state_dir / "state.json") or {}
            reason = f": {state['reason']}" if "reason" in state else ""
            print(f"not running ({state.get('status', 'never started')}{reason})")
            sys.exit(1)
        print(json.dumps(running, indent=2))
    elif args.command == "trigger-rule":
        running = running_stack(state_dir)
        if running is None:
            print("The local stack is not running: make local-up", file=sys.stderr)
            sys.exit(1)
        print(json.dumps(trigger_rule(running, args.rule)))
    elif args.command == "token":
        running = running_stack(state_dir)
        if running is None:
            print("The local stack is not running: make local-up", file=sys.stderr)
            sys.exit(1)
        print(speaker_token(running, args.user))


if __name__ == "__main__":
    main()

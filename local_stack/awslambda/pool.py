"""A bounded pool of execution environments per function, invoked concurrently from asyncio.

Like Lambda, one environment serves one invocation at a time, a new one starts (cold) only when
all are busy, and a timed-out invocation kills its environment. Unlike Lambda, the bound is
local (processes on one machine), so invocations beyond it wait rather than throttle; a
function's reserved concurrency, where the template sets one, still caps it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_stack.awslambda.layers import ImportPath, import_path
from local_stack.awslambda.models import FunctionSpec

_MAX_LINE = 16 * 1024 * 1024
WORKER_SCRIPT = Path(__file__).resolve().parent / "worker.py"


@dataclass(frozen=True)
class InvocationResult:
    payload: Any = None
    error_type: str | None = None
    error_message: str | None = None
    request_id: str = ""
    duration_ms: float = 0.0

    @property
    def failed(self) -> bool:
        return self.error_type is not None


class _Environment:
    """One worker process."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.initialized = False

    @classmethod
    async def start(cls, spec: FunctionSpec, env: Mapping[str, str], path: ImportPath) -> _Environment:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-I",  # isolated: no PYTHON* variables, no user site, the worker's own folder off sys.path
            "-S",  # no site-packages: the venv's packages are not importable, as they are not in Lambda
            str(WORKER_SCRIPT),
            json.dumps(path.as_strings()),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=dict(env),
            limit=_MAX_LINE,
            cwd=str(spec.code_path),
        )
        environment = cls(process)
        ready = await environment._read()  # the init phase: imports the handler module once
        environment.initialized = bool(ready.get("ready"))
        return environment

    async def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = await self.process.stdout.readline()
        if not line:
            raise ConnectionError(f"runtime exited with code {await self.process.wait()}")
        result: dict[str, Any] = json.loads(line)
        return result

    async def call(self, event: Any, request_id: str, deadline_ms: int) -> dict[str, Any]:
        assert self.process.stdin is not None
        request = {"event": event, "requestId": request_id, "deadlineMs": deadline_ms}
        self.process.stdin.write(json.dumps(request).encode() + b"\n")
        await self.process.stdin.drain()
        return await self._read()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()


class FunctionPool:
    def __init__(self, spec: FunctionSpec, extra_env: Mapping[str, str], log_dir: Path, max_concurrency: int) -> None:
        self.spec = spec
        self._idle: list[_Environment] = []
        # Reserved concurrency 0 is how Lambda stops a function: every invocation is throttled.
        reserved = spec.reserved_concurrency
        limit = max_concurrency if reserved is None else min(max_concurrency, reserved)
        self._slots = asyncio.Semaphore(limit)
        self.concurrency_limit = limit
        self._env = self._environment(extra_env, log_dir)
        self.import_path = import_path(spec.code_path, spec.layers)

    def _environment(self, extra_env: Mapping[str, str], log_dir: Path) -> dict[str, str]:
        """Exactly the template's variables plus what the Lambda runtime itself sets."""
        spec = self.spec
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",  # unreserved in Lambda: the template may override it
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        env.update(spec.environment)
        env.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": spec.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group or f"/aws/lambda/{spec.name}",
                "AWS_LAMBDA_LOG_STREAM_NAME": f"local/{spec.name}",
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "LAMBDA_TASK_ROOT": str(spec.code_path),
                "_HANDLER": spec.handler,
                "LOCAL_LAMBDA_FUNCTION_ARN": spec.arn,
                "LOCAL_LAMBDA_LOG_FILE": str(log_dir / f"lambda-{spec.name}.log"),
            }
        )
        env.update(extra_env)
        return env

    async def _acquire(self) -> _Environment:
        if self._idle:
            return self._idle.pop()
        return await _Environment.start(self.spec, self._env, self.import_path)

    async def invoke(self, event: Any) -> InvocationResult:
        request_id = str(uuid.uuid4())
        if self.spec.reserved_concurrency is not None and self._slots.locked():
            # Reserved concurrency is a hard cap in Lambda: the invocation is throttled, not queued.
            return InvocationResult(
                error_type="TooManyRequestsException", error_message="Rate Exceeded.", request_id=request_id
            )
        async with self._slots:
            started = time.monotonic()
            try:
                environment = await self._acquire()
            except (ConnectionError, OSError) as exc:
                return InvocationResult(error_type="Runtime.InitError", error_message=str(exc), request_id=request_id)
            deadline_ms = int(time.time() * 1000) + self.spec.timeout_seconds * 1000
            try:
                response = await asyncio.wait_for(
                    environment.call(event, request_id, deadline_ms), timeout=self.spec.timeout_seconds
                )
            except TimeoutError:
                environment.kill()
                return InvocationResult(
                    error_type="Sandbox.Timedout",
                    error_message=f"Task timed out after {self.spec.timeout_seconds:.2f} seconds",
                    request_id=request_id,
                    duration_ms=(time.monotonic() - started) * 1000,
                )
            except (ConnectionError, OSError, ValueError) as exc:
                environment.kill()
                return InvocationResult(error_type="Runtime.ExitError", error_message=str(exc), request_id=request_id)
            if environment.initialized:
                self._idle.append(environment)
            else:
                # A failed init is not sticky in Lambda: the next invocation initializes afresh.
                environment.kill()
            duration = (time.monotonic() - started) * 1000
            if "errorType" in response:
                return InvocationResult(
                    error_type=response["errorType"],
                    error_message=response.get("errorMessage"),
                    request_id=request_id,
                    duration_ms=duration,
                )
            return InvocationResult(payload=response.get("result"), request_id=request_id, duration_ms=duration)

    async def warm(self, environments: int = 1) -> None:
        """Start environments ahead of traffic, as provisioned concurrency does in Lambda, so the first
        requests of a run (a test's, or a load ramp's burst) are not cold starts."""

        async def start_one() -> None:
            async with self._slots:
                self._idle.append(await self._acquire())

        if self.concurrency_limit == 0:
            return
        count = max(1, min(environments, self.concurrency_limit))
        await asyncio.gather(*(start_one() for _ in range(count)))

    def shutdown(self) -> None:
        for environment in self._idle:
            environment.kill()
        self._idle.clear()

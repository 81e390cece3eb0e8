"""A bounded pool of execution environments per function, invoked concurrently from asyncio.

As in Lambda: one environment serves one invocation at a time, and a new one starts (cold) when
all are busy; an environment is frozen between invocations (SIGSTOP), so its background threads
and timers do not run; invocations are spread over the environments a function has, so state at
module level is per environment here as there; a timed-out invocation, or one whose process
passed the function's memory size, kills its environment; the init phase has 10 s, after which
it is run again inside the invocation under the function's timeout; a failed init is not sticky.
Unlike Lambda, the bound is local (processes on one machine), so invocations beyond it wait
rather than throttle; a function's reserved concurrency, where the template sets one, caps it
for the whole stack (see concurrency.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_stack.awslambda.concurrency import ReservedSlots
from local_stack.awslambda.layers import ImportPath, import_path
from local_stack.awslambda.models import FunctionSpec

_MAX_LINE = 16 * 1024 * 1024
WORKER_SCRIPT = Path(__file__).resolve().parent / "worker.py"
# Lambda's init phase limit for on-demand functions (Lambda execution environment lifecycle).
INIT_LIMIT_SECONDS = 10.0


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


def throttled(request_id: str) -> InvocationResult:
    """Reserved concurrency is a hard cap in Lambda: the invocation is throttled, not queued."""
    return InvocationResult(
        error_type="TooManyRequestsException", error_message="Rate Exceeded.", request_id=request_id
    )


class _Environment:
    """One worker process."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.initialized = False

    @classmethod
    async def spawn(cls, spec: FunctionSpec, env: Mapping[str, str], path: ImportPath) -> _Environment:
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
        return cls(process)

    async def initialize(self, limit_seconds: float) -> None:
        """The init phase: the worker imports the handler module once and says whether it could."""
        ready = await asyncio.wait_for(self._read(), timeout=limit_seconds)
        self.initialized = bool(ready.get("ready"))

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

    def freeze(self) -> None:
        self._signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal(signal.SIGCONT)

    def peak_memory_mb(self) -> float:
        """The process's peak resident memory (VmHWM), what Lambda reports as Max Memory Used."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return 0.0
        line = next((x for x in status.splitlines() if x.startswith("VmHWM:")), "VmHWM: 0 kB")
        return int(line.split()[1]) / 1024

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def _signal(self, number: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, number)


class FunctionPool:
    def __init__(
        self,
        spec: FunctionSpec,
        extra_env: Mapping[str, str],
        log_dir: Path,
        max_concurrency: int,
        *,
        spread_environments: int = 1,
        reserved_slots_dir: Path | None = None,
    ) -> None:
        """`spread_environments`: how many environments invocations rotate over before one is reused
        (Lambda spreads requests; a second environment makes per-environment state show).
        `reserved_slots_dir`: where the stack's processes share the reserved-concurrency cap."""
        self.spec = spec
        self._idle: deque[_Environment] = deque()  # least recently used first
        self._live = 0
        # Reserved concurrency 0 is how Lambda stops a function: every invocation is throttled.
        reserved = spec.reserved_concurrency
        limit = max_concurrency if reserved is None else min(max_concurrency, reserved)
        self._slots = asyncio.Semaphore(limit)
        self.concurrency_limit = limit
        self._spread = max(1, min(spread_environments, limit or 1))
        self._reserved = (
            ReservedSlots(reserved_slots_dir, spec.name, reserved)
            if reserved is not None and reserved_slots_dir is not None
            else None
        )
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

    async def _cold_start(self, suppressed_init_seconds: float) -> _Environment:
        """A new environment. An init that passes Lambda's 10 s is abandoned and run once more, as
        Lambda does within the invocation, under `suppressed_init_seconds` (the function's timeout)."""
        for limit in (INIT_LIMIT_SECONDS, suppressed_init_seconds):
            environment = await _Environment.spawn(self.spec, self._env, self.import_path)
            self._live += 1
            try:
                await environment.initialize(limit)
                return environment
            except TimeoutError:
                self._discard(environment)
            except BaseException:
                self._discard(environment)
                raise
        raise TimeoutError

    async def _acquire(self, timeout_seconds: float) -> _Environment:
        if self._idle and self._live >= self._spread:
            environment = self._idle.popleft()
            environment.thaw()
            return environment
        return await self._cold_start(timeout_seconds)

    def _discard(self, environment: _Environment) -> None:
        environment.kill()
        self._live -= 1

    def _keep(self, environment: _Environment) -> None:
        environment.freeze()
        self._idle.append(environment)

    async def invoke(self, event: Any) -> InvocationResult:
        request_id = str(uuid.uuid4())
        slot: int | None = None
        if self._reserved is not None:
            slot = self._reserved.try_acquire()
            if slot is None:
                return throttled(request_id)
        elif self.spec.reserved_concurrency is not None and self._slots.locked():
            return throttled(request_id)
        try:
            async with self._slots:
                return await self._run(event, request_id)
        finally:
            if slot is not None and self._reserved is not None:
                self._reserved.release(slot)

    async def _run(self, event: Any, request_id: str) -> InvocationResult:
        timeout = float(self.spec.timeout_seconds)
        started = time.monotonic()

        def timed_out() -> InvocationResult:
            return InvocationResult(
                error_type="Sandbox.Timedout",
                error_message=f"Task timed out after {timeout:.2f} seconds",
                request_id=request_id,
                duration_ms=(time.monotonic() - started) * 1000,
            )

        try:
            environment = await self._acquire(timeout)
        except TimeoutError:
            return timed_out()
        except (ConnectionError, OSError, ValueError) as exc:
            return InvocationResult(error_type="Runtime.InitError", error_message=str(exc), request_id=request_id)
        remaining = max(0.001, timeout - (time.monotonic() - started))
        deadline_ms = int(time.time() * 1000 + remaining * 1000)
        try:
            response = await asyncio.wait_for(environment.call(event, request_id, deadline_ms), timeout=remaining)
        except TimeoutError:
            self._discard(environment)
            return timed_out()
        except (ConnectionError, OSError, ValueError) as exc:
            self._discard(environment)
            return InvocationResult(error_type="Runtime.ExitError", error_message=str(exc), request_id=request_id)
        duration = (time.monotonic() - started) * 1000
        if environment.peak_memory_mb() > self.spec.memory_mb:
            # Lambda kills a process that passes the function's memory size, whatever it answered.
            self._discard(environment)
            return InvocationResult(
                error_type="Runtime.ExitError",
                error_message=f"RequestId: {request_id} Error: Runtime exited with error: signal: killed",
                request_id=request_id,
                duration_ms=duration,
            )
        if environment.initialized:
            self._keep(environment)
        else:
            # A failed init is not sticky in Lambda: the next invocation initializes afresh.
            self._discard(environment)
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
                self._keep(await self._cold_start(INIT_LIMIT_SECONDS))

        if self.concurrency_limit == 0:
            return
        count = max(1, min(environments, self.concurrency_limit))
        await asyncio.gather(*(start_one() for _ in range(count)))

    def shutdown(self) -> None:
        while self._idle:
            self._discard(self._idle.popleft())
        if self._reserved is not None:
            self._reserved.close()

"""Function pools with real execution environments (one worker process each) running a tiny handler."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from local_stack.awslambda.models import FunctionSpec
from local_stack.awslambda.pool import FunctionPool
from tests.unit.local_stack.fakes import function_spec, handler_code

HANDLER = textwrap.dedent(
    """
    import os
    import time

    if os.environ.get("INIT_LOG"):  # the init phase, once per environment
        with open(os.environ["INIT_LOG"], "a") as init_log:
            init_log.write(f"{os.getpid()} ")

    def handler(event, context):
        if event.get("raise"):
            raise KeyError("missing")
        if event.get("sleep"):
            time.sleep(event["sleep"])
        if event.get("print"):
            print("to the log, not the protocol")
        return {
            "pid": os.getpid(),
            "event": event,
            "function": context.function_name,
            "remaining": context.get_remaining_time_in_millis(),
            "env": {k: os.environ.get(k) for k in ("TABLE", "AWS_REGION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE")},
        }
    """
)


@pytest.fixture
def code(tmp_path: Path) -> Path:
    return handler_code(tmp_path, HANDLER)


def spec(code: Path, **overrides: Any) -> FunctionSpec:
    return function_spec(
        code,
        **{
            "memory_mb": 256,
            "timeout_seconds": 5,
            "environment": {"TABLE": "sessions", "AWS_REGION": "template-region"},
            **overrides,
        },
    )


def run(pool: FunctionPool, scenario: Callable[[FunctionPool], Awaitable[None]]) -> None:
    async def main() -> None:
        try:
            await scenario(pool)
        finally:
            pool.shutdown()
            # Let the killed workers' pipes close inside this loop, not at garbage collection.
            await asyncio.sleep(0.2)

    asyncio.run(main())


def test_an_invocation_returns_the_handlers_result_with_the_functions_environment(code, tmp_path):
    pool = FunctionPool(spec(code), {"AWS_REGION": "us-east-1"}, tmp_path, max_concurrency=2)

    async def scenario(pool: FunctionPool) -> None:
        result = await pool.invoke({"hello": "world"})
        assert not result.failed and result.request_id
        assert result.payload["event"] == {"hello": "world"}
        assert result.payload["function"] == "fn"
        assert 0 < result.payload["remaining"] <= 5000
        # The template's variables, then the runtime's, then the stack's (which win).
        assert result.payload["env"] == {
            "TABLE": "sessions",
            "AWS_REGION": "us-east-1",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        }

    run(pool, scenario)


def test_a_warm_environment_serves_the_next_invocation(code, tmp_path):
    pool = FunctionPool(spec(code), {}, tmp_path, max_concurrency=2)

    async def scenario(pool: FunctionPool) -> None:
        first = await pool.invoke({"print": True})
        second = await pool.invoke({})
        assert first.payload["pid"] == second.payload["pid"]
        assert "to the log, not the protocol" in (tmp_path / "lambda-fn.log").read_text()

    run(pool, scenario)


def test_busy_environments_make_concurrent_invocations_start_new_ones(code, tmp_path):
    pool = FunctionPool(spec(code), {}, tmp_path, max_concurrency=3)

    async def scenario(pool: FunctionPool) -> None:
        results = await asyncio.gather(*(pool.invoke({"sleep": 0.3}) for _ in range(3)))
        assert len({r.payload["pid"] for r in results}) == 3

    run(pool, scenario)


def test_a_handler_error_is_reported_and_the_environment_kept(code, tmp_path):
    pool = FunctionPool(spec(code), {}, tmp_path, max_concurrency=1)

    async def scenario(pool: FunctionPool) -> None:
        failed = await pool.invoke({"raise": True})
        assert failed.failed and failed.error_type == "KeyError" and failed.error_message == "'missing'"
        after = await pool.invoke({})
        assert not after.failed

    run(pool, scenario)


def test_a_timed_out_invocation_kills_its_environment(code, tmp_path):
    pool = FunctionPool(spec(code, timeout_seconds=1), {}, tmp_path, max_concurrency=1)

    async def scenario(pool: FunctionPool) -> None:
        before = await pool.invoke({})
        timed_out = await pool.invoke({"sleep": 3})
        assert timed_out.error_type == "Sandbox.Timedout"
        assert timed_out.error_message == "Task timed out after 1.00 seconds"
        after = await pool.invoke({})
        assert after.payload["pid"] != before.payload["pid"]  # a cold start in a new environment

    run(pool, scenario)


def test_reserved_concurrency_throttles_instead_of_queueing(code, tmp_path):
    pool = FunctionPool(spec(code, reserved_concurrency=1), {}, tmp_path, max_concurrency=4)
    assert pool.concurrency_limit == 1

    async def scenario(pool: FunctionPool) -> None:
        busy = asyncio.ensure_future(pool.invoke({"sleep": 0.5}))
        await asyncio.sleep(0.1)
        throttled = await pool.invoke({})
        assert throttled.error_type == "TooManyRequestsException"
        assert not (await busy).failed

    run(pool, scenario)


def test_beyond_the_local_bound_invocations_wait_for_an_environment(code, tmp_path):
    pool = FunctionPool(spec(code), {}, tmp_path, max_concurrency=1)

    async def scenario(pool: FunctionPool) -> None:
        results = await asyncio.gather(pool.invoke({"sleep": 0.2}), pool.invoke({}))
        assert not any(r.failed for r in results)
        assert results[0].payload["pid"] == results[1].payload["pid"]

    run(pool, scenario)


def test_an_import_error_fails_every_invocation(code, tmp_path):
    (code / "broken.py").write_text("import not_a_module_anywhere\n")
    pool = FunctionPool(spec(code, handler="broken.handler"), {}, tmp_path, max_concurrency=1)

    async def scenario(pool: FunctionPool) -> None:
        for _ in range(2):
            result = await pool.invoke({})
            assert result.error_type == "Runtime.ImportModuleError"
            assert "not_a_module_anywhere" in result.error_message

    run(pool, scenario)


def test_warm_starts_environments_ahead_up_to_the_limit(code, tmp_path):
    init_log = tmp_path / "init.log"
    pool = FunctionPool(spec(code), {"INIT_LOG": str(init_log)}, tmp_path, max_concurrency=2)

    async def scenario(pool: FunctionPool) -> None:
        await pool.warm(5)
        warmed = set(init_log.read_text().split())
        assert len(warmed) == 2
        results = await asyncio.gather(*(pool.invoke({"sleep": 0.2}) for _ in range(2)))
        assert {str(r.payload["pid"]) for r in results} == warmed  # no cold start once warm

    run(pool, scenario)


def test_reserved_concurrency_zero_means_the_function_never_runs(code, tmp_path):
    pool = FunctionPool(spec(code, reserved_concurrency=0), {}, tmp_path, max_concurrency=4)

    async def scenario(pool: FunctionPool) -> None:
        await pool.warm(2)  # nothing to start: not even provisioned environments
        result = await pool.invoke({})
        assert result.error_type == "TooManyRequestsException"

    run(pool, scenario)

"""Execution environments as Lambda runs them: frozen between invocations, spread, bounded in memory
and init time, with the runtime's context object, and reserved concurrency as one cap per stack."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from local_stack.awslambda import pool as pool_module
from local_stack.awslambda.concurrency import ReservedSlots
from local_stack.awslambda.pool import FunctionPool
from tests.unit.local_stack.fakes import function_spec, handler_code
from tests.unit.local_stack.test_pool import run

HANDLER = textwrap.dedent(
    """
    import os
    import threading
    import time

    INIT_DELAYS = os.environ.get("INIT_DELAYS")  # a file: each init takes the next delay in it
    if INIT_DELAYS:
        with open(INIT_DELAYS) as f:
            delays = f.read().split()
        with open(INIT_DELAYS, "w") as f:
            f.write(" ".join(delays[1:]) or delays[0])
        time.sleep(float(delays[0]))

    calls = 0
    ticks = 0
    ballast = []

    def tick():
        global ticks
        while True:
            ticks += 1
            time.sleep(0.005)

    def handler(event, context):
        global calls
        calls += 1
        if event.get("start_ticker"):
            threading.Thread(target=tick, daemon=True).start()
        if event.get("allocate_mb"):
            ballast.append(bytearray(event["allocate_mb"] * 1024 * 1024))
        if event.get("sleep"):
            time.sleep(event["sleep"])
        if event.get("log"):
            context.log(event["log"])
        return {
            "pid": os.getpid(),
            "calls": calls,
            "ticks": ticks,
            "identity": [context.identity.cognito_identity_id, context.identity.cognito_identity_pool_id],
            "client_context": context.client_context,
        }
    """
)


@pytest.fixture
def code(tmp_path: Path) -> Path:
    return handler_code(tmp_path, HANDLER)


def process_state(pid: int) -> str:
    """The state letter of /proc/<pid>/stat: `T` is stopped, `S` sleeping, `R` running."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0]


async def wait_until_stopped(pid: int, timeout: float = 5.0) -> None:
    """SIGSTOP takes effect asynchronously: await the state change."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while process_state(pid) != "T":
        assert loop.time() < deadline, f"worker {pid} is {process_state(pid)}, not stopped"
        await asyncio.sleep(0.01)


def test_an_environment_is_frozen_between_invocations(code, tmp_path):
    pool = FunctionPool(function_spec(code), {}, tmp_path, max_concurrency=1)

    async def scenario(pool: FunctionPool) -> None:
        first = await pool.invoke({"start_ticker": True})
        await wait_until_stopped(first.payload["pid"])
        await asyncio.sleep(1.0)  # time passing between invocations is what is under test
        second = await pool.invoke({})
        assert second.payload["pid"] == first.payload["pid"]
        # Unfrozen, the thread would have ticked about 200 times in the pause.
        assert second.payload["ticks"] < 100, second.payload
        await wait_until_stopped(second.payload["pid"])

    run(pool, scenario)


def test_invocations_rotate_over_the_environments_so_module_state_is_per_environment(code, tmp_path):
    pool = FunctionPool(function_spec(code), {}, tmp_path, max_concurrency=4, spread_environments=2)

    async def scenario(pool: FunctionPool) -> None:
        results = [(await pool.invoke({})).payload for _ in range(4)]
        pids = [r["pid"] for r in results]
        assert pids[0] != pids[1] and pids[2] == pids[0] and pids[3] == pids[1]
        assert [r["calls"] for r in results] == [1, 1, 2, 2]  # a module-level counter is not global

    run(pool, scenario)


def test_passing_the_memory_size_kills_the_environment_as_lambda_does(code, tmp_path):
    pool = FunctionPool(function_spec(code, memory_mb=128), {}, tmp_path, max_concurrency=1)

    async def scenario(pool: FunctionPool) -> None:
        fits = await pool.invoke({"allocate_mb": 16})
        assert not fits.failed
        killed = await pool.invoke({"allocate_mb": 160})
        assert killed.error_type == "Runtime.ExitError"
        assert (
            killed.error_message == f"RequestId: {killed.request_id} Error: Runtime exited with error: signal: killed"
        )
        after = await pool.invoke({})
        assert not after.failed and after.payload["pid"] != fits.payload["pid"] and after.payload["calls"] == 1

    run(pool, scenario)


def test_an_init_past_the_limit_runs_again_inside_the_invocation(code, tmp_path, monkeypatch):
    monkeypatch.setattr(pool_module, "INIT_LIMIT_SECONDS", 0.5)  # Lambda's 10 s, scaled down
    delays = tmp_path / "delays"
    delays.write_text("2 0")  # the first init outlasts the limit, the second is quick
    pool = FunctionPool(function_spec(code, timeout_seconds=5), {"INIT_DELAYS": str(delays)}, tmp_path, 1)

    async def scenario(pool: FunctionPool) -> None:
        result = await pool.invoke({})
        assert not result.failed and result.payload["calls"] == 1
        assert 500 <= result.duration_ms < 5000  # the abandoned init counts against the invocation

    run(pool, scenario)


def test_an_init_that_outlasts_the_functions_timeout_times_the_invocation_out(code, tmp_path, monkeypatch):
    monkeypatch.setattr(pool_module, "INIT_LIMIT_SECONDS", 0.3)
    delays = tmp_path / "delays"
    delays.write_text("3")  # every init takes 3 s; the function's timeout is 1 s
    pool = FunctionPool(function_spec(code, timeout_seconds=1), {"INIT_DELAYS": str(delays)}, tmp_path, 1)

    async def scenario(pool: FunctionPool) -> None:
        result = await pool.invoke({})
        assert result.error_type == "Sandbox.Timedout"
        assert result.error_message == "Task timed out after 1.00 seconds"

    run(pool, scenario)


def test_the_context_has_the_runtimes_identity_and_log(code, tmp_path):
    pool = FunctionPool(function_spec(code), {}, tmp_path, max_concurrency=1)

    async def scenario(pool: FunctionPool) -> None:
        result = await pool.invoke({"log": "written by context.log"})
        assert result.payload["identity"] == [None, None]  # an object whose fields are None
        assert result.payload["client_context"] is None
        assert "written by context.log" in (tmp_path / "lambda-fn.log").read_text()

    run(pool, scenario)


def test_reserved_concurrency_is_one_cap_across_the_gateway_processes(code, tmp_path):
    """Two pools over one slots directory stand for two gateway processes (flock locks belong to
    open file descriptions, so two pools conflict exactly as two processes do)."""
    slots = tmp_path / "reserved-concurrency"
    spec = function_spec(code, reserved_concurrency=1)
    first = FunctionPool(spec, {}, tmp_path, max_concurrency=4, reserved_slots_dir=slots)
    second = FunctionPool(spec, {}, tmp_path, max_concurrency=4, reserved_slots_dir=slots)

    async def scenario(_pool: FunctionPool) -> None:
        try:
            busy = asyncio.ensure_future(first.invoke({"sleep": 1}))
            await asyncio.sleep(0)  # the first invocation takes its slot before its first await
            assert (await second.invoke({})).error_type == "TooManyRequestsException"
            assert not (await busy).failed
            assert not (await second.invoke({})).failed  # the slot is free again
        finally:
            second.shutdown()

    run(first, scenario)


def test_a_slot_held_by_another_process_is_refused_and_freed_when_it_exits(tmp_path):
    slots = ReservedSlots(tmp_path, "fn", 1)
    slot_file = tmp_path / "fn" / "slot-0"
    slot_file.touch()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR); fcntl.flock(fd, fcntl.LOCK_EX);"
            " print('held', flush=True); sys.stdin.read()",
            str(slot_file),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert slots.try_acquire() is None
    finally:
        holder.kill()
        holder.wait()
    assert slots.try_acquire() == 0  # the kernel released the dead process's lock
    slots.close()


def test_a_frozen_worker_dies_with_its_gateway(code, tmp_path):
    """A gateway killed outright leaves no stopped workers behind (they cannot read stdin's EOF)."""
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from pathlib import Path
        sys.path[:0] = [{str(Path.cwd())!r}]
        from local_stack.awslambda.pool import FunctionPool
        from tests.unit.local_stack.fakes import function_spec

        async def main():
            pool = FunctionPool(function_spec(Path({str(code)!r})), {{}}, Path({str(tmp_path)!r}), 1)
            result = await pool.invoke({{}})
            print(result.payload["pid"], flush=True)
            await asyncio.sleep(60)

        asyncio.run(main())
        """
    )
    gateway = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert gateway.stdout is not None
    worker = int(gateway.stdout.readline())
    deadline = time.monotonic() + 5
    while process_state(worker) != "T":  # frozen (SIGSTOP takes effect asynchronously)
        assert time.monotonic() < deadline, process_state(worker)
        time.sleep(0.01)
    gateway.kill()
    gateway.wait()
    deadline = time.monotonic() + 5
    while Path(f"/proc/{worker}").exists() and process_state(worker) != "Z":
        assert time.monotonic() < deadline, f"worker {worker} outlived its gateway"
        time.sleep(0.02)

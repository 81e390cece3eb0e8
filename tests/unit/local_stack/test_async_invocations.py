"""Lambda's asynchronous invocation, locally: retries of function errors (twice, after about one and
two minutes), throttles re-queued until the event's maximum age, duplicates on demand, and schedule
runs that overlap instead of queueing (issue 13, "Asynchronous invocations and schedules")."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

from local_stack.awslambda.async_invocations import THROTTLED, AsyncInvocationPolicy, AsyncInvoker
from local_stack.awslambda.pool import InvocationResult
from local_stack.eventbridge.models import ScheduleRule
from local_stack.eventbridge.scheduler import Scheduler
from tests.unit.local_stack.fakes import RecordingPool

FAST = AsyncInvocationPolicy(retry_delays_seconds=(0.05, 0.1), first_throttle_delay_seconds=0.01)


def scripted(*outcomes: str | None) -> tuple[RecordingPool, list[float]]:
    """A pool answering with `outcomes` in turn (None is success; the last repeats), timing each call."""
    times: list[float] = []

    def answer(_event: Any) -> InvocationResult:
        times.append(time.monotonic())
        outcome = outcomes[min(len(times), len(outcomes)) - 1]
        return InvocationResult(error_type=outcome)

    return RecordingPool(answer=answer), times


def settle(invoker: AsyncInvoker, action: Any, timeout: float = 5.0) -> None:
    async def main() -> None:
        result = action()
        if asyncio.iscoroutine(result):
            await result
        await asyncio.sleep(0)
        await invoker.drain(timeout)

    asyncio.run(main())


def test_a_function_error_is_retried_twice_with_the_policys_delays_then_dropped():
    pool, times = scripted("Sandbox.Timedout")
    invoker = AsyncInvoker(FAST)
    settle(invoker, lambda: invoker.submit(pool, {"n": 1}))
    assert len(pool.events) == 3  # the attempt and two retries, never a fourth
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1
    assert invoker.records[0].outcomes == ["Sandbox.Timedout"] * 3


def test_a_retry_that_succeeds_ends_the_delivery():
    pool, _ = scripted("Runtime.ImportModuleError", None)
    invoker = AsyncInvoker(FAST)
    settle(invoker, lambda: invoker.submit(pool, {}))
    assert invoker.records[0].outcomes == ["Runtime.ImportModuleError", None]


def test_throttles_are_requeued_without_using_up_the_retries():
    pool, times = scripted(THROTTLED, THROTTLED, THROTTLED, "Boom", None)
    invoker = AsyncInvoker(FAST)
    settle(invoker, lambda: invoker.submit(pool, {}))
    assert invoker.records[0].outcomes == [THROTTLED, THROTTLED, THROTTLED, "Boom", None]
    assert times[2] - times[1] >= 0.02 - 0.001  # the throttle delay grows (0.01, 0.02, …)


def test_a_throttled_event_is_dropped_at_its_maximum_age():
    pool, _ = scripted(THROTTLED)
    invoker = AsyncInvoker(
        AsyncInvocationPolicy(
            first_throttle_delay_seconds=0.01, max_throttle_delay_seconds=0.02, max_event_age_seconds=0.2
        )
    )
    settle(invoker, lambda: invoker.submit(pool, {}))
    attempts = len(pool.events)
    assert 3 <= attempts <= 21 and set(invoker.records[0].outcomes) == {THROTTLED}


def test_the_duplicate_switch_delivers_every_event_twice():
    pool, _ = scripted(None)
    invoker = AsyncInvoker(AsyncInvocationPolicy(duplicate_fraction=1.0))

    def submit_three() -> None:
        for n in range(3):
            invoker.submit(pool, {"n": n})

    settle(invoker, submit_three)
    assert sorted(event["n"] for event in pool.events) == [0, 0, 1, 1, 2, 2]


def test_a_triggered_failure_reports_the_first_attempt_and_is_retried_afterwards():
    pool, _ = scripted("Boom", None)
    invoker = AsyncInvoker(FAST)
    scheduler = Scheduler(
        [
            ScheduleRule(
                "Rule", "job", "arn:aws:events:us-east-1:000000000000:rule/job", "rate(1 minute)", ("fn",), True
            )
        ],
        {"fn": pool},  # type: ignore[dict-item]
        "us-east-1",
        "000000000000",
        1.0,
        invoker,
    )
    failures: list[int] = []

    async def trigger() -> None:
        failures.append(await scheduler.trigger("job"))

    settle(invoker, trigger)
    assert failures == [1]
    assert invoker.records[0].outcomes == ["Boom", None]


class SlowPool(RecordingPool):
    """Each run takes `seconds`; records how many runs were in flight at once."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self.in_flight = 0
        self.most_in_flight = 0

    async def invoke(self, event: Any) -> InvocationResult:
        self.events.append(event)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(self.seconds)
        self.in_flight -= 1
        return InvocationResult()


def test_a_run_that_outlasts_the_period_overlaps_the_next_as_in_eventbridge():
    pool = SlowPool(0.25)
    rule = ScheduleRule(
        "Rule", "job", "arn:aws:events:us-east-1:000000000000:rule/job", "rate(1 minute)", ("fn",), True
    )
    invoker = AsyncInvoker()
    scheduler = Scheduler([rule], {"fn": pool}, "us-east-1", "000000000000", 0.001, invoker)  # type: ignore[dict-item]

    async def run_briefly() -> None:
        task = asyncio.ensure_future(scheduler.run())
        await asyncio.sleep(0.5)
        task.cancel()
        await invoker.drain(2.0)

    asyncio.run(run_briefly())
    assert len(pool.events) >= 4  # on time every 60 ms, not every 250 ms
    assert pool.most_in_flight >= 2

"""Lambda's asynchronous invocation: what `Invoke` with `InvocationType=Event` and every
EventBridge target go through.

As Lambda documents it (lambda/latest/dg/invocation-async-error-handling.html):
- a function error (raised, timed out, failed to init, returned what cannot be marshalled) is
  retried twice, about one minute and then two minutes later;
- a throttle goes back to the queue and is retried with a delay that grows from one second to
  five minutes, until the event is six hours old;
- an event may be delivered more than once ("at least once"), so functions must be idempotent.

Delays are settings (tests shorten them), and `duplicate_fraction` is a fault switch that delivers
that share of events twice, to prove handlers are idempotent, as AWS may do at any time.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from local_stack.awslambda.pool import FunctionPool, InvocationResult

log = logging.getLogger("local_stack.awslambda.async")

THROTTLED = "TooManyRequestsException"


@dataclass
class AsyncInvocationPolicy:
    retry_delays_seconds: tuple[float, ...] = (60.0, 120.0)
    max_event_age_seconds: float = 6 * 3600.0
    first_throttle_delay_seconds: float = 1.0
    max_throttle_delay_seconds: float = 300.0
    duplicate_fraction: float = 0.0


@dataclass
class DeliveryRecord:
    """One event's fate: every attempt's outcome (None for success), for tests and the log."""

    function_name: str
    outcomes: list[str | None] = field(default_factory=list)


class AsyncInvoker:
    """Queues events for functions and retries them as Lambda does; never awaits a whole delivery
    on behalf of its caller, so slow runs overlap as they do in AWS."""

    def __init__(self, policy: AsyncInvocationPolicy | None = None, seed: int | None = None) -> None:
        self.policy = policy or AsyncInvocationPolicy()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._random = random.Random(seed)  # noqa: S311 - fault sampling, not security
        # The latest deliveries only: a long-running stack must not keep every event it ever queued.
        self.records: deque[DeliveryRecord] = deque(maxlen=256)

    def submit(self, pool: FunctionPool, event: Any) -> None:
        """Accept an event (Invoke's 202): delivered in the background, perhaps twice."""
        for _ in range(self._copies()):
            self._spawn(self._deliver(pool, event, DeliveryRecord(pool.spec.name)))

    async def first_attempt(self, pool: FunctionPool, event: Any) -> InvocationResult:
        """Deliver now and wait for the first attempt only (the local trigger route reports it);
        retries and duplicates continue in the background exactly as for `submit`."""
        for _ in range(self._copies() - 1):
            self._spawn(self._deliver(pool, event, DeliveryRecord(pool.spec.name)))
        record = DeliveryRecord(pool.spec.name)
        self.records.append(record)
        result = await pool.invoke(event)
        record.outcomes.append(result.error_type)
        if result.failed:
            self._spawn(self._deliver(pool, event, record, after=result, started=time.monotonic()))
        return result

    def _copies(self) -> int:
        duplicate = self.policy.duplicate_fraction and self._random.random() < self.policy.duplicate_fraction
        return 2 if duplicate else 1

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(
        self,
        pool: FunctionPool,
        event: Any,
        record: DeliveryRecord,
        after: InvocationResult | None = None,
        started: float | None = None,
    ) -> None:
        if after is None:
            self.records.append(record)
        started = time.monotonic() if started is None else started
        function_errors = sum(1 for outcome in record.outcomes if outcome not in (None, THROTTLED))
        throttle_delay = self.policy.first_throttle_delay_seconds
        result = after
        while True:
            if result is not None:
                if not result.failed:
                    return
                if result.error_type == THROTTLED:
                    if time.monotonic() - started + throttle_delay > self.policy.max_event_age_seconds:
                        log.warning("async event for %s dropped: older than the maximum age", pool.spec.name)
                        return
                    await asyncio.sleep(throttle_delay)
                    throttle_delay = min(throttle_delay * 2, self.policy.max_throttle_delay_seconds)
                else:
                    if function_errors > len(self.policy.retry_delays_seconds):
                        log.warning(
                            "async event for %s dropped after %d attempts: %s",
                            pool.spec.name,
                            function_errors,
                            result.error_type,
                        )
                        return
                    await asyncio.sleep(self.policy.retry_delays_seconds[function_errors - 1])
            result = await pool.invoke(event)
            record.outcomes.append(result.error_type)
            if result.failed and result.error_type != THROTTLED:
                function_errors += 1

    async def drain(self, timeout: float) -> None:
        """Wait for every pending delivery (tests), at most `timeout` seconds."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    def shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()

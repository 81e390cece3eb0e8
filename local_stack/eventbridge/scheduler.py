"""Runs schedule rules against their target functions.

Time is scaled by `time_scale` (0.01 turns a one-minute rule into 0.6 s) so tests can exercise the
periodic job in seconds; the default 1.0 is EventBridge's real cadence. `trigger` runs a rule now.

EventBridge invokes Lambda targets asynchronously: a run that outlasts the period does not delay
the next, which starts on time and overlaps it, and a failed run is retried by Lambda's own async
policy. Each period therefore hands its event to the async invoker and does not wait for it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from local_stack.awslambda.async_invocations import AsyncInvoker
from local_stack.awslambda.pool import FunctionPool
from local_stack.eventbridge.models import ScheduleRule, cron_matches, scheduled_event

log = logging.getLogger("local_stack.eventbridge")


class Scheduler:
    def __init__(
        self,
        rules: list[ScheduleRule],
        pools: dict[str, FunctionPool],
        region: str,
        account_id: str,
        time_scale: float,
        invoker: AsyncInvoker | None = None,
    ) -> None:
        self.rules = {rule.name: rule for rule in rules}
        self.pools = pools
        self.region = region
        self.account_id = account_id
        self.time_scale = time_scale
        self.invoker = invoker or AsyncInvoker()

    async def trigger(self, name: str) -> int:
        """Run a rule now and wait for each target's first attempt (the local trigger route reports
        it); returns how many targets failed. Lambda's retries of a failure continue afterwards."""
        rule = self.rules[name]
        event = scheduled_event(rule, self.region, self.account_id)
        missing = [f for f in rule.target_function_names if f not in self.pools]
        results = await asyncio.gather(
            *(self.invoker.first_attempt(self.pools[f], event) for f in rule.target_function_names if f in self.pools)
        )
        for result in results:
            if result.failed:
                log.warning("rule %s: a target failed: %s", name, result.error_type)
        return len(missing) + sum(1 for result in results if result.failed)

    def fire(self, name: str) -> None:
        """One period's run: every target gets the event asynchronously, nothing is awaited."""
        rule = self.rules[name]
        event = scheduled_event(rule, self.region, self.account_id)
        for function_name in rule.target_function_names:
            pool = self.pools.get(function_name)
            if pool is None:
                log.warning("rule %s: target %s is not a function of this stack", name, function_name)
                continue
            self.invoker.submit(pool, event)

    async def _run_rate(self, rule: ScheduleRule, interval: float) -> None:
        while True:
            await asyncio.sleep(interval * self.time_scale)
            self.fire(rule.name)

    async def _run_cron(self, rule: ScheduleRule) -> None:
        last_minute = None
        while True:
            await asyncio.sleep(max(0.01, 1.0 * self.time_scale))
            moment = datetime.now(UTC).replace(second=0, microsecond=0)
            if moment != last_minute and cron_matches(rule.expression, moment):
                last_minute = moment
                self.fire(rule.name)

    async def run(self) -> None:
        tasks = []
        for rule in self.rules.values():
            if not rule.enabled:
                continue
            interval = rule.interval_seconds()
            tasks.append(self._run_rate(rule, interval) if interval is not None else self._run_cron(rule))
        if tasks:
            await asyncio.gather(*tasks)

"""Runs schedule rules against their target functions.

Time is scaled by `time_scale` (0.01 turns a one-minute rule into 0.6 s) so tests can exercise the
periodic job in seconds; the default 1.0 is EventBridge's real cadence. `trigger` runs a rule now.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from local_stack.awslambda.pool import FunctionPool
from local_stack.eventbridge.models import ScheduleRule, cron_matches, scheduled_event

log = logging.getLogger("local_stack.eventbridge")


class Scheduler:
    def __init__(
        self, rules: list[ScheduleRule], pools: dict[str, FunctionPool], region: str, account_id: str, time_scale: float
    ) -> None:
        self.rules = {rule.name: rule for rule in rules}
        self.pools = pools
        self.region = region
        self.account_id = account_id
        self.time_scale = time_scale
        self.invocations: dict[str, int] = dict.fromkeys(self.rules, 0)

    async def trigger(self, name: str) -> int:
        """Invoke every target of a rule once, now; returns how many targets failed."""
        rule = self.rules[name]
        failures = 0
        event = scheduled_event(rule, self.region, self.account_id)
        for function_name in rule.target_function_names:
            pool = self.pools.get(function_name)
            if pool is None:
                failures += 1
                continue
            result = await pool.invoke(event)
            self.invocations[name] += 1
            if result.failed:
                failures += 1
                log.warning("rule %s: %s failed: %s", name, function_name, result.error_type)
        return failures

    async def _run_rate(self, rule: ScheduleRule, interval: float) -> None:
        while True:
            await asyncio.sleep(interval * self.time_scale)
            await self.trigger(rule.name)

    async def _run_cron(self, rule: ScheduleRule) -> None:
        last_minute = None
        while True:
            await asyncio.sleep(max(0.01, 1.0 * self.time_scale))
            moment = datetime.now(UTC).replace(second=0, microsecond=0)
            if moment != last_minute and cron_matches(rule.expression, moment):
                last_minute = moment
                await self.trigger(rule.name)

    async def run(self) -> None:
        tasks = []
        for rule in self.rules.values():
            if not rule.enabled:
                continue
            interval = rule.interval_seconds()
            tasks.append(self._run_rate(rule, interval) if interval is not None else self._run_cron(rule))
        if tasks:
            await asyncio.gather(*tasks)

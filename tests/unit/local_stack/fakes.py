"""Stand-ins for the Lambda pools, so the gateway and the scheduler run without worker processes."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from local_stack.awslambda.pool import InvocationResult


class RecordingPool:
    """Answers every invocation with `answer(event)` (a fixed result by default) and keeps the events."""

    def __init__(
        self, result: InvocationResult | None = None, answer: Callable[[Any], InvocationResult] | None = None
    ) -> None:
        self.events: list[Any] = []
        self._answer = answer or (lambda _event: result or InvocationResult())
        self.spec = SimpleNamespace(name="recording")

    async def invoke(self, event: Any) -> InvocationResult:
        self.events.append(event)
        return self._answer(event)

"""Stand-ins for the Lambda pools, so the gateway and the scheduler run without worker processes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from local_stack.awslambda.models import FunctionSpec
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


def handler_code(root: Path, source: str) -> Path:
    """A function's code directory holding one module, `app.py`, with `source`."""
    (root / "code").mkdir()
    (root / "code" / "app.py").write_text(source)
    return root / "code"


def function_spec(code: Path, **fields: Any) -> FunctionSpec:
    """A function `fn` running `app.handler` from `code`, with `fields` over the defaults."""
    defaults: dict[str, Any] = {
        "logical_id": "Fn",
        "name": "fn",
        "arn": "arn:aws:lambda:us-east-1:000000000000:function:fn",
        "handler": "app.handler",
        "runtime": "python3.11",
        "code_path": code,
        "memory_mb": 128,
        "timeout_seconds": 10,
    }
    return FunctionSpec(**{**defaults, **fields})

"""The one way a stack test waits for asynchronous work: poll a condition until a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_until(check: Callable[[], Any], timeout: float = 10, interval: float = 0.05) -> Any:
    """The first truthy value of `check`, polled until `timeout` seconds have passed.

    For effects that land after the call that caused them ($disconnect, the periodic job, a
    restarted process); raises AssertionError with the last value when the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {result!r})")
        time.sleep(interval)

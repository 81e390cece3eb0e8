"""What a load run shows while it runs: phase, connections held against the target, per-step p95 so
far, failures, elapsed and what remains. The conductor (in the Locust master) appends one plain line
every few seconds to `progress-<mode>.log` in the run's report; the parent process prints each new
line as it waits, so a terminal and CI see the same plain lines."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROGRESS_EVERY_SECONDS = 5.0
# The steps whose p95 a reader watches; others are in the final report.
WATCHED = ("create", "join", "heartbeat")


def progress_file(report_dir: Path, mode: str) -> Path:
    return report_dir / f"progress-{mode}.log"


def progress_line(phase: str, held: int, expected: int, stats: Any, elapsed: float, remaining: float) -> str:
    """One line: `[  35s] ramp  connections 4,210/10,020  p95 create 820 ms join 310 ms ...`."""
    p95 = []
    for name in WATCHED:
        entry = next((e for e in stats.entries.values() if e.name == name), None)
        if entry is not None and entry.num_requests:
            p95.append(f"{name} {entry.get_response_time_percentile(0.95):.0f} ms")
    failures = stats.total.num_failures
    return (
        f"[{elapsed:5.0f}s] {phase:<7} connections {held:,}/{expected:,}  p95 {' '.join(p95) or '-'}  "
        f"failures {failures:,}  remaining <= {max(0.0, remaining):.0f}s"
    )


def report_periodically(path: Path, line: Callable[[], str], stop: Callable[[], bool]) -> None:
    """Append `line()` to `path` every few seconds until `stop()` (run in a greenlet)."""
    import gevent

    path.parent.mkdir(parents=True, exist_ok=True)
    while not stop():
        with path.open("a") as out:
            out.write(line() + "\n")
        gevent.sleep(PROGRESS_EVERY_SECONDS)


class ProgressEcho:
    """The parent's side: print the lines added to the progress file since the last call."""

    def __init__(self, path: Path, prefix: str, printer: Callable[[str], None] = print) -> None:
        self.path, self.prefix, self.printer = path, prefix, printer
        self.offset = 0

    def echo(self) -> None:
        try:
            with self.path.open() as source:
                source.seek(self.offset)
                for text in source.readlines():
                    if text.endswith("\n"):
                        self.printer(f"{self.prefix} {text.rstrip()}")
                        self.offset += len(text.encode())
        except FileNotFoundError:
            return


def wait_echoing(process: Any, echo: ProgressEcho, timeout: float, poll: float = 1.0) -> int | None:
    """`process.wait` that prints progress meanwhile; None when `timeout` passes first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = process.poll()
        echo.echo()
        if status is not None:
            return int(status)
        time.sleep(poll)
    return None

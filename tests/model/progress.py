"""What a model run reports while it runs and at its end: steps, invariants checked, per-rule
counts, known defects met. One line updated in place on a terminal, plain lines otherwise."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

PLAIN_EVERY_SECONDS = 15.0


class BudgetSpent(BaseException):
    """Raised by a new example once the run's time is spent (see tests/model/runner.py)."""


class RunStats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.started = time.monotonic()
        self.deadline: float | None = None
        self.examples = 0
        self.steps = 0
        self.rules: Counter[str] = Counter()
        self.checks: Counter[str] = Counter()
        self.known_hits: Counter[str] = Counter()
        self.failures: list[str] = []
        self._printed = 0.0
        self.stream: Any = sys.__stderr__

    def example_started(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline and not self.failures:
            raise BudgetSpent
        self.examples += 1

    def example_finished(self) -> None:
        self._show(force=False)

    def step(self, name: str) -> None:
        self.steps += 1
        self.rules[name] += 1
        self._show(force=False, last=name)

    def checked(self, name: str, n: int = 1) -> None:
        self.checks[name] += n

    def known(self, name: str) -> None:
        self.known_hits[name] += 1

    def failed(self, lines: list[str]) -> None:
        self.failures += lines

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def line(self, last: str = "") -> str:
        minutes, seconds = divmod(int(self.elapsed()), 60)
        known = sum(self.known_hits.values())
        return (
            f"model {minutes:02d}:{seconds:02d}  examples {self.examples}  steps {self.steps}  "
            f"invariants checked {sum(self.checks.values())}  known-defect hits {known}"
            + (f"  last {last}" if last else "")
        )

    def _show(self, force: bool, last: str = "") -> None:
        stream = self.stream
        if stream is None:
            return
        now = time.monotonic()
        if stream.isatty():
            stream.write("\r" + self.line(last)[:160].ljust(160))
            stream.flush()
        elif force or now - self._printed >= PLAIN_EVERY_SECONDS:
            stream.write(self.line(last) + "\n")
            stream.flush()
            self._printed = now

    def summary(self) -> dict[str, Any]:
        return {
            "seconds": round(self.elapsed(), 1),
            "examples": self.examples,
            "steps": self.steps,
            "invariantsChecked": sum(self.checks.values()),
            "checksByInvariant": dict(sorted(self.checks.items())),
            "stepsByRule": dict(sorted(self.rules.items())),
            "knownDefectHits": dict(sorted(self.known_hits.items())),
            "failures": self.failures[:20],
        }

    def report(self, path: Path | None = None) -> str:
        summary = self.summary()
        lines = [
            "",
            f"model run: {summary['steps']} steps in {summary['examples']} examples, {summary['seconds']} s; "
            f"{summary['invariantsChecked']} invariant checks",
            "  steps by rule: " + ", ".join(f"{k} {v}" for k, v in summary["stepsByRule"].items()),
            "  checks by invariant: " + ", ".join(f"{k} {v}" for k, v in summary["checksByInvariant"].items()),
        ]
        if summary["knownDefectHits"]:
            lines.append(
                "  known defects met (tests/model/known_defects.py): "
                + ", ".join(f"{k} {v}" for k, v in summary["knownDefectHits"].items())
            )
        lines.append("  broken invariants: " + (str(len(self.failures)) if self.failures else "none"))
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(summary, indent=2) + "\n")
        text = "\n".join(lines)
        if self.stream is not None:
            self.stream.write(text + "\n")
            self.stream.flush()
        return text


RUN = RunStats()

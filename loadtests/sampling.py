"""CPU seconds and peak RSS of every process of a load run, grouped by role."""

from __future__ import annotations

import threading
from typing import Any

import psutil

# The local stack's gateway process entry, before and after it got a composition root of its own.
GATEWAY_MODULES = ("local_stack.gateway_process",)


class ResourceSampler:
    """CPU seconds and RSS of every process of the run (stack, floor, Locust), sampled every few
    seconds and grouped by role: one line per gateway, per Lambda function, DynamoDB Local, Locust."""

    def __init__(self, roots: list[int]) -> None:
        self.roots = roots
        self.samples: dict[int, tuple[str, float, float]] = {}  # pid -> (role, peak RSS MiB, CPU seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        self._thread.join(timeout=10)
        roles: dict[str, dict[str, Any]] = {}
        for role, rss, cpu in self.samples.values():
            entry = roles.setdefault(role, {"processes": 0, "peakRssMiBPerProcess": 0.0, "cpuSeconds": 0.0})
            entry["processes"] += 1
            entry["peakRssMiBPerProcess"] = round(max(entry["peakRssMiBPerProcess"], rss), 1)
            entry["cpuSeconds"] = round(entry["cpuSeconds"] + cpu, 1)
        return dict(sorted(roles.items()))

    @staticmethod
    def role(process: psutil.Process) -> str:
        command = process.cmdline()
        if "worker.py" in " ".join(command):
            return "lambda " + str(process.environ().get("AWS_LAMBDA_FUNCTION_NAME", "?"))
        if any("DynamoDBLocal" in part for part in command):
            return "dynamodb-local (java)"
        if "-m" in command:
            module = command[command.index("-m") + 1]
            if module in GATEWAY_MODULES and "--index" in command:
                return f"gateway {command[command.index('--index') + 1]}"
            return str(module)
        return " ".join(command[:2])[:60]

    def _run(self) -> None:
        while not self._stop.wait(3):
            for root in self.roots:
                try:
                    family = [psutil.Process(root), *psutil.Process(root).children(recursive=True)]
                except psutil.Error:
                    continue
                for process in family:
                    try:
                        previous = self.samples.get(process.pid)
                        role = previous[0] if previous else self.role(process)
                        rss = process.memory_info().rss / 2**20
                        times = process.cpu_times()
                    except psutil.Error:
                        continue
                    peak = max(previous[1], rss) if previous else rss
                    self.samples[process.pid] = (role, peak, times.user + times.system)

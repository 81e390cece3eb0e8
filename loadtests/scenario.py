"""A load scenario: how many sessions and listeners, how fast to ramp, how long to hold.

Scenarios are data (`loadtests/scenarios/<name>.json`) so a release engineer can read what a
gate was measured under without reading code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
# API Gateway admits 500 new connections per second per account and region.
MAX_SPAWN_RATE = 500


@dataclass(frozen=True)
class Scenario:
    name: str
    sessions: int
    listeners_per_session: int
    spawn_rate: float
    steady_seconds: float
    max_run_seconds: float
    heartbeat_seconds: float
    control_seconds: float
    processes: int = 1
    gateway_processes: int = 1
    env: str = "local"
    floor: bool = False
    refresh: bool = False
    # Local stack only: the periodic job's period is multiplied by this (0.05: every 3 s instead of every minute).
    schedule_time_scale: float = 1.0
    # Local stack only: execution environments per function per gateway process, all warm before the ramp.
    lambda_concurrency: int = 8
    target_language_mix: dict[str, float] = field(default_factory=lambda: {"es": 1.0})
    description: str = ""
    source: str = ""

    @property
    def listeners(self) -> int:
        return self.sessions * self.listeners_per_session

    @property
    def connections(self) -> int:
        return self.sessions + self.listeners

    @classmethod
    def load(cls, name_or_path: str) -> Scenario:
        path = Path(name_or_path)
        if not path.suffix:
            path = SCENARIO_DIR / f"{name_or_path}.json"
        raw: dict[str, Any] = json.loads(path.read_text())
        scenario = cls(
            name=raw["name"],
            sessions=int(raw["sessions"]),
            listeners_per_session=int(raw["listenersPerSession"]),
            spawn_rate=float(raw["spawnRate"]),
            steady_seconds=float(raw["steadySeconds"]),
            max_run_seconds=float(raw["maxRunSeconds"]),
            heartbeat_seconds=float(raw["heartbeatSeconds"]),
            control_seconds=float(raw["controlSeconds"]),
            processes=int(raw.get("processes", 1)),
            gateway_processes=int(raw.get("gatewayProcesses", 1)),
            env=str(raw.get("env", "local")),
            floor=bool(raw.get("floor", False)),
            refresh=bool(raw.get("refresh", False)),
            schedule_time_scale=float(raw.get("scheduleTimeScale", 1.0)),
            lambda_concurrency=int(raw.get("lambdaConcurrency", 8)),
            target_language_mix={str(k): float(v) for k, v in raw["targetLanguageMix"].items()},
            description=str(raw.get("description", "")),
            source=str(path.resolve()),
        )
        if not 0 < scenario.spawn_rate <= MAX_SPAWN_RATE:
            raise ValueError(f"{path}: spawnRate must be in (0, {MAX_SPAWN_RATE}] (API Gateway's new-connection quota)")
        return scenario

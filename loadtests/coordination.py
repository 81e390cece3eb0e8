"""What the Locust processes agree on, carried by Locust's own messaging (never a side channel).

- The roster: the master (or the only process) assigns every listener a slot in one session, so a
  scenario of 100 x 500 puts exactly 500 listeners in each session however many workers run.
- The phase: the master declares `steady` once every connection is held, and workers name their
  samples by phase (`heartbeat` vs `heartbeat (ramp)`), so gates read steady-state figures
  straight from Locust's own statistics.
- Held connections: each worker reports how many it holds with its regular stats report.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gevent
from gevent.event import AsyncResult

if TYPE_CHECKING:  # importing locust monkey-patches the process; only the locustfile may do that
    from locust.env import Environment

SESSION_READY = "loadtest_session_ready"
CLAIM_SLOT = "loadtest_claim_listener_slot"
SLOT = "loadtest_listener_slot"
PHASE = "loadtest_phase"
HELD_REPORT_KEY = "loadtest_held"

RAMP, STEADY = "ramp", "steady"


class LocalState:
    """This process's view: its phase and the connections its users hold."""

    def __init__(self) -> None:
        self.phase = RAMP
        self.held = 0

    def sample_name(self, step: str) -> str:
        return step if self.phase == STEADY else f"{step} (ramp)"


Reply = Callable[[Any, dict[str, Any]], None]


class Roster:
    """The assigning side; it lives only in the master or the only process."""

    def __init__(self, reply: Reply, listeners_per_session: int) -> None:
        self.reply = reply  # answers the process that asked
        self.per_session = listeners_per_session
        self.sessions: list[str] = []
        self.assigned: dict[str, int] = {}

    def on_session_ready(self, environment: Any, msg: Any, **_: Any) -> None:
        session_id = msg.data["sessionId"]
        if session_id not in self.assigned:
            self.sessions.append(session_id)
            self.assigned[session_id] = 0

    def on_claim(self, environment: Any, msg: Any, **_: Any) -> None:
        session_id = next((s for s in self.sessions if self.assigned[s] < self.per_session), None)
        if session_id is not None:
            self.assigned[session_id] += 1
        self.reply(msg, {"ticket": msg.data["ticket"], "sessionId": session_id})


class RosterClient:
    """The asking side, in every process that runs users."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        self._pending: dict[str, AsyncResult] = {}
        self._tickets = itertools.count()
        self._prefix = uuid.uuid4().hex[:8]

    def on_slot(self, environment: Any, msg: Any, **_: Any) -> None:
        waiter = self._pending.pop(msg.data["ticket"], None)
        if waiter is not None:
            waiter.set(msg.data["sessionId"])

    def announce(self, session_id: str) -> None:
        assert self.environment.runner is not None
        self.environment.runner.send_message(SESSION_READY, {"sessionId": session_id})

    def claim(self, deadline: float) -> str | None:
        """A session with a free listener slot; waits while speakers are still creating sessions."""
        assert self.environment.runner is not None
        while time.monotonic() < deadline:
            ticket = f"{self._prefix}-{next(self._tickets)}"
            waiter = self._pending[ticket] = AsyncResult()
            self.environment.runner.send_message(CLAIM_SLOT, {"ticket": ticket})
            try:
                session_id: str | None = waiter.get(timeout=10)
            except gevent.Timeout:
                self._pending.pop(ticket, None)
                continue
            if session_id is not None:
                return session_id
            gevent.sleep(0.25)
        return None


class HeldConnections:
    """Connections held across processes: each worker adds its count to its regular stats report,
    and the master sums the latest count of every worker."""

    def __init__(self, state: LocalState) -> None:
        self.state = state
        self.by_worker: dict[str, int] = {}

    def on_report_to_master(self, client_id: str, data: dict[str, Any], **_: Any) -> None:
        data[HELD_REPORT_KEY] = self.state.held

    def on_worker_report(self, client_id: str, data: dict[str, Any], **_: Any) -> None:
        if HELD_REPORT_KEY in data:
            self.by_worker[client_id] = int(data[HELD_REPORT_KEY])

    def total(self, environment: Environment) -> int:
        from locust.runners import MasterRunner

        return sum(self.by_worker.values()) if isinstance(environment.runner, MasterRunner) else self.state.held


@dataclass(frozen=True)
class Coordination:
    """This process's part: the roster if it assigns listeners, the client if it runs users."""

    roster: Roster | None
    roster_client: RosterClient
    held: HeldConnections


def register(environment: Environment, state: LocalState, listeners_per_session: int) -> Coordination:
    from locust.runners import LocalRunner, MasterRunner, WorkerRunner

    runner = environment.runner
    roster = None
    client = RosterClient(environment)
    held = HeldConnections(state)
    environment.events.report_to_master.add_listener(held.on_report_to_master)
    environment.events.worker_report.add_listener(held.on_worker_report)
    if isinstance(runner, (MasterRunner, LocalRunner)):

        def reply(msg: Any, data: dict[str, Any]) -> None:
            if isinstance(runner, MasterRunner):
                runner.send_message(SLOT, data, client_id=msg.node_id)
            else:
                runner.send_message(SLOT, data)

        roster = Roster(reply, listeners_per_session)
        runner.register_message(SESSION_READY, roster.on_session_ready)
        runner.register_message(CLAIM_SLOT, roster.on_claim)
    if isinstance(runner, (WorkerRunner, LocalRunner)):
        runner.register_message(SLOT, client.on_slot)

        def on_phase(environment: Any, msg: Any, **_: Any) -> None:
            state.phase = msg.data["phase"]

        runner.register_message(PHASE, on_phase)
    return Coordination(roster, client, held)

"""Speakers and listeners of the session service, as Locust users.

Run through `make load-test` (loadtests/run.py), which sets the environment this file reads:
LOAD_SCENARIO (a scenario name or file), LOAD_TARGET_FILE (the target's endpoints as JSON),
LOAD_REPORT_DIR, and LOAD_MODE (`service`, or `floor` for the bare echo server baseline).

Measured steps, each a Locust request event of its own name: `create` (connection start to
`sessionCreated`), `join` (connection start to the accepted handshake, which is a listener's
answer), `heartbeat` (send to `heartbeatAck`), `fanout` (speaker control sent to its
`broadcastStateChanged` at a listener), `refresh` (new connection start to
`connectionRefreshComplete`) and `control` (speaker control sent to its acknowledgement). Samples
taken before every connection is held carry the suffix ` (ramp)`.
"""

from __future__ import annotations

import gc
import itertools
import json
import os
import random
import time
from pathlib import Path
from typing import Any

import gevent
import locust.runners
from locust import User, constant, events, task
from locust.env import Environment
from locust.exception import StopUser
from locust.runners import MasterRunner, WorkerRunner

from loadtests import coordination, verifier
from loadtests.protocol import Connection
from loadtests.scenario import Scenario
from loadtests.target import SpeakerTokens

SCENARIO = Scenario.load(os.environ.get("LOAD_SCENARIO", "smoke"))
MODE = os.environ.get("LOAD_MODE", "service")
REPORT_DIR = Path(os.environ.get("LOAD_REPORT_DIR", "reports/load/adhoc"))
TARGET: dict[str, Any] = (
    json.loads(Path(os.environ["LOAD_TARGET_FILE"]).read_text()) if "LOAD_TARGET_FILE" in os.environ else {}
)
CONNECT_TIMEOUT = 30.0
ANSWER_TIMEOUT = 15.0
# Control requestIds carry their send time, so a listener measures fan-out end to end.
CONTROL_PREFIX = "lt"

# A worker busy with a ramp misses a few of its 1 s liveness beats; the master must not drop it.
locust.runners.HEARTBEAT_LIVENESS = 60

STATE = coordination.LocalState()
_urls = itertools.cycle(TARGET.get("websocketUrls") or [TARGET.get("websocketUrl", "")])
_control_seq = itertools.count()
_context: dict[str, Any] = {}


class JoinPacer:
    """Listeners that waited for a session would otherwise join in one burst when it appears; joins
    keep the scenario's arrival rate instead (split across Locust processes)."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self.next_at = 0.0

    def wait(self) -> None:
        now = time.monotonic()
        slot = max(now, self.next_at)
        self.next_at = slot + self.interval
        gevent.sleep(slot - now)


def _fire(name: str, milliseconds: float, exception: Exception | None) -> None:
    environment: Environment = _context["environment"]
    environment.events.request.fire(
        request_type="WS", name=name, response_time=milliseconds, response_length=0, exception=exception, context={}
    )


def record(step: str, started: float, exception: Exception | None = None, phase_named: bool = True) -> None:
    """A step timed from `started` to now; create and join are not phase-named (they only happen in the ramp)."""
    _fire(STATE.sample_name(step) if phase_named else step, (time.perf_counter() - started) * 1000, exception)


def fire_ms(step: str, milliseconds: float) -> None:
    """A step whose duration was measured elsewhere (a frame's receive time, a send time carried in requestId)."""
    _fire(STATE.sample_name(step), milliseconds, None)


class SessionUser(User):
    """What speakers and listeners share: one live connection, heartbeats, refresh on notice."""

    abstract = True
    wait_time = constant(SCENARIO.heartbeat_seconds)

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self.connection: Connection | None = None
        self.url = next(_urls)
        self.session_id: str | None = None
        self.refreshing = False

    def open(self, query: dict[str, str]) -> Connection:
        return Connection.open(
            self.url, query, self.on_push, self.on_closed, CONNECT_TIMEOUT, ca_bundle=TARGET.get("caBundleForClients")
        )

    def hold(self, connection: Connection) -> None:
        if self.connection is None:
            STATE.held += 1
        self.connection = connection

    def release(self) -> None:
        if self.connection is not None:
            STATE.held -= 1
            self.connection.close()
            self.connection = None

    def on_stop(self) -> None:
        self.release()

    def on_closed(self, connection: Connection, reason: Exception) -> None:
        if connection is not self.connection:
            return  # an old connection closing after a refresh is expected
        STATE.held -= 1
        self.connection = None
        record("connection", time.perf_counter(), ConnectionError(f"closed by the server: {reason}"), False)

    def on_push(self, frame: dict[str, Any], received: float) -> None:
        if frame["type"] == "connectionRefreshRequired" and not self.refreshing:
            self.refreshing = True
            gevent.spawn(self.refresh, frame)

    @task
    def heartbeat(self) -> None:
        if self.connection is None:
            self.reconnect()
            return
        connection = self.connection
        ack = connection.expect("heartbeatAck")
        started = time.perf_counter()
        try:
            connection.send({"action": "heartbeat", "timestamp": int(time.time() * 1000)})
            _, received = ack.get(timeout=ANSWER_TIMEOUT)
        except Exception as exc:
            record("heartbeat", started, exc)
            return
        fire_ms("heartbeat", (received - started) * 1000)

    def reconnect(self) -> None:
        raise NotImplementedError

    def refresh_query(self, notice: dict[str, Any]) -> dict[str, str]:
        raise NotImplementedError

    def refresh(self, notice: dict[str, Any]) -> None:
        """Take over with a new connection before API Gateway's 2-hour cap closes the old one."""
        started = time.perf_counter()
        try:
            new = self.open(self.refresh_query(notice))
            complete = new.expect("connectionRefreshComplete")
            complete.get(timeout=ANSWER_TIMEOUT)
        except Exception as exc:
            record("refresh", started, exc)
        else:
            record("refresh", started)
            old, self.connection = self.connection, new
            if old is None:
                STATE.held += 1
            else:
                old.close()
        finally:
            self.refreshing = False


class SpeakerUser(SessionUser):
    """Signs in, creates a session, heartbeats, sends a control now and then, reads status pushes."""

    fixed_count = SCENARIO.sessions if MODE == "service" else 0

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self.token = ""
        self.last_control = time.monotonic()
        self.status_pushes = 0

    def on_start(self) -> None:
        self.token = _context["tokens"].next_token()
        started = time.perf_counter()
        try:
            connection = self.open(
                {"action": "createSession", "sourceLanguage": "en", "qualityTier": "standard", "token": self.token}
            )
            created, _ = connection.expect("sessionCreated").get(timeout=ANSWER_TIMEOUT)
        except Exception as exc:
            record("create", started, exc, False)
            raise StopUser from None  # a speaker without a session has nothing to do
        record("create", started, phase_named=False)
        self.hold(connection)
        self.session_id = created["sessionId"]
        self.last_control = time.monotonic() + random.uniform(0, SCENARIO.control_seconds)
        _context["roster_client"].announce(self.session_id)

    def reconnect(self) -> None:
        if self.session_id is None or self.refreshing:
            return
        self.refreshing = True
        self.refresh({"sessionId": self.session_id})

    def refresh_query(self, notice: dict[str, Any]) -> dict[str, str]:
        return {"action": "refreshConnection", "sessionId": notice["sessionId"], "role": "speaker", "token": self.token}

    def on_push(self, frame: dict[str, Any], received: float) -> None:
        if frame["type"] == "sessionStatus":
            self.status_pushes += 1
        super().on_push(frame, received)

    @task
    def heartbeat(self) -> None:
        super().heartbeat()
        if self.connection is not None and time.monotonic() - self.last_control >= SCENARIO.control_seconds:
            self.last_control = time.monotonic()
            self.control()

    def control(self) -> None:
        assert self.connection is not None
        sequence = next(_control_seq)
        request_id = f"{CONTROL_PREFIX}-{int(time.time() * 1000)}-{os.getpid()}-{sequence}"
        acknowledged = self.connection.expect("controlAcknowledged")
        started = time.perf_counter()
        try:
            self.connection.send(
                {"action": "speakerControl", "control": "mute" if sequence % 2 else "unmute", "requestId": request_id}
            )
            acknowledged.get(timeout=ANSWER_TIMEOUT)
        except Exception as exc:
            record("control", started, exc)
            return
        record("control", started)


class ListenerUser(SessionUser):
    """Joins a session with a target language from the scenario's mix, heartbeats, receives fan-out."""

    fixed_count = SCENARIO.listeners if MODE == "service" else SCENARIO.connections

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        languages, weights = zip(*SCENARIO.target_language_mix.items(), strict=True)
        self.target_language = random.choices(languages, weights)[0]

    def on_start(self) -> None:
        if MODE == "floor":
            self.session_id = "floor"
        else:
            self.session_id = _context["roster_client"].claim(time.monotonic() + SCENARIO.max_run_seconds)
            if self.session_id is None:
                record("join", time.perf_counter(), TimeoutError("no session had a free listener slot"), False)
                raise StopUser
            _context["pacer"].wait()
        self.join()

    def join(self) -> None:
        assert self.session_id is not None
        started = time.perf_counter()
        try:
            connection = self.open(
                {"action": "joinSession", "sessionId": self.session_id, "targetLanguage": self.target_language}
            )
        except Exception as exc:
            record("join", started, exc, False)
            return
        record("join", started, phase_named=False)
        self.hold(connection)

    def reconnect(self) -> None:
        self.join()

    def refresh_query(self, notice: dict[str, Any]) -> dict[str, str]:
        return {
            "action": "refreshConnection",
            "sessionId": notice["sessionId"],
            "role": "listener",
            "targetLanguage": self.target_language,
            "previousConnectionId": notice["connectionId"],
        }

    def on_push(self, frame: dict[str, Any], received: float) -> None:
        request_id = frame.get("requestId", "")
        if frame["type"] == "broadcastStateChanged" and request_id.startswith(f"{CONTROL_PREFIX}-"):
            sent_ms = int(request_id.split("-")[1])
            fire_ms("fanout", max(0.0, time.time() * 1000 - sent_ms))
        super().on_push(frame, received)


@events.init.add_listener
def on_init(environment: Environment, **_: Any) -> None:
    _context["environment"] = environment
    roster, client = coordination.register(environment, STATE, SCENARIO.listeners_per_session)
    _context["roster"], _context["roster_client"] = roster, client
    processes = int(os.environ.get("LOAD_PROCESSES", "1"))
    _context["pacer"] = JoinPacer(SCENARIO.spawn_rate / max(1, processes))
    if MODE == "service" and not isinstance(environment.runner, MasterRunner):
        _context["tokens"] = SpeakerTokens(TARGET)
    if not isinstance(environment.runner, WorkerRunner):
        environment.events.test_start.add_listener(lambda **__: gevent.spawn(_conduct, environment))
    # Long-lived users make the collector's full passes the largest pauses; freeze what survives.
    gevent.spawn(_freeze_periodically)


@events.report_to_master.add_listener
def on_report_to_master(client_id: str, data: dict[str, Any], **_: Any) -> None:
    data["loadtest_held"] = STATE.held


_held_by_worker: dict[str, int] = {}


@events.worker_report.add_listener
def on_worker_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
    if "loadtest_held" in data:
        _held_by_worker[client_id] = int(data["loadtest_held"])


def held_connections(environment: Environment) -> int:
    return sum(_held_by_worker.values()) if isinstance(environment.runner, MasterRunner) else STATE.held


def _freeze_periodically() -> None:
    while True:
        gevent.sleep(5)
        gc.collect(1)
        gc.freeze()


def _conduct(environment: Environment) -> None:
    """The master's script: ramp until every connection is held, hold steady, verify, stop."""
    runner = environment.runner
    assert runner is not None
    expected = SCENARIO.connections
    started = time.monotonic()
    ramp_deadline = started + max(30.0, SCENARIO.max_run_seconds - SCENARIO.steady_seconds - 60)
    while time.monotonic() < ramp_deadline and held_connections(environment) < expected:
        gevent.sleep(1)
    steady_started = time.monotonic()
    held_at_steady = held_connections(environment)
    runner.send_message(coordination.PHASE, {"phase": coordination.STEADY})
    gevent.sleep(SCENARIO.steady_seconds)
    held_at_end = held_connections(environment)
    roster: coordination.Roster | None = _context["roster"]
    sessions = list(roster.sessions) if roster else []
    live = verifier.verify_live(TARGET, sessions) if MODE == "service" and TARGET else None
    summary = {
        "scenario": SCENARIO.name,
        "mode": MODE,
        "expectedConnections": expected,
        "heldAtSteadyStart": held_at_steady,
        "heldAtSteadyEnd": held_at_end,
        "connectionsReached": min(held_at_steady, held_at_end),
        "rampSeconds": round(steady_started - started, 1),
        "steadySeconds": SCENARIO.steady_seconds,
        "sessions": sessions,
        "listenersAssigned": dict(roster.assigned) if roster else {},
        "verifierLive": live,
    }
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    (REPORT_DIR / f"run-{MODE}.json").write_text(json.dumps(summary, indent=2))
    runner.quit()

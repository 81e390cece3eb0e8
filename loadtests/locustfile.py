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

from loadtests import coordination
from loadtests.conductor import Conductor
from loadtests.protocol import Connection, Meter, connect
from loadtests.scenario import Scenario
from stage_access.tokens import SpeakerTokens

SCENARIO = Scenario.load(os.environ.get("LOAD_SCENARIO", "smoke"))
MODE = os.environ.get("LOAD_MODE", "service")
REPORT_DIR = Path(os.environ.get("LOAD_REPORT_DIR", "reports/load/adhoc"))
TARGET: dict[str, Any] = (
    json.loads(Path(os.environ["LOAD_TARGET_FILE"]).read_text()) if "LOAD_TARGET_FILE" in os.environ else {}
)
CONNECT_TIMEOUT = 30.0
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

    def connect(
        self, step: str, query: dict[str, str], answer: str | None = None
    ) -> tuple[Connection, dict[str, Any] | None] | None:
        """A new connection of this user, timed as `step` up to its `answer` frame; None if it failed."""
        ca_bundle = TARGET.get("caBundleForClients")
        meter = _context["meter"]
        return connect(
            step,
            self.url,
            query,
            self.on_push,
            self.on_closed,
            meter,
            timeout=CONNECT_TIMEOUT,
            answer=answer,
            ca_bundle=ca_bundle,
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
        _context["meter"].fire("connection", 0.0, ConnectionError(f"closed by the server: {reason}"))

    def on_push(self, frame: dict[str, Any], received: float) -> None:
        if frame["type"] == "connectionRefreshRequired" and not self.refreshing:
            self.refreshing = True
            gevent.spawn(self.refresh, frame)

    @task
    def every_heartbeat_period(self) -> None:
        """The user's one Locust task, run every heartbeat period: Locust picks one task per wait at
        random, so actions of their own period (a speaker's controls) are checked on this tick
        instead of competing with heartbeats for it."""
        if self.connection is None:
            self.reconnect()
        else:
            self.heartbeat()
        self.periodic_actions()

    def heartbeat(self) -> None:
        assert self.connection is not None
        self.connection.request(
            "heartbeat", {"action": "heartbeat", "timestamp": int(time.time() * 1000)}, "heartbeatAck"
        )

    def periodic_actions(self) -> None:
        """What a user does besides heartbeats when its own period is due (a speaker's controls)."""

    def reconnect(self) -> None:
        raise NotImplementedError

    def refresh_query(self, notice: dict[str, Any]) -> dict[str, str]:
        raise NotImplementedError

    def refresh(self, notice: dict[str, Any]) -> None:
        """Take over with a new connection before API Gateway's 2-hour cap closes the old one."""
        try:
            opened = self.connect("refresh", self.refresh_query(notice), answer="connectionRefreshComplete")
            if opened is not None:
                old, self.connection = self.connection, opened[0]
                if old is None:
                    STATE.held += 1
                else:
                    old.close()
        finally:
            self.refreshing = False


class SpeakerUser(SessionUser):
    """Signs in, creates a session, heartbeats, sends a control now and then."""

    fixed_count = SCENARIO.sessions if MODE == "service" else 0

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self.token = ""
        self.last_control = time.monotonic()

    def on_start(self) -> None:
        self.token = _context["tokens"].next_token()
        query = {"action": "createSession", "sourceLanguage": "en", "qualityTier": "standard", "token": self.token}
        opened = self.connect("create", query, answer="sessionCreated")
        if opened is None:
            raise StopUser  # a speaker without a session has nothing to do
        connection, created = opened
        assert created is not None
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

    def periodic_actions(self) -> None:
        if self.connection is not None and time.monotonic() - self.last_control >= SCENARIO.control_seconds:
            self.last_control = time.monotonic()
            self.control()

    def control(self) -> None:
        assert self.connection is not None
        sequence = next(_control_seq)
        request_id = f"{CONTROL_PREFIX}-{int(time.time() * 1000)}-{os.getpid()}-{sequence}"
        control = {"action": "speakerControl", "control": "mute" if sequence % 2 else "unmute", "requestId": request_id}
        self.connection.request("control", control, "controlAcknowledged")


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
                _context["meter"].fire("join", 0.0, TimeoutError("no session had a free listener slot"))
                raise StopUser
            _context["pacer"].wait()
        self.join()

    def join(self) -> None:
        assert self.session_id is not None
        query = {"action": "joinSession", "sessionId": self.session_id, "targetLanguage": self.target_language}
        opened = self.connect("join", query)
        if opened is not None:
            self.hold(opened[0])

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
            _context["meter"].fire("fanout", max(0.0, time.time() * 1000 - sent_ms))
        super().on_push(frame, received)


@events.init.add_listener
def on_init(environment: Environment, **_: Any) -> None:
    _context["meter"] = Meter(environment.events.request, STATE.sample_name)
    parts = coordination.register(environment, STATE, SCENARIO.listeners_per_session)
    _context["roster_client"] = parts.roster_client
    processes = int(os.environ.get("LOAD_PROCESSES", "1"))
    _context["pacer"] = JoinPacer(SCENARIO.spawn_rate / max(1, processes))
    if MODE == "service" and not isinstance(environment.runner, MasterRunner):
        _context["tokens"] = SpeakerTokens(TARGET)
    if not isinstance(environment.runner, WorkerRunner):
        conductor = Conductor(SCENARIO, MODE, TARGET, REPORT_DIR, parts.roster, lambda: parts.held.total(environment))
        environment.events.test_start.add_listener(lambda **__: gevent.spawn(conductor.conduct, environment.runner))
    # Long-lived users make the collector's full passes the largest pauses; freeze what survives.
    gevent.spawn(_freeze_periodically)


def _freeze_periodically() -> None:
    while True:
        gevent.sleep(5)
        gc.collect(1)
        gc.freeze()

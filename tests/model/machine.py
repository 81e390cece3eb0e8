"""A stateful model of the session lifecycle that drives the real local stack (stage `e2e`).

The model is small and explicit: the sessions of the current example (who owns them, which
connection is their speaker, whether they ended), and every connection it opened (its role, its
session and language, whether it is open, what it was told). Rules are what a client, the clock or
a fault can do; after every step `invariants` checks the tables and the clients (see
tests/model/invariants.py). Rule arguments are plain values (a connection is an index into the
model's list), so hypothesis's printed failing sequence is a program that replays as it reads
(tests/model/replay.py).
"""

from __future__ import annotations

import functools
import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from session_management.session_ids import generate_session_id
from tests.model import invariants
from tests.model.connections import Conn, Frame
from tests.model.harness import (
    SESSIONS_PER_HOUR,
    Client,
    HandshakeRefused,
    dynamodb_paused,
    local_client,
    run_job,
    speaker_token,
)
from tests.model.known_defects import disabled
from tests.model.progress import RUN

SETTLE_SECONDS = 6.0  # $disconnect is asynchronous: how long the model awaits it before it counts
TARGETS = ("es", "fr", "de", "ja")
SOURCES = ("en", "de")
CONTROLS = ("pause", "resume", "mute", "unmute", "setVolume")
DOCUMENTED_503 = {"SESSION_FULL", "SERVICE_UNAVAILABLE"}
_addresses = (f"127.{a}.{b}.{c}" for a, b, c in itertools.product(range(10, 250), range(1, 250), range(2, 250)))
_users = itertools.count(1)
_requests = itertools.count(1)


def _summarised(lines: list[str], per_name: int = 3) -> list[str]:
    """At most a few lines per invariant (a flood breaks one invariant hundreds of times)."""
    shown: Counter[str] = Counter()
    out = []
    for line in lines:
        name = line.split(":", 1)[0] if not line.startswith("outcome:") else ":".join(line.split(":", 2)[:2])
        shown[name] += 1
        if shown[name] <= per_name:
            out.append(line)
    out += [f"{name}: ... {n - per_name} more like these" for name, n in shown.items() if n > per_name]
    return out


def _job_failures(report: Any) -> bool:
    """Whether a trigger's answer reports a failed run, a failed target (the invocation itself
    failed: raised, timed out or returned what Lambda cannot marshal) or errors anywhere in it."""
    if isinstance(report, dict):
        if report.get("failed") is True or report.get("errors") or report.get("failedTargets"):
            return True
        return any(_job_failures(v) for v in report.values())
    if isinstance(report, list):
        return any(_job_failures(v) for v in report)
    return False


def _rid() -> str:
    return f"m{next(_requests)}"


@dataclass(eq=False)
class ModelSession:
    session_id: str
    owner: str  # a key of SessionModel.users
    speaker: Conn | None
    ended: bool = False
    end_reason: str | None = None


def enabled(name: str, needs: str | None = None) -> Callable[[Any], Any]:
    """Below @rule: the rule is never drawn while it is a known defect switched off (a static
    precondition), and before it runs the model makes sure what it acts on exists (`needs`: a
    session, a speaker, a listener, ...), creating it with the ordinary rules' code if not. That is
    checked as the step runs, not as a precondition: it depends on what the server did (closed
    connections), and a precondition that does would make hypothesis's rule choice differ between
    runs of one example."""

    def decorate(function: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(function)
        def step(self: Any, **kwargs: Any) -> None:
            if needs is not None and not self.ensure(needs):
                RUN.step(f"{name} (nothing to act on)")
                return
            function(self, **kwargs)

        return precondition(lambda self: not disabled(name))(step)

    return decorate


class SessionModel(RuleBasedStateMachine):
    stack: dict[str, Any] = {}  # set by the test (tests/model/conftest.py) before the run

    def __init__(self) -> None:
        RUN.example_started()  # first: once the run's time is spent, this ends the run
        super().__init__()
        self.dynamodb = local_client(self.stack, "dynamodb")
        self.conns: list[Conn] = []
        self.sessions: dict[str, ModelSession] = {}
        self.example = next(_users)
        self.users = {"owner": f"model-{self.example}-owner", "other": f"model-{self.example}-other"}
        self.tokens: dict[str, str] = {}
        self.created_by: Counter[str] = Counter()
        self.hall_ip = next(_addresses)  # a lecture hall behind one NAT address
        self.prober_ip = next(_addresses)
        self.speaker_ip = next(_addresses)
        self.misses: dict[str, list[float]] = {}
        self.existence_answers: dict[str, list[float]] = {}
        self.lineages = itertools.count(1)
        self.refreshed_from: dict[str, Conn] = {}  # previousConnectionId -> the listener it named
        self.orphans_allowed = False
        self.job_ran_this_step = False
        self.last_job_started_ms: int | None = None
        self.pending: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    # -- model helpers ----------------------------------------------------------------------------

    def violation(self, name: str, detail: str) -> None:
        with self.lock:
            self.pending.append((name, detail))

    def token(self, user: str) -> str:
        if user not in self.tokens:
            self.tokens[user] = speaker_token(self.stack, self.users[user])
        return self.tokens[user]

    def open_conns(self, role: str | None = None, session_id: str | None = None) -> list[Conn]:
        return [
            c
            for c in self.conns
            if c.open and (role is None or c.role == role) and (session_id is None or c.session_id == session_id)
        ]

    def active_sessions(self) -> list[ModelSession]:
        return [s for s in self.sessions.values() if not s.ended]

    def current_speakers(self) -> list[Conn]:
        return [s.speaker for s in self.active_sessions() if s.speaker is not None and s.speaker.open]

    def former_speakers(self) -> list[Conn]:
        current = {id(c) for c in self.current_speakers()}
        return [c for c in self.open_conns(role="speaker") if id(c) not in current]

    def live_listeners(self, known_id: bool = False) -> list[Conn]:
        active = {s.session_id for s in self.active_sessions()}
        return [
            c
            for c in self.open_conns(role="listener")
            if c.session_id in active and (c.connection_id is not None or not known_id)
        ]

    def pick(self, items: list[Any], index: int) -> Any:
        return items[index % len(items)]

    def _recent(self, log: dict[str, list[float]], ip: str) -> int:
        now = time.monotonic()
        return sum(1 for t in log.get(ip, []) if now - t < 60)

    def connect(
        self,
        what: str,
        ip: str,
        user: str | None = None,
        timeout: float = 15,
        token_in_header: bool = False,
        **query: str,
    ) -> tuple[Conn | None, int, dict[str, Any]]:
        """A handshake: (connection, 101, {}) when accepted, else (None, status, error body). A
        user's token goes in the query, or (as clients that can set headers do) in Authorization."""
        header = None
        if user is not None and token_in_header:
            header = {"Authorization": f"Bearer {self.token(user)}"}
        elif user is not None:
            query["token"] = self.token(user)
        try:
            client = Client.connect(self.stack["websocketUrl"], source_ip=ip, timeout=timeout, header=header, **query)
        except HandshakeRefused as refused:
            try:
                body = json.loads(refused.body) if refused.body else {}
            except ValueError:
                body = {"raw": refused.body[:200]}
            self.check_status(what, refused.status, body)
            return None, refused.status, body
        except Exception as exc:
            self.violation("no_5xx", f"{what}: handshake not answered: {type(exc).__name__}: {exc}")
            return None, 0, {}
        conn = Conn(serial=len(self.conns), client=client, ip=ip, user=user, on_violation=self.violation)
        conn.start()
        self.conns.append(conn)
        return conn, 101, {}

    def check_status(self, what: str, status: int, body: dict[str, Any]) -> None:
        RUN.checked("no_5xx")
        if status >= 500 and not (status == 503 and body.get("code") in DOCUMENTED_503):
            self.violation("no_5xx", f"{what}: HTTP {status} {json.dumps(body)[:200]}")
        if body.get("code") == "INTERNAL_ERROR":
            self.violation("no_internal_error", f"{what}: {json.dumps(body)[:200]}")

    def expect(self, rule_name: str, ok: bool, detail: str) -> None:
        RUN.checked("outcome")
        if not ok:
            self.violation(f"outcome:{rule_name}", detail)

    def request(self, conn: Conn, message: dict[str, Any], types: tuple[str, ...], timeout: float = 10) -> Frame | None:
        """Send a message and await its answer: a frame with its requestId, or of one of `types`."""
        request_id = _rid()
        mark = conn.mark()
        if not conn.send({**message, "requestId": request_id}):
            return None
        return conn.wait_for(lambda f: f.get("requestId") == request_id or f.get("type") in types, timeout, mark)

    def beat(self, conns: list[Conn], count: int = 1, interval: float = 0.0) -> None:
        """Heartbeats; every one on a connection that stays open must get its heartbeatAck."""
        sent: list[tuple[Conn, str, int]] = []
        for _ in range(count):
            for conn in conns:
                request_id = _rid()
                mark = conn.mark()
                if conn.send({"action": "heartbeat", "timestamp": int(time.time() * 1000), "requestId": request_id}):
                    sent.append((conn, request_id, mark))
            if interval:
                time.sleep(interval)
        deadline = time.monotonic() + 10 + count * 0.02
        for conn, request_id, mark in sent:
            RUN.checked("heartbeat_acked")
            answer = conn.reply(request_id, max(0.1, deadline - time.monotonic()), mark)
            if answer is None:
                if conn.open:
                    self.violation("heartbeat_acked", f"{conn.describe()}: no answer to heartbeat {request_id}")
            elif answer.get("type") != "heartbeatAck":
                self.violation("heartbeat_acked", f"{conn.describe()}: heartbeat answered {json.dumps(answer)[:200]}")

    def http(self, method: str, path: str, user: str, **kwargs: Any) -> requests.Response | None:
        try:
            response = requests.request(
                method,
                f"{self.stack['httpApiUrl']}{path}",
                headers={"Authorization": f"Bearer {self.token(user)}"},
                timeout=30,
                **kwargs,
            )
        except requests.RequestException as exc:
            self.violation("no_5xx", f"{method} {path}: no answer: {exc}")
            return None
        body = response.json() if response.content and "json" in response.headers.get("content-type", "") else {}
        self.check_status(f"{method} {path}", response.status_code, body if isinstance(body, dict) else {})
        return response

    def adopt_listener(self, conn: Conn, session_id: str, language: str, lineage: int | None = None) -> None:
        conn.role, conn.session_id, conn.language = "listener", session_id, language
        conn.lineage = lineage if lineage is not None else next(self.lineages)

    # -- lifecycle of an example ----------------------------------------------------------------------

    @initialize()
    def begin(self) -> None:
        RUN.step("begin")

    def teardown(self) -> None:
        """Close everything and end what is still active, so examples never share state."""
        for conn in self.conns:
            conn.stop()
        for session in self.sessions.values():
            try:
                item = self.dynamodb.get_item(
                    TableName=invariants.TABLES["sessions"],
                    Key={"sessionId": {"S": session.session_id}},
                    ConsistentRead=True,
                ).get("Item")
                if item and item["isActive"]["BOOL"]:
                    requests.patch(
                        f"{self.stack['httpApiUrl']}/sessions/{session.session_id}",
                        headers={"Authorization": f"Bearer {self.token(session.owner)}"},
                        json={"status": "ended"},
                        timeout=30,
                    )
            except Exception:
                continue
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            tables = invariants.Tables.read(self.dynamodb)
            if not any(r["sessionId"]["S"] in self.sessions for r in tables.rows):
                break
            time.sleep(0.1)
        RUN.example_finished()

    # -- create ------------------------------------------------------------------------------------------

    def _created(self, conn: Conn, frame: Frame | None, owner: str) -> None:
        ok = frame is not None and frame.get("type") == "sessionCreated"
        self.created_by[owner] += 1
        if ok:
            assert frame is not None
            conn.role, conn.session_id = "speaker", frame["sessionId"]
            self.sessions[frame["sessionId"]] = ModelSession(frame["sessionId"], owner, conn)
        elif frame is not None and frame.get("code") == "RATE_LIMITED":
            self.expect("create_session", self.created_by[owner] > SESSIONS_PER_HOUR, f"refused: {frame}")
        elif frame is not None and frame.get("code") == "SERVICE_UNAVAILABLE":
            pass  # at maxActiveSessions, or DynamoDB unavailable: documented
        else:
            self.expect("create_session", False, f"{conn.describe()}: no sessionCreated, got {frame}")

    def ensure(self, needs: str) -> bool:
        """Create what a rule acts on if the example has none (a session, a listener, ...)."""
        if needs in ("session", "conn", "speaker") and not self.current_speakers():
            self._create()
        if needs == "two_sessions":
            while len(self.active_sessions()) < 2 and self.created_by["owner"] < 2 * len(self.active_sessions()) + 4:
                self._create()
        if needs in ("listener", "listener_with_id", "two_sessions") and not self.live_listeners(known_id=True):
            if not self.active_sessions():
                self._create()
            if self.active_sessions():
                session = self.active_sessions()[0]
                conn, _ = self._join("message", session.session_id, "es", next(_addresses))
                if conn is not None:
                    self.adopt_listener(conn, session.session_id, "es")
        return bool(
            {
                "session": self.sessions,
                "conn": self.open_conns(),
                "speaker": self.current_speakers(),
                "listener": self.live_listeners(),
                "listener_with_id": self.live_listeners(known_id=True),
                "two_sessions": len(self.active_sessions()) > 1 and self.live_listeners(),
            }[needs]
        )

    @rule()
    def create_session(self) -> None:
        """The owner opens a session, by handshake and by message in turn. No arguments on purpose:
        hypothesis sorts rules by their number of arguments and its simplest example repeats the
        first, so the simplest example creates sessions (instead of, say, running the job 20 times)."""
        RUN.step("create_session")
        self._create()

    def _create(self) -> None:
        form = ("handshake", "message")[self.created_by["owner"] % 2]
        source = SOURCES[self.created_by["owner"] // 2 % len(SOURCES)]
        if form == "handshake":
            conn, _status, body = self.connect(
                "createSession",
                self.speaker_ip,
                "owner",
                action="createSession",
                sourceLanguage=source,
                qualityTier="standard",
            )
            if conn is None:
                self.created_by["owner"] += 1
                self.expect("create_session", body.get("code") in ("RATE_LIMITED", "SERVICE_UNAVAILABLE"), str(body))
                return
            self._created(conn, conn.wait_for(lambda f: f.get("type") in ("sessionCreated", "error"), 10), "owner")
        else:
            conn, _, _ = self.connect("plain", self.speaker_ip, "owner")
            if conn is None:
                return
            frame = self.request(
                conn,
                {"action": "createSession", "sourceLanguage": source, "qualityTier": "premium"},
                ("sessionCreated", "error"),
            )
            self._created(conn, frame, "owner")

    # -- join --------------------------------------------------------------------------------------------

    def _join(self, form: str, session_id: str, language: str, ip: str) -> tuple[Conn | None, str | None]:
        """A listener's join: (its connection, None) if admitted, else (None, the error code)."""
        if form == "handshake":
            conn, status, body = self.connect(
                "joinSession", ip, action="joinSession", sessionId=session_id, targetLanguage=language
            )
            return (conn, None) if conn is not None else (None, body.get("code", f"HTTP {status}"))
        conn, _, _ = self.connect("plain", ip)
        if conn is None:
            return None, "no connection"
        frame = self.request(
            conn, {"action": "joinSession", "sessionId": session_id, "targetLanguage": language}, ("sessionJoined",)
        )
        if frame is not None and frame.get("type") == "sessionJoined":
            return conn, None
        conn.close()
        return None, (frame or {}).get("code", "no answer")

    @rule(
        form=st.sampled_from(["handshake", "message"]),
        session=st.integers(0, 50),
        language=st.sampled_from(TARGETS),
        spread=st.sampled_from(["hall", "many"]),
    )
    @enabled("join_session", "session")
    def join_session(self, form: str, session: int, language: str, spread: str) -> None:
        RUN.step("join_session")
        target: ModelSession = self.pick(list(self.sessions.values()), session)
        ip = self.hall_ip if spread == "hall" else next(_addresses)
        conn, code = self._join(form, target.session_id, language, ip)
        if conn is not None:
            self.adopt_listener(conn, target.session_id, language)
            self.expect("join_session", not target.ended, f"joined the ended session {target.session_id}")
            return
        if target.ended:
            self.expect("join_session", code in ("SESSION_NOT_FOUND", "RATE_LIMITED"), f"ended session: {code}")
        elif code == "RATE_LIMITED":
            RUN.checked("no_typo_lockout")
            misses = self._recent(self.misses, ip)
            if misses <= invariants.TYPO_ALLOWANCE_PER_MINUTE:
                self.violation(
                    "no_typo_lockout",
                    f"correct join of {target.session_id} refused RATE_LIMITED from {ip} after {misses} mistyped ids",
                )
        else:
            self.expect("join_session", False, f"join of active {target.session_id} refused: {code}")

    @rule(
        form=st.sampled_from(["handshake", "message"]),
        kind=st.sampled_from(["unknown", "malformed"]),
        count=st.sampled_from([1, 3, 11]),
    )
    def join_wrong_id(self, form: str, kind: str, count: int) -> None:
        """Listeners of the hall mistyping the id (or typing garbage)."""
        RUN.step("join_wrong_id")
        for _ in range(count):
            session_id = generate_session_id() if kind == "unknown" else "Golden_Eagle-42"
            self.misses.setdefault(self.hall_ip, []).append(time.monotonic())
            conn, code = self._join(form, session_id, "es", self.hall_ip)
            if kind == "unknown" and code != "RATE_LIMITED":
                # A malformed id's refusal depends on its form alone: it says nothing about what exists.
                self.existence_answers.setdefault(self.hall_ip, []).append(time.monotonic())
            # A malformed id in a message fails its contract (INVALID_MESSAGE); in a handshake, the id check.
            expected = {"unknown": ("SESSION_NOT_FOUND",), "malformed": ("INVALID_SESSION_ID", "INVALID_MESSAGE")}[kind]
            self.expect("join_wrong_id", conn is None and code in (*expected, "RATE_LIMITED"), f"{session_id}: {code}")
            if conn is not None:
                conn.close()

    @rule(path=st.sampled_from(["join_handshake", "join_message", "refresh_speaker"]), count=st.sampled_from([1, 40]))
    @enabled("probe_ids")
    def probe_ids(self, path: str, count: int) -> None:
        """One address guessing session ids (enumeration), on each path that can answer 'no such session'."""
        RUN.step("probe_ids")
        for _ in range(count):
            session_id = generate_session_id()
            if path == "refresh_speaker":
                conn, _status, body = self.connect(
                    "refreshConnection",
                    self.prober_ip,
                    "other",
                    action="refreshConnection",
                    sessionId=session_id,
                    role="speaker",
                )
                code = body.get("code") if conn is None else "accepted"
            else:
                conn, code = self._join(path.split("_")[1], session_id, "es", self.prober_ip)
            if conn is not None:
                conn.close()
            self.expect("probe_ids", code in ("SESSION_NOT_FOUND", "RATE_LIMITED"), f"{session_id}: {code}")
            if code != "RATE_LIMITED":
                self.existence_answers.setdefault(self.prober_ip, []).append(time.monotonic())

    # -- heartbeats ----------------------------------------------------------------------------------------

    @rule(conn=st.integers(0, 50), count=st.sampled_from([1, 3, 20]), interval=st.sampled_from([0.0, 0.05, 0.3]))
    @enabled("heartbeat", "conn")
    def heartbeat(self, conn: int, count: int, interval: float) -> None:
        RUN.step("heartbeat")
        target = self.pick(self.open_conns(), conn)
        self.beat([target], count, interval if count * interval <= 3 else 0.0)

    @rule(conn=st.integers(0, 50))
    @enabled("heartbeat_flood", "conn")
    def heartbeat_flood(self, conn: int) -> None:
        """Faster than any configured pace: 400 heartbeats as fast as the socket takes them."""
        RUN.step("heartbeat_flood")
        self.beat([self.pick(self.open_conns(), conn)], 400)

    # -- controls and status ----------------------------------------------------------------------------

    def _control_targets(self, by: str) -> list[Conn]:
        if by == "speaker":
            return self.current_speakers()
        if by == "former":
            return self.former_speakers()
        return self.open_conns(role="listener")

    @rule(
        conn=st.integers(0, 50),
        by=st.sampled_from(["speaker", "former", "listener"]),
        control=st.sampled_from(CONTROLS),
    )
    @enabled("speaker_control", "speaker")
    def speaker_control(self, conn: int, by: str, control: str) -> None:
        RUN.step("speaker_control")
        candidates = self._control_targets(by)
        if not candidates:
            return
        target: Conn = self.pick(candidates, conn)
        session = self.sessions.get(target.session_id or "")
        current = by == "speaker" and session is not None and not session.ended
        message: dict[str, Any] = {"action": "speakerControl", "control": control}
        if control == "setVolume":
            message["volume"] = 0.5
        listeners = self.open_conns(role="listener", session_id=target.session_id) if current else []
        marks = {id(c): c.mark() for c in listeners}
        frame = self.request(target, message, ())
        if frame is None and not target.open:
            return
        if not current:
            self.expect("speaker_control", (frame or {}).get("code") == "FORBIDDEN", f"{target.describe()}: {frame}")
            return
        self.expect("speaker_control", (frame or {}).get("type") == "controlAcknowledged", f"{frame}")
        if (frame or {}).get("type") != "controlAcknowledged":
            return
        for listener in listeners:  # every listener open throughout gets the change once
            RUN.checked("outcome")
            got = listener.wait_for(
                lambda f: f.get("type") == "broadcastStateChanged" and f.get("requestId") == frame["requestId"],
                5,
                marks[id(listener)],
            )
            if got is None and listener.open:
                self.violation("outcome:speaker_control", f"{listener.describe()} missed broadcastStateChanged")

    @rule(conn=st.integers(0, 50), value=st.sampled_from(["NaN", "Infinity", "-Infinity"]))
    @enabled("control_non_finite", "speaker")
    def control_non_finite(self, conn: int, value: str) -> None:
        """A volume that is not a JSON number (Python's json.loads accepts it)."""
        RUN.step("control_non_finite")
        target: Conn = self.pick(self.current_speakers(), conn)
        request_id = _rid()
        mark = target.mark()
        target.send(f'{{"action":"speakerControl","control":"setVolume","volume":{value},"requestId":"{request_id}"}}')
        # The body is not JSON, so its requestId cannot be read: the answer is an INVALID_MESSAGE without it.
        frame = target.wait_for(lambda f: f.get("type") == "error" and "requestId" not in f, 10, mark)
        self.expect("control_non_finite", (frame or {}).get("code") == "INVALID_MESSAGE", f"volume {value}: {frame}")

    @rule(
        conn=st.integers(0, 50),
        control=st.sampled_from(["changeLanguage", "pausePlayback", "resumePlayback"]),
        language=st.sampled_from(TARGETS),
    )
    @enabled("listener_control", "listener")
    def listener_control(self, conn: int, control: str, language: str) -> None:
        RUN.step("listener_control")
        target: Conn = self.pick(self.live_listeners(), conn)
        message = {"action": "listenerControl", "control": control}
        if control == "changeLanguage":
            message["targetLanguage"] = language
        frame = self.request(target, message, ())
        if frame is None and not target.open:
            return
        ok = (frame or {}).get("type") == "controlAcknowledged"
        self.expect("listener_control", ok, f"{target.describe()}: {frame}")
        if ok and control == "changeLanguage":
            target.language = language

    @rule(conn=st.integers(0, 50))
    @enabled("get_status", "conn")
    def get_status(self, conn: int) -> None:
        RUN.step("get_status")
        target: Conn = self.pick(self.open_conns(), conn)
        frame = self.request(target, {"action": "getSessionStatus"}, ())
        if frame is None and not target.open:
            return
        if target.role == "plain":
            self.expect("get_status", (frame or {}).get("code") == "FORBIDDEN", f"{target.describe()}: {frame}")
            return
        session = self.sessions.get(target.session_id or "")
        if session is not None and session.ended and (frame or {}).get("code") == "SESSION_ENDED":
            return  # its record was deleted with it (DELETE /sessions/{id}): there is no status to give
        ok = (frame or {}).get("type") == "sessionStatus" and frame.get("sessionId") == target.session_id
        self.expect("get_status", ok, f"{target.describe()}: {frame}")
        if ok and session is not None and session.speaker is target and not session.ended:
            self.expect("get_status", "languageDistribution" in frame, f"the speaker's status is not full: {frame}")

    # -- leaving ---------------------------------------------------------------------------------------------

    @rule(conn=st.integers(0, 50))
    @enabled("leave", "conn")
    def leave(self, conn: int) -> None:
        RUN.step("leave")
        target: Conn = self.pick(self.open_conns(), conn)
        self._speaker_leaving(target, target.close)

    @rule(conn=st.integers(0, 50))
    @enabled("drop", "conn")
    def drop(self, conn: int) -> None:
        RUN.step("drop")
        target: Conn = self.pick(self.open_conns(), conn)
        self._speaker_leaving(target, target.drop)

    def _speaker_leaving(self, target: Conn, how: Callable[[], None]) -> None:
        """When a session's current speaker goes, its listeners are told speakerDisconnected."""
        session = self.sessions.get(target.session_id or "")
        current = session is not None and not session.ended and session.speaker is target
        listeners = self.open_conns(role="listener", session_id=target.session_id) if current else []
        marks = {id(c): c.mark() for c in listeners}
        how()
        for listener in listeners:
            RUN.checked("outcome")
            told = listener.wait_for(lambda f: f.get("type") == "speakerDisconnected", 5, marks[id(listener)])
            if told is None and listener.open:
                self.violation("outcome:leave", f"{listener.describe()}: no speakerDisconnected")

    # -- refresh ----------------------------------------------------------------------------------------------

    @rule(
        session=st.integers(0, 50),
        form=st.sampled_from(["handshake", "message"]),
        user=st.sampled_from(["owner", "owner", "other"]),
        close_old=st.booleans(),
    )
    @enabled("refresh_speaker", "session")
    def refresh_speaker(self, session: int, form: str, user: str, close_old: bool) -> None:
        """The speaker takes over with a new connection (announced or not, within grace or not);
        another user trying the same is refused."""
        RUN.step("refresh_speaker")
        target: ModelSession = self.pick(list(self.sessions.values()), session)
        old = target.speaker
        was_gone = old is None or not old.open
        listeners = self.open_conns(role="listener", session_id=target.session_id)
        marks = {id(c): c.mark() for c in listeners}
        query = {"sessionId": target.session_id, "role": "speaker"}
        if form == "handshake":
            conn, _status, body = self.connect(
                "refreshConnection", self.speaker_ip, user, action="refreshConnection", **query
            )
            frame = (
                conn.wait_for(lambda f: f.get("type") in ("connectionRefreshComplete", "error"), 10) if conn else body
            )
        else:
            conn, _, _ = self.connect("plain", self.speaker_ip, user)
            if conn is None:
                return
            frame = self.request(conn, {"action": "refreshConnection", **query}, ("connectionRefreshComplete",))
        done = (frame or {}).get("type") == "connectionRefreshComplete"
        code = (frame or {}).get("code")
        if user != target.owner:
            self.expect("refresh_speaker", not done and code in ("FORBIDDEN", "SESSION_NOT_FOUND"), f"{frame}")
        elif target.ended:
            self.expect("refresh_speaker", not done and code == "SESSION_NOT_FOUND", f"ended session: {frame}")
        else:
            self.expect("refresh_speaker", done, f"{target.session_id}: {frame}")
        if not done or conn is None:
            if conn is not None:
                conn.close()
            return
        conn.role, conn.session_id = "speaker", target.session_id
        target.speaker = conn
        if was_gone:  # came back within the grace window: listeners are told
            for listener in listeners:
                RUN.checked("outcome")
                back = listener.wait_for(lambda f: f.get("type") == "speakerReconnected", 5, marks[id(listener)])
                if back is None and listener.open:
                    self.violation("outcome:refresh_speaker", f"{listener.describe()}: no speakerReconnected")
        if close_old and old is not None and old.open:
            old.close()

    @rule(conn=st.integers(0, 50), form=st.sampled_from(["handshake", "message"]))
    @enabled("refresh_listener", "listener_with_id")
    def refresh_listener(self, conn: int, form: str) -> None:
        """A listener takes over with a new connection naming its old one, then closes the old one
        (the protocol). Announced (after connectionRefreshRequired) it must be admitted."""
        RUN.step("refresh_listener")
        old: Conn = self.pick(self.live_listeners(known_id=True), conn)
        announced = old.has("connectionRefreshRequired")
        new = self._refresh_listener(old, old.connection_id or "", form)
        if new is None:
            self.expect("refresh_listener", not announced, f"announced refresh of {old.describe()} refused")
            return
        old.close()

    def _refresh_listener(self, old: Conn, previous: str, form: str, language: str | None = None) -> Conn | None:
        """Open a refreshing listener connection; the new connection if it was admitted."""
        query = {
            "sessionId": old.session_id or "",
            "role": "listener",
            "targetLanguage": language or old.language or "es",
            "previousConnectionId": previous,
        }
        if form == "handshake":
            conn, _, body = self.connect("refreshConnection", old.ip, action="refreshConnection", **query)
            frame = (
                conn.wait_for(lambda f: f.get("type") in ("connectionRefreshComplete", "error"), 10) if conn else body
            )
        else:
            conn, _, _ = self.connect("plain", old.ip)
            if conn is None:
                return None
            frame = self.request(conn, {"action": "refreshConnection", **query}, ("connectionRefreshComplete",))
        if (frame or {}).get("type") != "connectionRefreshComplete" or conn is None:
            self.expect(
                "refresh_listener",
                (frame or {}).get("code") in ("FORBIDDEN", "SESSION_NOT_FOUND", "RATE_LIMITED"),
                f"refresh naming {previous}: {frame}",
            )
            if conn is not None:
                conn.close()
            return None
        self.adopt_listener(conn, old.session_id or "", query["targetLanguage"], old.lineage)
        self.refreshed_from[previous] = old
        # The taken-over connection holds no slot and gets no broadcasts any more; as the refresh
        # protocol says, the client closes it (a client that does not gains nothing by keeping it).
        if old.open and old.connection_id == previous:
            old.close()
        return conn

    @rule(
        conn=st.integers(0, 50),
        kind=st.sampled_from(["repeated", "chained", "unknown_id", "speaker_id", "wrong_language", "other_session"]),
        form=st.sampled_from(["handshake", "message"]),
    )
    @enabled("refresh_listener_forged", "listener_with_id")
    def refresh_listener_forged(self, conn: int, kind: str, form: str) -> None:
        """What a client that wants more than its seat tries. Forged ids must be refused; a repeated
        or chained refresh must not leave one join holding more than a handover's two connections."""
        RUN.step("refresh_listener_forged")
        old: Conn = self.pick(self.live_listeners(known_id=True), conn)
        previous = old.connection_id or ""
        if kind in ("repeated", "chained"):
            first = self._refresh_listener(old, previous, form)
            if first is not None and kind == "chained" and first.connection_id:
                old = first
                previous = first.connection_id
            self._refresh_listener(old, previous, form)
            return
        language = None
        if kind == "unknown_id":
            previous = "AAAAAAAAAAAAAAA="
        elif kind == "speaker_id":
            speaker = self.sessions[old.session_id or ""].speaker
            previous = (speaker.connection_id if speaker else None) or "AAAAAAAAAAAAAAA="
        elif kind == "wrong_language":
            language = next(t for t in TARGETS if t != old.language)
        else:
            others = [c for c in self.live_listeners(known_id=True) if c.session_id != old.session_id]
            if not others:
                return
            previous = others[0].connection_id or ""
        before = len(self.conns)
        admitted = self._refresh_listener(old, previous, form, language)
        self.expect("refresh_listener_forged", admitted is None, f"{kind} refresh admitted ({before})")
        if admitted is not None:  # keep the model's books right if it was (wrongly) admitted
            admitted.lineage = next(self.lineages)

    # -- wrong answers (issue 12, #6 and #7) ------------------------------------------------------------------

    @rule(conn=st.integers(0, 50), language=st.sampled_from(TARGETS))
    @enabled("rejoin_other_language", "listener_with_id")
    def rejoin_other_language(self, conn: int, language: str) -> None:
        """A listener sends joinSession again for its own session with another language."""
        RUN.step("rejoin_other_language")
        target: Conn = self.pick(self.live_listeners(known_id=True), conn)
        frame = self.request(
            target,
            {"action": "joinSession", "sessionId": target.session_id, "targetLanguage": language},
            ("sessionJoined",),
        )
        if (frame or {}).get("type") == "sessionJoined":
            target.language = frame["targetLanguage"]  # what it was told is what it must get

    @rule(conn=st.integers(0, 50), session=st.integers(0, 50))
    @enabled("join_other_session_on_listener", "two_sessions")
    def join_other_session_on_listener(self, conn: int, session: int) -> None:
        """A listener of one session sends joinSession for another: refused, or moved, never a 500."""
        RUN.step("join_other_session_on_listener")
        target: Conn = self.pick(self.live_listeners(), conn)
        others = [s for s in self.active_sessions() if s.session_id != target.session_id]
        other: ModelSession = self.pick(others, session)
        frame = self.request(
            target, {"action": "joinSession", "sessionId": other.session_id, "targetLanguage": "es"}, ("sessionJoined",)
        )
        if (frame or {}).get("type") == "sessionJoined":
            self.adopt_listener(target, other.session_id, "es")

    @rule(session=st.integers(0, 50))
    @enabled("create_on_listener", "session")
    def create_on_listener(self, session: int) -> None:
        """A listener connection that carries a valid token sends createSession: it is a listener."""
        RUN.step("create_on_listener")
        target: ModelSession = self.pick(self.active_sessions(), session)
        conn, _, body = self.connect(
            "joinSession",
            next(_addresses),
            "other",
            token_in_header=True,  # the join query has no token parameter
            action="joinSession",
            sessionId=target.session_id,
            targetLanguage="fr",
        )
        if conn is None:
            self.expect("create_on_listener", False, f"join with a token refused: {body}")
            return
        self.adopt_listener(conn, target.session_id, "fr")
        frame = self.request(
            conn, {"action": "createSession", "sourceLanguage": "en", "qualityTier": "standard"}, ("sessionCreated",)
        )
        created = (frame or {}).get("type") == "sessionCreated"
        self.expect("create_on_listener", not created, f"a listener connection created a session: {frame}")

    @rule(kind=st.sampled_from(["garbage", "wrong_types", "another_user"]))
    @enabled("http_crafted_next_token")
    def http_crafted_next_token(self, kind: str) -> None:
        RUN.step("http_crafted_next_token")
        import base64

        keys = {
            "garbage": "not-a-token",
            "wrong_types": {"sessionId": 1, "speakerUserId": "x", "createdAt": []},
            "another_user": {"sessionId": {"S": "a"}, "speakerUserId": {"S": "x"}, "createdAt": {"N": "1"}},
        }[kind]
        token = keys if isinstance(keys, str) else base64.urlsafe_b64encode(json.dumps(keys).encode()).decode()
        response = self.http("GET", "/sessions", "owner", params={"nextToken": token})
        if response is not None:
            self.expect("http_crafted_next_token", response.status_code == 400, f"{kind}: {response.status_code}")

    # -- end, the job, the clock, faults ------------------------------------------------------------------------

    @rule(
        session=st.integers(0, 50), how=st.sampled_from(["PATCH", "DELETE"]), user=st.sampled_from(["owner", "other"])
    )
    @enabled("end_session", "session")
    def end_session(self, session: int, how: str, user: str) -> None:
        RUN.step("end_session")
        target: ModelSession = self.pick(list(self.sessions.values()), session)
        actual = target.owner if user == "owner" else "other" if target.owner != "other" else "owner"
        if how == "PATCH":
            response = self.http("PATCH", f"/sessions/{target.session_id}", actual, json={"status": "ended"})
        else:
            response = self.http("DELETE", f"/sessions/{target.session_id}", actual)
        if response is None:
            return
        if actual != target.owner:
            self.expect(
                "end_session", response.status_code in (404, 204), f"{how} by another user: {response.status_code}"
            )
            return
        self.expect("end_session", response.status_code in (200, 204, 404), f"{how}: {response.status_code}")
        if response.status_code in (200, 204):
            target.ended = True

    @rule()
    @enabled("run_job")
    def run_job(self) -> None:
        RUN.step("run_job")
        started = int(time.time() * 1000)
        try:
            report = run_job(self.stack)
        except Exception as exc:
            self.violation("job_clean", f"trigger failed: {exc}")
            return
        RUN.checked("job_clean")
        if _job_failures(report):
            self.violation("job_clean", f"job report: {json.dumps(report)[:400]}")
        self.job_ran_this_step = True
        self.last_job_started_ms = started
        self.orphans_allowed = False

    @rule(seconds=st.sampled_from([1.0, 3.5, 6.5, 10.0]), keep_alive=st.booleans())
    @enabled("pass_time")
    def pass_time(self, seconds: float, keep_alive: bool) -> None:
        """The clock: past the grace (3 s), the heartbeat timeout (5 s), the refresh notice (6 s),
        the warning (9 s) and the connection limit and session duration (18 s) of this stage.
        Kept alive, every open connection heartbeats once a second meanwhile."""
        RUN.step("pass_time")
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            if keep_alive:
                started = time.monotonic()
                self.beat(self.open_conns())
                remaining = min(remaining, max(0.0, 1.0 - (time.monotonic() - started)))
            threading.Event().wait(min(remaining, 1.0))

    @rule(seconds=st.sampled_from([1.0, 6.0]), during=st.sampled_from(["nothing", "join", "heartbeat", "create"]))
    @enabled("dynamodb_fault")
    def dynamodb_fault(self, seconds: float, during: str) -> None:
        """DynamoDB Local frozen for a bounded time while a client does something."""
        RUN.step("dynamodb_fault")
        outcome: dict[str, Any] = {}
        actives = self.active_sessions()

        def act() -> None:
            if during == "join" and actives:
                session = actives[0]
                conn, _, body = self.connect(
                    "joinSession",
                    next(_addresses),
                    timeout=45,
                    action="joinSession",
                    sessionId=session.session_id,
                    targetLanguage="es",
                )
                outcome.update(conn=conn, body=body, session=session)
            elif during == "heartbeat" and self.open_conns():
                self.beat(self.open_conns()[:3])
            elif during == "create":
                conn, _status, body = self.connect(
                    "createSession",
                    self.speaker_ip,
                    "owner",
                    timeout=45,
                    action="createSession",
                    sourceLanguage="en",
                    qualityTier="standard",
                )
                outcome.update(created=conn, body=body)

        self.token("owner")  # Cognito is not paused, but fetch the token outside the pause anyway
        worker = threading.Thread(target=act, daemon=True)
        with dynamodb_paused(self.stack):
            worker.start()
            threading.Event().wait(seconds)
        worker.join(60)
        if seconds >= 5:  # past the functions' read timeout: writes may land late, $disconnects fail
            self.orphans_allowed = True
        if outcome.get("conn") is not None:
            self.adopt_listener(outcome["conn"], outcome["session"].session_id, "es")
        elif "session" in outcome:
            self.orphans_allowed = True
            code = outcome["body"].get("code")
            self.expect("dynamodb_fault", code in ("SERVICE_UNAVAILABLE", "SESSION_NOT_FOUND"), f"join: {code}")
        if outcome.get("created") is not None:
            conn = outcome["created"]
            self._created(conn, conn.wait_for(lambda f: f.get("type") in ("sessionCreated", "error"), 10), "owner")
        elif "body" in outcome and "session" not in outcome:
            self.orphans_allowed = True
            self.created_by["owner"] += 1
            code = outcome["body"].get("code")
            self.expect("dynamodb_fault", code in ("SERVICE_UNAVAILABLE",), f"create: {outcome['body']}")

    # -- after every step -------------------------------------------------------------------------------------

    def _observe(self, tables: invariants.Tables) -> None:
        """What the service decided on its own (the job ended a session): the model follows."""
        for session in self.sessions.values():
            item = tables.sessions.get(session.session_id)
            if not session.ended and (item is None or not item["isActive"]["BOOL"]):
                session.ended = True
                session.end_reason = (item or {}).get("endReason", {}).get("S")

    @invariant()
    def invariants_hold(self) -> None:
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            tables = invariants.Tables.read(self.dynamodb)
            self._observe(tables)
            found = invariants.check(self, tables)
            unsettled = [name for name, _ in found if name in invariants.SETTLED and not disabled(name)]
            if not unsettled or time.monotonic() > deadline:
                break
            threading.Event().wait(0.1)  # a bounded wait for the asynchronous $disconnect
        for name in invariants.ALL:
            RUN.checked(name)
        with self.lock:
            found += self.pending
            self.pending = []
        self.job_ran_this_step = False
        failing = []
        for name, detail in found:
            base = name.split(":", 1)[-1] if name.startswith("outcome:") else name
            if disabled(name) or disabled(base):
                RUN.known(name)
            else:
                failing.append(f"{name}: {detail}")
        if failing:
            RUN.failed(failing)
            raise AssertionError("broken invariants:\n  " + "\n  ".join(_summarised(failing)))

"""Races on the real stack: admission at the cap, the per-user creation limit, join/leave churn,
duplicate deliveries, and a speaker refreshing while listeners churn. Afterwards every count
must equal the rows it counts."""

from __future__ import annotations

import contextlib
import json
import os
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from stage_access import tokens as stage_tokens
from tests.support.clients import local_client
from tests.support.reliability_report import record
from tests.support.session_clients import create_session, join
from tests.support.stack_state import listener_count, listener_rows
from tests.support.waiting import wait_until
from tests.support.websocket_client import Client, HandshakeRefused

LANGUAGES = ("es", "fr", "de", "ja", "pt")
CHURN_CYCLES = int(os.environ.get("RACES_CHURN_CYCLES", "10000"))


def row_count(dynamodb: Any, tables: dict[str, str], session_id: str) -> int:
    """How many listener rows the session has: what its listenerCount must equal."""
    return len(listener_rows(dynamodb, tables, session_id))


def connect_with_retry(stack: dict[str, Any], **query: str) -> Client:
    """A well-behaved client: API Gateway's 429 for the account's connection rate means retry."""
    for attempt in range(20):
        try:
            return Client.connect(stack["websocketUrl"], **query)
        except HandshakeRefused as refused:
            if refused.status != 429:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("still throttled after 20 attempts")


def test_1000_concurrent_joins_to_a_session_capped_at_500_admit_exactly_500(stack, speaker_token, dynamodb, tables):
    speaker, created = create_session(stack, speaker_token)
    session_id = created["sessionId"]
    outcomes: Counter[int] = Counter()
    admitted: list[Client] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        try:
            client = connect_with_retry(
                stack, action="joinSession", sessionId=session_id, targetLanguage=LANGUAGES[i % 5]
            )
        except HandshakeRefused as refused:
            with lock:
                outcomes[refused.status] += 1
            return
        with lock:
            outcomes[200] += 1
            admitted.append(client)

    try:
        with ThreadPoolExecutor(max_workers=64) as pool:
            list(pool.map(attempt, range(1000)))
        assert outcomes == Counter({200: 500, 503: 500})
        assert listener_count(dynamodb, tables, session_id) == 500 == row_count(dynamodb, tables, session_id)
        record("races", "concurrent joins at the cap", attempts=1000, admitted=outcomes[200], refused=outcomes[503])
    finally:
        for client in admitted:
            client.close()
        speaker.close()
    wait_until(lambda: listener_count(dynamodb, tables, session_id) == 0 == row_count(dynamodb, tables, session_id), 60)


def test_100_concurrent_creations_by_one_user_against_a_limit_of_50_create_exactly_50(stack, dynamodb, tables):
    token = stage_tokens.speaker_token(stack, "races-creator")
    created: list[Client] = []
    refusals: Counter[str] = Counter()
    lock = threading.Lock()

    def attempt(_: int) -> None:
        try:
            speaker, _created = create_session(stack, token)
        except HandshakeRefused as refused:
            with lock:
                refusals[json.loads(refused.body)["code"] if refused.body else str(refused.status)] += 1
            return
        with lock:
            created.append(speaker)

    try:
        with ThreadPoolExecutor(max_workers=50) as pool:
            list(pool.map(attempt, range(100)))
        assert len(created) == 50 and refusals == Counter({"RATE_LIMITED": 50})
        record("races", "concurrent creations by one user", attempts=100, created=len(created), refused=50)
    finally:
        for speaker in created:
            speaker.close()


def test_10000_join_leave_cycles_across_20_sessions_leave_exact_counts(stack, speaker_token, dynamodb, tables):
    speakers, session_ids = [], []
    for _ in range(20):
        speaker, created = create_session(stack, stage_tokens.speaker_token(stack, f"races-churn-{len(speakers)}"))
        speakers.append(speaker)
        session_ids.append(created["sessionId"])
    rng = random.Random(7)
    plan = [(rng.choice(session_ids), rng.choice(LANGUAGES)) for _ in range(CHURN_CYCLES)]
    kept: list[Client] = []
    lock = threading.Lock()

    def cycle(index: int) -> None:
        session_id, language = plan[index]
        client = connect_with_retry(stack, action="joinSession", sessionId=session_id, targetLanguage=language)
        if index % 100 == 0:  # a hundred stay: counts must end at the live connections, not at zero
            with lock:
                kept.append(client)
        else:
            client.close()

    started = time.monotonic()
    done = threading.Event()

    def keep_alive() -> None:
        # The run outlasts the 90 s heartbeat timeout: silent speakers and listeners would rightly
        # be closed by the periodic job.
        while not done.wait(20):
            with lock:
                clients = [*speakers, *kept]
            for client in clients:
                with contextlib.suppress(Exception):
                    client.send({"action": "heartbeat"})

    keeper = threading.Thread(target=keep_alive, daemon=True)
    keeper.start()
    try:
        with ThreadPoolExecutor(max_workers=48) as pool:
            list(pool.map(cycle, range(len(plan))))
        expected = Counter(plan[i][0] for i in range(0, len(plan), 100))

        def mismatches() -> list[tuple[int, int, int]]:
            found = [
                (listener_count(dynamodb, tables, s), row_count(dynamodb, tables, s), expected[s]) for s in session_ids
            ]
            return [f for f in found if not f[0] == f[1] == f[2]]

        try:
            wait_until(lambda: not mismatches(), 120, 0.5)
        except AssertionError:
            raise AssertionError(f"(count, rows, live) per drifted session: {mismatches()}") from None
        record(
            "races",
            "join/leave churn",
            cycles=len(plan),
            sessions=len(session_ids),
            kept=len(kept),
            seconds=round(time.monotonic() - started, 1),
        )
    finally:
        done.set()
        for client in kept:
            client.close()
        for speaker in speakers:
            speaker.close()


def test_repeated_disconnect_deliveries_change_state_once(stack, speaker_token, dynamodb, tables):
    """API Gateway may deliver `$disconnect` more than once: the second delivery changes nothing."""
    speaker, created = create_session(stack, speaker_token)
    session_id = created["sessionId"]
    listeners = [join(stack, session_id, "es") for _ in range(3)]
    [row] = [
        i
        for i in dynamodb.scan(TableName=tables["connections"], ConsistentRead=True)["Items"]
        if i.get("sessionId", {}).get("S") == session_id and i.get("role", {}).get("S") == "listener"
    ][:1]
    lambda_client = local_client(stack, "lambda")
    event = {
        "requestContext": {
            "routeKey": "$disconnect",
            "eventType": "DISCONNECT",
            "connectionId": row["connectionId"]["S"],
            "stage": "prod",
            "domainName": "127.0.0.1",
            "apiId": "local",
            "requestId": "r",
            "requestTimeEpoch": 0,
            "connectedAt": 0,
            "messageDirection": "IN",
            "extendedRequestId": "r",
            "requestTime": "",
            "identity": {"sourceIp": "127.0.0.1"},
            "disconnectStatusCode": 1001,
            "disconnectReason": "",
        },
        "isBase64Encoded": False,
    }
    try:
        for _ in range(3):
            lambda_client.invoke(FunctionName=f"session-disconnect-handler-{stack['env']}", Payload=json.dumps(event))
        assert listener_count(dynamodb, tables, session_id) == 2 == row_count(dynamodb, tables, session_id)
        record("races", "repeated $disconnect deliveries", deliveries=3, decrements=1)
    finally:
        for client in listeners:
            client.close()
        speaker.close()


def test_the_speaker_refreshing_while_listeners_churn_keeps_session_and_counts(stack, dynamodb, tables):
    token = stage_tokens.speaker_token(stack, "races-refreshing-speaker")
    speaker, created = create_session(stack, token)
    session_id = created["sessionId"]
    kept: list[Client] = []
    progress = threading.Condition()
    cycles = [0]

    def churn(worker: int) -> None:
        for n in range(1, 41):
            client = connect_with_retry(
                stack, action="joinSession", sessionId=session_id, targetLanguage=LANGUAGES[worker % 5]
            )
            with progress:
                cycles[0] += 1
                if n % 10 == 0:
                    kept.append(client)
                progress.notify_all()
            if n % 10:
                client.close()

    speakers = [speaker]
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(churn, w) for w in range(8)]
        for takeover in range(1, 6):  # a takeover after every 50 listener cycles
            with progress:
                assert progress.wait_for(lambda t=takeover: cycles[0] >= 50 * t, timeout=60)
            new_speaker = Client.connect(
                stack["websocketUrl"], action="refreshConnection", sessionId=session_id, role="speaker", token=token
            )
            speakers.append(new_speaker)
            speakers.pop(0).close()
        for future in futures:
            future.result()
    try:
        item = dynamodb.get_item(
            TableName=tables["sessions"], Key={"sessionId": {"S": session_id}}, ConsistentRead=True
        )["Item"]
        assert item["isActive"]["BOOL"] is True and "speakerDisconnectedAt" not in item
        assert len(kept) == 32
        wait_until(
            lambda: listener_count(dynamodb, tables, session_id) == 32 == row_count(dynamodb, tables, session_id),
            60,
        )
        record(
            "races", "speaker refresh during listener churn", takeovers=5, listenerCycles=cycles[0], liveListeners=32
        )
    finally:
        for client in (*kept, *speakers):
            client.close()

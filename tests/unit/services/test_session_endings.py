"""Every way a session ends releases its slot exactly once, and nothing of it outlives the job
(issue 12, defects 4 and 8). Each test failed on the code before its fix."""

from __future__ import annotations

import time
from typing import Any

import pytest

from session_management import lifecycle, reconcile
from session_management import resource_names as names
from session_management.caller import Caller
from session_management.config import load_settings
from session_management.dependencies import dependencies
from session_management.errors import ErrorCode, ServiceError
from session_management.listeners import ListenerFanout
from session_management.reconcile import JobDependencies
from session_management.repositories.sessions import ACTIVE_SESSIONS_KEY
from session_management.requests import CreateSessionRequest, JoinSessionRequest

ENDPOINT = "https://abc.execute-api.us-east-1.amazonaws.com/prod"
SESSIONS = names.sessions_table("test")


class RecordingConnectionsApi:
    """`@connections` as the job sees it: every connection live and active just now."""

    def __init__(self) -> None:
        self.posted: list[tuple[str, dict[str, Any]]] = []
        self.closed: list[str] = []

    def post_json(self, endpoint: str, connection_id: str, message: dict[str, Any]) -> bool:
        self.posted.append((connection_id, dict(message)))
        return True

    def post(self, endpoint: str, connection_id: str, data: bytes) -> bool:
        return True

    def last_active_ms(self, endpoint: str, connection_id: str) -> int | None:
        return int(time.time() * 1000)

    def close(self, endpoint: str, connection_id: str) -> bool:
        self.closed.append(connection_id)
        return True


@pytest.fixture
def api() -> RecordingConnectionsApi:
    return RecordingConnectionsApi()


def run_job(api: RecordingConnectionsApi) -> reconcile.ReconcileReport:
    deps = dependencies()
    listeners = ListenerFanout(deps.repositories.connections, api, 4)  # type: ignore[arg-type]
    return reconcile.run(JobDependencies(deps.repositories, deps.settings, api, listeners))  # type: ignore[arg-type]


def create(connection_id: str, user: str = "user-1"):
    deps = dependencies()
    caller = Caller(connection_id, ENDPOINT, "192.0.2.1", user)
    return lifecycle.create_session(CreateSessionRequest("en", "standard"), caller, deps.repositories, deps.settings)


def active_counter(dynamodb) -> int:
    item = dynamodb.get_item(
        TableName=names.rate_limits_table("test"), Key={"identifier": {"S": ACTIVE_SESSIONS_KEY}}, ConsistentRead=True
    ).get("Item", {})
    return int(item.get("count", {}).get("N", "0"))


def session_item(dynamodb, session_id: str) -> dict[str, Any]:
    return dynamodb.get_item(TableName=SESSIONS, Key={"sessionId": {"S": session_id}}, ConsistentRead=True)["Item"]


def test_a_session_past_its_lifetime_is_ended_as_expired_and_its_slot_released_once(dynamodb, api):
    session = create("speaker-1")
    dynamodb.update_item(
        TableName=SESSIONS,
        Key={"sessionId": {"S": session.session_id}},
        UpdateExpression="SET sessionExpiresAt = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time() * 1000) - 1)}},
    )
    assert active_counter(dynamodb) == 1
    assert run_job(api).sessions_expired == 1
    item = session_item(dynamodb, session.session_id)
    assert item["isActive"] == {"BOOL": False} and item["endReason"] == {"S": "expired"}
    assert active_counter(dynamodb) == 0
    assert run_job(api).sessions_expired == 0  # a second run releases nothing twice
    assert active_counter(dynamodb) == 0


def test_the_sessions_item_outlives_the_session_so_ttl_never_deletes_an_active_one(dynamodb):
    settings = load_settings()
    session = create("speaker-1")
    item = session_item(dynamodb, session.session_id)
    ttl_ms = int(item["expiresAt"]["N"]) * 1000
    assert int(item["sessionExpiresAt"]["N"]) == session.expires_at_ms
    # The session lives past one connection (refreshes), and its item past the session.
    assert session.expires_at_ms - session.created_at_ms == settings.session_max_lifetime_hours * 3_600_000
    assert settings.session_max_lifetime_hours > settings.session_max_duration_hours
    assert ttl_ms >= session.expires_at_ms + settings.data_retention_hours * 3_600_000 - 1000


def test_the_job_gives_back_slots_the_counter_leaked(dynamodb, api):
    create("speaker-1")
    dynamodb.update_item(  # a slot leaked: an item deleted by TTL while active, a failed release
        TableName=names.rate_limits_table("test"),
        Key={"identifier": {"S": ACTIVE_SESSIONS_KEY}},
        UpdateExpression="SET #count = :leaked",
        ExpressionAttributeNames={"#count": "count"},
        ExpressionAttributeValues={":leaked": {"N": "100"}},
    )
    assert run_job(api).active_counter_corrected == 1
    assert active_counter(dynamodb) == 1
    assert create("speaker-2", "user-2").is_active  # creation works again


def test_one_speaker_cannot_hold_every_slot(dynamodb):
    limit = load_settings().max_active_sessions_per_speaker
    for n in range(limit):
        create(f"speaker-{n}")
    with pytest.raises(ServiceError) as refused:
        create("speaker-one-more")
    assert refused.value.code is ErrorCode.RATE_LIMITED and refused.value.retry_after
    assert create("someone-else", "user-2").is_active
    deps = dependencies()
    first = deps.repositories.connections.get("speaker-0")
    assert first is not None
    ended = deps.repositories.sessions.get(first.session_id)
    assert ended is not None and lifecycle.end_session(ended, "speakerEnded", deps.repositories, deps.listeners)
    assert create("speaker-after-one-ended").is_active  # ending gives the speaker's slot back


def test_a_listener_the_end_missed_is_told_and_closed_by_the_next_run(dynamodb, api):
    session = create("speaker-1")
    deps = dependencies()
    lifecycle.join_session(
        JoinSessionRequest(session.session_id, "es"),
        Caller("late-listener", ENDPOINT),
        deps.repositories,
        deps.settings,
    )
    # The session ends; its fan-out read the index before the late listener's row was in it.
    assert deps.repositories.sessions.end(session.session_id, "speaker-1", "speakerEnded", 1, "user-1")
    run_job(api)
    assert ("late-listener", {"type": "sessionEnded"}) in [
        (connection, {"type": message["type"]}) for connection, message in api.posted
    ]
    ended = [m for c, m in api.posted if c == "late-listener" and m["type"] == "sessionEnded"]
    assert ended[0]["reason"] == "speakerEnded"
    assert "late-listener" in api.closed


def test_the_jobs_result_is_what_lambda_can_marshal(dynamodb):
    """A result JSON cannot encode fails the invocation in Lambda (Runtime.MarshalError), and
    EventBridge counts the run as a failed target; the report's set of removed ids once did."""
    from local_stack.awslambda.worker import marshal_response
    from session_management.handlers import periodic_job

    result = periodic_job.handle({"source": "aws.events", "detail-type": "Scheduled Event"})
    assert "failed" not in result
    assert isinstance(marshal_response(result), str)
    report = reconcile.ReconcileReport(gone_removed=1, errors=["x"], removed={"conn-1="})
    assert report.summary()["gone_removed"] == 1 and report.summary()["errors"] == 1
    assert isinstance(marshal_response(report.summary()), str)

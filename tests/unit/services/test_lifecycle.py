"""Create, join, leave and end against moto's DynamoDB: the count rules that must never drift."""

from __future__ import annotations

import json
from unittest import mock

import pytest

from session_management import fanout, lifecycle
from session_management.caller import Caller
from session_management.dependencies import dependencies
from session_management.errors import ErrorCode, ServiceError
from session_management.repositories.sessions import SessionIdTaken
from session_management.requests import CreateSessionRequest, JoinSessionRequest

ENDPOINT = "https://abc.execute-api.us-east-1.amazonaws.com/prod"


def speaker(connection_id="speaker-conn", user="user-1"):
    return Caller(connection_id, ENDPOINT, "198.51.100.7", user)


def count(dynamodb, session_id) -> int:
    item = dynamodb.get_item(TableName="Sessions-test", Key={"sessionId": {"S": session_id}})["Item"]
    return int(item["listenerCount"]["N"])


def create(request, caller):
    deps = dependencies()
    return lifecycle.create_session(request, caller, deps.repositories, deps.settings)


def end(session, reason):
    deps = dependencies()
    return lifecycle.end_session(session, reason, deps.repositories, deps.listeners)


def disconnect(connection_id):
    deps = dependencies()
    return lifecycle.disconnect(connection_id, deps.repositories, deps.settings, deps.listeners)


@pytest.fixture
def session(dynamodb):
    return create(CreateSessionRequest("en", "standard"), speaker("speaker-conn", "user-1"))


def join(session_id, connection_id, language="es", source_ip=""):
    caller = Caller(connection_id, ENDPOINT, source_ip)
    deps = dependencies()
    return lifecycle.join_session(
        JoinSessionRequest(session_id, language), caller, deps.repositories, deps.settings
    ).newly_joined


def test_create_writes_the_session_and_the_speaker_row(dynamodb, session):
    row = dynamodb.get_item(TableName="Connections-test", Key={"connectionId": {"S": "speaker-conn"}})["Item"]
    assert row["role"] == {"S": "speaker"} and row["sessionId"] == {"S": session.session_id}
    assert "targetLanguage" not in row  # speakers stay out of the listener index
    assert count(dynamodb, session.session_id) == 0


def test_a_repeated_connect_returns_the_same_session(dynamodb, session):
    again = create(CreateSessionRequest("en", "standard"), speaker("speaker-conn", "user-1"))
    assert again.session_id == session.session_id


def test_id_collisions_are_retried_within_the_bound(dynamodb):
    repos = dependencies().repositories
    original = repos.sessions.create
    calls = {"n": 0}

    def collide_twice(*args):
        calls["n"] += 1
        if calls["n"] <= 2:
            raise SessionIdTaken
        return original(*args)

    with mock.patch.object(repos.sessions, "create", side_effect=collide_twice):
        create(CreateSessionRequest("en", "standard"), speaker("c1", "u"))
    assert calls["n"] == 3
    with mock.patch.object(repos.sessions, "create", side_effect=SessionIdTaken), pytest.raises(ServiceError) as error:
        create(CreateSessionRequest("en", "standard"), speaker("c2", "u"))
    assert error.value.code is ErrorCode.SERVICE_UNAVAILABLE


def test_joins_are_admitted_up_to_the_cap_and_then_refused_as_full(dynamodb, session):
    for index in range(3):
        assert join(session.session_id, f"listener-{index}") is True
    with pytest.raises(ServiceError) as error:
        join(session.session_id, "listener-overflow")
    assert error.value.code is ErrorCode.SESSION_FULL
    assert count(dynamodb, session.session_id) == 3


def test_a_repeated_join_is_idempotent(dynamodb, session):
    assert join(session.session_id, "listener-1") is True
    assert join(session.session_id, "listener-1") is False
    assert count(dynamodb, session.session_id) == 1


def test_unknown_and_ended_sessions_are_not_found(dynamodb, session):
    with pytest.raises(ServiceError) as unknown:
        join("quiet-harbor-999", "listener-1")
    assert unknown.value.code is ErrorCode.SESSION_NOT_FOUND
    end(dependencies().repositories.sessions.get(session.session_id), "speakerEnded")
    with pytest.raises(ServiceError) as ended:
        join(session.session_id, "listener-2")
    assert ended.value.code is ErrorCode.SESSION_NOT_FOUND


def test_leaving_decrements_once_and_never_below_zero(dynamodb, session):
    join(session.session_id, "listener-1", "fr")
    assert disconnect("listener-1") == "listener-left"
    assert disconnect("listener-1") == "unknown"
    assert count(dynamodb, session.session_id) == 0


def test_listeners_by_language_uses_the_index(dynamodb, session):
    for index, language in enumerate(("es", "fr", "es")):
        join(session.session_id, f"listener-{index}", language)
    spanish = dependencies().repositories.connections.listeners_by_language(session.session_id, "es")
    assert sorted(c.connection_id for c in spanish) == ["listener-0", "listener-2"]


def test_a_stale_speaker_connection_does_not_end_the_session(dynamodb, session):
    assert dependencies().repositories.sessions.end(session.session_id, "someone-else", "x", 1) is False


def test_session_creation_is_rate_limited_per_user(dynamodb, monkeypatch, reset):
    monkeypatch.setenv("RATE_LIMIT_SESSIONS_PER_HOUR", "2")
    reset()
    for index in range(2):
        create(CreateSessionRequest("en", "standard"), speaker(f"c{index}", "busy"))
    with pytest.raises(ServiceError) as error:
        create(CreateSessionRequest("en", "standard"), speaker("c3", "busy"))
    assert error.value.code is ErrorCode.RATE_LIMITED
    assert 1 <= error.value.retry_after <= 3600


def test_max_active_sessions_is_enforced_at_creation_and_frees_up_when_one_ends(dynamodb, monkeypatch, reset):
    monkeypatch.setenv("MAX_ACTIVE_SESSIONS", "2")
    reset()
    first, _ = (
        create(CreateSessionRequest("en", "standard"), speaker(f"c{index}", f"user-{index}")) for index in range(2)
    )
    with pytest.raises(ServiceError) as error:
        create(CreateSessionRequest("en", "standard"), speaker("c3", "user-3"))
    assert (error.value.code, error.value.retry_after) == (ErrorCode.SERVICE_UNAVAILABLE, 60)
    with mock.patch.object(fanout, "broadcast", return_value=fanout.FanoutResult()):
        assert end(first, "speakerDisconnected")
    assert create(CreateSessionRequest("en", "standard"), speaker("c4", "user-4")).session_id


def test_fan_out_failures_are_counted_and_gone_listeners_removed(dynamodb, session, capsys):
    from session_management import messages
    from session_management.metrics import metrics

    join(session.session_id, "listener-a")
    join(session.session_id, "listener-b")
    result = fanout.FanoutResult(delivered=[], gone=["listener-a"], failed=["listener-b"])
    with mock.patch.object(fanout, "broadcast", return_value=result):
        message = messages.broadcast_state_changed(
            session_id=session.session_id, state=session.broadcast_state.to_message()
        )
        dependencies().listeners.tell(session, message)
        metrics.flush_metrics()
    assert count(dynamodb, session.session_id) == 1  # the 410 row left; the failed one stays for a retry
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"FanoutFailures"' in line]
    assert [m["FanoutFailures"] for m in emitted] == [[1.0]]

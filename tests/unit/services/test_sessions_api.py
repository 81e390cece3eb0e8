"""The HTTP session API's handler, on moto's DynamoDB: a speaker's own sessions over REST.

(End-to-end, behind the local JWT authorizer and under schemathesis: tests/e2e/test_sessions_api.py.)
"""

from __future__ import annotations

import pytest

from session_management import contracts
from tests.support.http_api_events import call


@pytest.fixture
def sessions_api(dynamodb, monkeypatch):
    monkeypatch.setenv("WEBSOCKET_MANAGEMENT_ENDPOINT", "https://api.execute-api.us-east-1.amazonaws.com/prod")
    return dynamodb


def test_create_get_list_update_and_delete(sessions_api):
    status, created = call("POST", "/sessions", body={"sourceLanguage": "en"})
    assert status == 201
    contracts.validate("http-session", created)
    assert created["speakerConnected"] is False and created["qualityTier"] == "standard"
    assert created["speakerDeadline"] > created["createdAt"]
    session_id = created["sessionId"]

    assert call("GET", f"/sessions/{session_id}") == (200, created)
    status, listing = call("GET", "/sessions")
    contracts.validate("http-session-list", listing)
    assert [s["sessionId"] for s in listing["sessions"]] == [session_id]

    status, updated = call("PATCH", f"/sessions/{session_id}", body={"qualityTier": "premium"})
    assert (status, updated["qualityTier"]) == (200, "premium")
    status, ended = call("PATCH", f"/sessions/{session_id}", body={"status": "ended"})
    assert (status, ended["status"], ended["endReason"]) == (200, "ended", "speakerEnded")
    status, error = call("PATCH", f"/sessions/{session_id}", body={"qualityTier": "standard"})
    assert (status, error["code"]) == (409, "SESSION_ENDED")

    assert call("DELETE", f"/sessions/{session_id}") == (204, None)
    assert call("DELETE", f"/sessions/{session_id}") == (204, None)  # repeating it is harmless
    assert call("GET", f"/sessions/{session_id}")[0] == 404


def test_other_users_see_nothing(sessions_api):
    _, created = call("POST", "/sessions", body={"sourceLanguage": "en"})
    status, error = call("GET", f"/sessions/{created['sessionId']}", user="mallory")
    assert (status, error["code"]) == (404, "SESSION_NOT_FOUND")
    assert call("PATCH", f"/sessions/{created['sessionId']}", user="mallory", body={"status": "ended"})[0] == 404
    assert call("GET", "/sessions", user="mallory")[1] == {"sessions": []}
    assert call("GET", f"/sessions/{created['sessionId']}")[1]["status"] == "active"


def test_pages_through_a_speakers_sessions(sessions_api):
    created = {call("POST", "/sessions", body={"sourceLanguage": "en"})[1]["sessionId"] for _ in range(5)}
    seen: list[str] = []
    token = None
    for _ in range(5):
        query = {"limit": "2", **({"nextToken": token} if token else {})}
        status, page = call("GET", "/sessions", query=query)
        assert status == 200 and len(page["sessions"]) <= 2
        seen += [s["sessionId"] for s in page["sessions"]]
        token = page.get("nextToken")
        if not token:
            break
    assert sorted(seen) == sorted(created)


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("POST", "/sessions", {"body": "not json"}, 400, "INVALID_MESSAGE"),
        ("POST", "/sessions", {}, 400, "INVALID_MESSAGE"),
        ("POST", "/sessions", {"body": {"sourceLanguage": "english"}}, 400, "INVALID_PARAMETER"),
        ("POST", "/sessions", {"body": {"sourceLanguage": "en", "speakerUserId": "bob"}}, 400, "INVALID_PARAMETER"),
        ("PATCH", "/sessions/golden-eagle-427", {"body": {}}, 400, "INVALID_PARAMETER"),
        ("GET", "/sessions/DROP TABLE", {}, 400, "INVALID_SESSION_ID"),
        ("GET", "/sessions", {"query": {"limit": "1000"}}, 400, "INVALID_PARAMETER"),
        ("GET", "/sessions", {"query": {"nextToken": "garbage"}}, 400, "INVALID_PARAMETER"),
        ("GET", "/sessions", {"user": None}, 401, "UNAUTHORIZED"),
    ],
)
def test_bad_requests_get_contract_errors_and_change_nothing(sessions_api, method, path, kwargs, status, code):
    got_status, error = call(method, path, **kwargs)
    assert (got_status, error["code"]) == (status, code)
    assert sessions_api.scan(TableName="Sessions-test")["Count"] == 0


def test_another_speakers_page_token_is_refused(sessions_api):
    for _ in range(3):
        call("POST", "/sessions", body={"sourceLanguage": "en"})
    token = call("GET", "/sessions", query={"limit": "1"})[1]["nextToken"]
    status, error = call("GET", "/sessions", user="mallory", query={"nextToken": token})
    assert (status, error["parameter"]) == (400, "nextToken")

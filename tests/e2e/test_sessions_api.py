"""The HTTP session API on the local stack: its JWT authorizer, the OpenAPI document under
schemathesis, and a session created over HTTP that its speaker then takes over by WebSocket."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from session_management import contracts
from stage_access import tokens as stage_tokens
from tests.support import tokens
from tests.support.openapi import bundled_openapi
from tests.support.session_clients import join
from tests.support.websocket_client import Client

SCHEMATHESIS_EXAMPLES = 25


@pytest.fixture(scope="module")
def api_url(stack: dict[str, Any]) -> str:
    return str(stack["httpApiUrl"])


@pytest.fixture(scope="module")
def http_token(stack: dict[str, Any]) -> str:
    # Its own user: schemathesis creates sessions, which count against the user's hourly limit.
    return stage_tokens.speaker_token(stack, "e2e-http-client")


# Loaded once at import: the operations become test ids (schemathesis' pytest plugin is not
# used; its fixture loader does not support this pytest).
SESSIONS_API = schemathesis.openapi.from_dict(bundled_openapi())
OPERATIONS = [result.ok() for result in SESSIONS_API.get_all_operations()]


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_the_http_api_conforms_to_its_openapi_document(operation: Any, api_url: str, http_token: str) -> None:
    """No 5xx, every status and body declared, bad input refused with a contract error."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=SCHEMATHESIS_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def conforms(case: Any) -> None:
        case.call_and_validate(
            base_url=api_url, headers={"Authorization": f"Bearer {http_token}"}, excluded_checks=excluded
        )

    # A page token is opaque: a schema-valid string this API did not issue is rightly refused.
    excluded = [positive_data_acceptance] if operation.label == "GET /sessions" else []

    conforms()


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer not-a-jwt", "Basic dXNlcjpwYXNz"],
)
def test_the_jwt_authorizer_refuses_without_invoking(api_url, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = requests.get(f"{api_url}/sessions", headers=headers, timeout=10)
    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})


def test_a_token_of_another_audience_is_refused(stack, api_url, http_token):
    import jwt

    claims = jwt.decode(http_token, options={"verify_signature": False})
    forged = jwt.encode({**claims, "aud": "another-client"}, "not-the-key", algorithm="HS256")
    response = requests.get(f"{api_url}/sessions", headers={"Authorization": f"Bearer {forged}"}, timeout=10)
    assert response.status_code == 401


@pytest.mark.parametrize(("issued_in", "status"), [(-5, 200), (60, 401)])
def test_a_token_issued_in_the_future_is_refused(stack, api_url, issued_in, status):
    """API Gateway's JWT authorizer: `iat`, when present, must be before the current time."""
    token = tokens.signed_by_pool(stack, iat=int(time.time()) + issued_in, aud=stack["cognito"]["clientId"])
    response = requests.get(f"{api_url}/sessions", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == status, response.text


def test_a_session_created_over_http_is_taken_over_by_its_speaker_and_ended(stack, api_url):
    token = stage_tokens.speaker_token(stack, "e2e-http-speaker")
    auth = {"Authorization": f"Bearer {token}"}
    created = requests.post(f"{api_url}/sessions", json={"sourceLanguage": "en"}, headers=auth, timeout=10)
    assert created.status_code == 201, created.text
    session = created.json()
    contracts.validate("http-session", session)
    session_id = session["sessionId"]
    assert session["speakerConnected"] is False

    speaker = Client.connect(
        stack["websocketUrl"], action="refreshConnection", sessionId=session_id, role="speaker", token=token
    )
    listener = join(stack, session_id, "es")
    try:
        assert speaker.wait_for("connectionRefreshComplete")["role"] == "speaker"
        view = requests.get(f"{api_url}/sessions/{session_id}", headers=auth, timeout=10).json()
        assert (view["speakerConnected"], view["listenerCount"]) == (True, 1)

        ended = requests.patch(f"{api_url}/sessions/{session_id}", json={"status": "ended"}, headers=auth, timeout=10)
        assert ended.status_code == 200 and ended.json()["status"] == "ended"
        assert listener.wait_for("sessionEnded")["reason"] == "speakerEnded"
        deleted = requests.delete(f"{api_url}/sessions/{session_id}", headers=auth, timeout=10)
        assert deleted.status_code == 204
        assert requests.get(f"{api_url}/sessions/{session_id}", headers=auth, timeout=10).status_code == 404
    finally:
        listener.close()
        speaker.close()

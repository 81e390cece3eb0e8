"""The local stack as a newcomer meets it: endpoints, idempotent start, TLS with the local CA."""

from __future__ import annotations

import json
import ssl
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from local_stack import cli
from local_stack.supervisor import LocalStackOptions
from tests.support.clients import signed_request
from tests.support.websocket_client import Client

pytestmark = pytest.mark.e2e


def test_stack_json_names_every_endpoint(stack):
    assert stack["env"] == "local"
    assert stack["stage"] == "prod"
    assert stack["websocketUrl"].startswith("ws://127.0.0.1:") and stack["websocketUrl"].endswith("/prod")
    assert stack["managementApiUrl"].startswith("http://127.0.0.1:")
    assert stack["dynamodbEndpoint"].startswith("http://127.0.0.1:")
    cognito = stack["cognito"]
    assert cognito["issuer"] == f"https://cognito-idp.{cognito['region']}.amazonaws.com/{cognito['userPoolId']}"
    with urllib.request.urlopen(cognito["jwksUrl"], timeout=5) as response:
        assert json.load(response)["keys"][0]["alg"] == "RS256"


def test_a_second_start_is_a_no_op_with_the_same_endpoints(stack):
    state_dir = Path(stack["logDir"]).parent
    again = cli.start(LocalStackOptions(state_dir=str(state_dir)))
    assert again["websocketUrl"] == stack["websocketUrl"]
    assert again["supervisorPid"] == stack["supervisorPid"]


def test_tls_endpoints_are_trusted_through_the_local_ca(stack, speaker_token):
    with Client.connect(
        stack["websocketTlsUrl"],
        ca_bundle=stack["caBundle"],
        action="createSession",
        sourceLanguage="fr",
        qualityTier="premium",
        token=speaker_token,
    ) as speaker:
        created = speaker.receive_type("sessionCreated", timeout=15)
        assert created["qualityTier"] == "premium"
        context = ssl.create_default_context(cafile=stack["caBundle"])
        # Connection ids are base64 and may hold '/' or '+': clients must URL-encode them, as boto3 does.
        url = f"{stack['managementApiTlsUrl']}/@connections/{quote(created['connectionId'], safe='')}"
        with urllib.request.urlopen(signed_request(stack, url), context=context, timeout=5) as response:
            info = json.load(response)
        assert set(info) == {"connectedAt", "identity", "lastActiveAt"}


def test_management_api_answers_410_for_unknown_connections(stack):
    request = signed_request(stack, f"{stack['managementApiUrl']}/@connections/AAAAAAAAAAAAAAA=", "POST", b"{}")
    with pytest.raises(urllib.error.HTTPError) as gone:
        urllib.request.urlopen(request, timeout=5)
    assert gone.value.code == 410
    assert gone.value.headers["x-amzn-ErrorType"] == "GoneException"

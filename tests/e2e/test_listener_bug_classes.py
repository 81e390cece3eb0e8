"""The five listener bugs that once took ten deployments to find, each reproduced on the local
stack with the symptom AWS gives (the wss:// management endpoint is in tests/fidelity)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from stage_access import tokens as stage_tokens
from tests.support.clients import local_client
from tests.support.session_clients import create_session, join
from tests.support.stack_state import recorded_events_file, session_item
from tests.support.stacks import LOCAL_ASSEMBLY_DIR, started_stack
from tests.support.waiting import wait_until
from tests.support.websocket_client import Client, HandshakeRefused

pytestmark = pytest.mark.e2e


def test_query_parameters_are_read_from_the_handshake(stack, speaker_token, dynamodb, tables):
    """Bug class 1: parameters not read. The join's parameters arrive in queryStringParameters and count."""
    speaker, created = create_session(stack, speaker_token)
    with speaker, join(stack, created["sessionId"], "pt"):
        assert session_item(dynamodb, tables, created["sessionId"])["listenerCount"] == {"N": "1"}
    with Client.connect(stack["websocketUrl"]) as plain:  # no query string at all: AWS omits the field
        plain.send({"action": "heartbeat"})
        plain.receive_type("heartbeatAck")


def test_the_role_comes_from_the_action_not_the_token(stack, speaker_token, dynamodb, tables):
    """Bug class 2: wrong role inferred. A listener that happens to carry a valid token is still a listener."""
    speaker, created = create_session(stack, speaker_token)
    with (
        speaker,
        Client.connect(
            stack["websocketUrl"], action="joinSession", sessionId=created["sessionId"], targetLanguage="es"
        ) as listener,
    ):
        listener.send({"action": "heartbeat"})
        assert listener.receive_type("heartbeatAck")  # no sessionCreated: it did not become a speaker
        assert session_item(dynamodb, tables, created["sessionId"])["listenerCount"] == {"N": "1"}


def test_anonymous_listeners_pass_the_authorizer(stack, speaker_token):
    """Bug class 3: an authorizer that rejects anonymous listeners. The identity source is Host, which
    every handshake carries (tests/fidelity shows a token identity source refusing them with 401)."""
    speaker, created = create_session(stack, speaker_token)
    with speaker, join(stack, created["sessionId"], "ja") as listener:
        listener.send({"action": "heartbeat"})
        listener.receive_type("heartbeatAck")


def test_a_repeated_connect_is_idempotent(stack, speaker_token, dynamodb, tables):
    """Bug class 5: a non-idempotent join. The same $connect delivered twice counts once."""
    speaker, created = create_session(stack, speaker_token)
    with speaker, join(stack, created["sessionId"], "fr"):
        events = recorded_events_file(stack)
        connect_event = next(
            event
            for event in map(json.loads, events.read_text().splitlines())
            if event["requestContext"]["eventType"] == "CONNECT"
            and "methodArn" not in event
            and (event.get("queryStringParameters") or {}).get("sessionId") == created["sessionId"]
        )
        client = local_client(stack, "lambda")
        result = client.invoke(FunctionName="session-connection-handler-local", Payload=json.dumps(connect_event))
        assert json.load(result["Payload"]) == {"statusCode": 200}
        assert session_item(dynamodb, tables, created["sessionId"])["listenerCount"] == {"N": "1"}


def _template_without(action: str, function_name: str, source: Path, target: Path) -> None:
    """The synthesized template with one IAM action removed from one function's role."""
    shutil.copytree(source, target, symlinks=True)
    path = target / "SessionManagement-local.template.json"
    template = json.loads(path.read_text())
    resources = template["Resources"]
    [function] = [r for r in resources.values() if r["Properties"].get("FunctionName") == function_name]
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    for resource in resources.values():
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role} in resource["Properties"]["Roles"]:
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                statement["Action"] = [a for a in actions if a != action] or ["dynamodb:DescribeLimits"]
    path.write_text(json.dumps(template))


def test_a_missing_iam_permission_fails_the_join_as_in_aws(tmp_path, speaker_token):
    """Bug class 4: a missing IAM permission. Without dynamodb:ConditionCheckItem the join's transaction
    (which checks the caller's address is not blocked) is denied and the handshake fails with 500, while
    the log names AccessDeniedException. Creating a session, which needs no condition check, still works."""
    assembly = tmp_path / "cdk.out"
    _template_without("dynamodb:ConditionCheckItem", "session-connection-handler-local", LOCAL_ASSEMBLY_DIR, assembly)
    with started_stack(tmp_path / "state", assembly_dir=str(assembly), warm_functions=False) as broken:
        speaker, created = create_session(broken, stage_tokens.speaker_token(broken, "iam-speaker"))  # PutItem: allowed
        with speaker, pytest.raises(HandshakeRefused) as refused:
            join(broken, created["sessionId"], "es")  # ConditionCheckItem in the join transaction: denied
        assert refused.value.status == 500
        assert json.loads(refused.value.body)["code"] == "INTERNAL_ERROR"
        log = (Path(broken["logDir"]) / "lambda-session-connection-handler-local.log").read_text()
        assert "AccessDeniedException" in log or "ClientError" in log


def test_listener_cleanup_reaches_zero_after_everyone_leaves(stack, speaker_token, dynamodb, tables):
    speaker, created = create_session(stack, speaker_token)
    listeners = [join(stack, created["sessionId"], lang) for lang in ("es", "es", "de")]
    for listener in listeners:
        listener.close()
    wait_until(lambda: session_item(dynamodb, tables, created["sessionId"])["listenerCount"] == {"N": "0"})
    speaker.close()

"""API Gateway WebSocket behaviour, provoked through probe routes and checked against what AWS
documents. Each test is a row of the fidelity table in docs/LOCAL_STACK.md."""

from __future__ import annotations

import json
import socket
import ssl
import struct
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import websocket

from tests.support.clients import signed_request
from tests.support.probe_stack import started_probe_stack
from tests.support.stack_state import recorded_events_file

pytestmark = pytest.mark.e2e


class Socket(websocket.WebSocket):
    def __enter__(self) -> Socket:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def connect(stack: dict[str, Any], **query: str) -> Socket:
    url = stack["websocketUrl"] + (f"?{urlencode(query)}" if query else "")
    return websocket.create_connection(url, timeout=10, class_=Socket)


def status_of_refusal(stack: dict[str, Any], **query: str) -> int:
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(stack, **query).close()
    return refused.value.status_code


def send(ws: websocket.WebSocket, payload: Any) -> None:
    ws.send(payload if isinstance(payload, str) else json.dumps(payload))


def receive(ws: websocket.WebSocket, timeout: float = 10) -> dict[str, Any]:
    ws.settimeout(timeout)
    return json.loads(ws.recv())


def echo(ws: websocket.WebSocket) -> dict[str, Any]:
    send(ws, {"action": "echo"})
    return receive(ws)["echo"]


def wait_closed(ws: websocket.WebSocket, timeout: float = 10) -> int:
    """Read until the server's close frame; returns its status code."""
    ws.settimeout(timeout)
    while True:
        opcode, frame = ws.recv_data_frame(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int(struct.unpack("!H", frame.data[:2])[0]) if len(frame.data) >= 2 else 1005


def recorded(table: Any, kind: str, connection_id: str, timeout: float = 10) -> dict[str, Any]:
    """The event a probe function stored, awaited with a deadline ($disconnect is asynchronous)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item = table.get_item(TableName="Probe-fidelity", Key={"id": {"S": f"{kind}#{connection_id}"}}).get("Item")
        if item:
            value = item["event"]["S"]
            return json.loads(value) if value.startswith("{") else {"value": value}
        time.sleep(0.05)
    raise AssertionError(f"no {kind} event for {connection_id}")


def management(stack: dict[str, Any], connection_id: str, method: str, data: bytes | None = None) -> int:
    url = f"{stack['managementApiUrl']}/@connections/{quote(connection_id, safe='')}"
    request = signed_request(stack, url, method, data)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


# Route selection and route responses ------------------------------------------------------


def test_route_selection_uses_the_templates_expression(probe):
    with connect(probe) as ws:
        assert echo(ws)["requestContext"]["routeKey"] == "echo"


@pytest.mark.parametrize("frame", ['{"action": "nope"}', "not json", '{"no": "action"}'])
def test_unmatched_messages_without_a_default_route_get_the_forbidden_frame(probe, frame):
    with connect(probe) as ws:
        send(ws, frame)
        reply = receive(ws)
        assert reply["message"] == "Forbidden"
        assert set(reply) == {"message", "connectionId", "requestId"}


def test_a_return_value_reaches_the_client_only_with_a_route_response(probe):
    with connect(probe) as ws:
        send(ws, {"action": "silent"})
        # The next frame is the echo's: the silent route's return value was discarded.
        assert echo(ws)["requestContext"]["routeKey"] == "echo"


@pytest.mark.parametrize("route", ["boom", "slow"], ids=["raises", "times-out"])
def test_failing_handlers_give_internal_server_error(probe, route):
    with connect(probe) as ws:
        connection_id = echo(ws)["requestContext"]["connectionId"]
        send(ws, {"action": route})
        reply = receive(ws)
        assert reply["message"] == "Internal server error"
        assert reply["connectionId"] == connection_id and reply["requestId"]


def test_connect_handler_raising_refuses_the_handshake_with_500(probe):
    assert status_of_refusal(probe, connect="raise") == 500


def test_connect_handler_status_is_the_handshake_status(probe):
    assert status_of_refusal(probe, connect="refuse") == 403


# Authorizer ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "status"), [("unauthorized", 401), ("deny", 403), ("elsewhere", 403), ("error", 500)])
def test_authorizer_outcomes(probe, mode, status):
    assert status_of_refusal(probe, authz=mode) == status


def test_missing_identity_source_is_401_without_invoking_the_authorizer(strict):
    events = recorded_events_file(strict)
    before = events.read_text().count('"methodArn"') if events.exists() else 0
    assert status_of_refusal(strict) == 401
    after = events.read_text().count('"methodArn"') if events.exists() else 0
    assert after == before
    with connect(strict, token="anything") as ws:  # present: the authorizer runs and allows
        assert echo(ws)["requestContext"]["authorizer"]["principalId"] == "probe-user"


def test_authorizer_context_reaches_every_event_as_strings(probe, probe_table):
    with connect(probe) as ws:
        event = echo(ws)
        connection_id = event["requestContext"]["connectionId"]
    expected = {"principalId": "probe-user", "userId": "u-1", "count": "3", "flag": "true"}
    assert event["requestContext"]["authorizer"] == expected
    assert recorded(probe_table, "connect", connection_id)["requestContext"]["authorizer"] == expected
    assert recorded(probe_table, "disconnect", connection_id)["requestContext"]["authorizer"] == expected


# Event fields -------------------------------------------------------------------------------


def test_event_fields_are_awss_and_stable_across_a_connection(probe, probe_table):
    with connect(probe, flavour="vanilla") as ws:
        first, second = echo(ws), echo(ws)
    context = first["requestContext"]
    connection_id = context["connectionId"]
    assert len(connection_id) == 16 and connection_id.endswith("=")
    assert context["messageDirection"] == "IN" and context["eventType"] == "MESSAGE"
    assert context["messageId"] != second["requestContext"]["messageId"]
    assert context["requestId"] != second["requestContext"]["requestId"]
    assert context["extendedRequestId"] and context["requestTime"].endswith("+0000")
    assert context["stage"] == "prod" and len(context["apiId"]) == 10
    # websocket-client sends no User-Agent, so the identity has none (as in AWS), only the address.
    assert context["identity"] == {"sourceIp": "127.0.0.1"}
    assert context["domainName"] == probe["managementApiTlsUrl"].removeprefix("https://").removesuffix("/prod")
    connect_event = recorded(probe_table, "connect", connection_id)
    assert connect_event["queryStringParameters"] == {"flavour": "vanilla"}
    connected_at = {
        connect_event["requestContext"]["connectedAt"],
        context["connectedAt"],
        second["requestContext"]["connectedAt"],
        recorded(probe_table, "disconnect", connection_id)["requestContext"]["connectedAt"],
    }
    assert len(connected_at) == 1


@pytest.mark.parametrize("code", [1000, 1001, 4000])
def test_disconnect_carries_the_clients_close_code(probe, probe_table, code):
    ws = connect(probe)
    connection_id = echo(ws)["requestContext"]["connectionId"]
    ws.close(status=code)
    assert recorded(probe_table, "disconnect", connection_id)["requestContext"]["disconnectStatusCode"] == code


def test_an_abrupt_drop_disconnects_with_1006(probe, probe_table):
    ws = connect(probe)
    connection_id = echo(ws)["requestContext"]["connectionId"]
    ws.sock.shutdown(socket.SHUT_RDWR)
    ws.sock.close()
    assert recorded(probe_table, "disconnect", connection_id)["requestContext"]["disconnectStatusCode"] == 1006


# @connections -------------------------------------------------------------------------------


def test_post_to_connection_during_connect_is_410(probe, probe_table):
    with connect(probe, connect="post-self") as ws:
        connection_id = echo(ws)["requestContext"]["connectionId"]
    assert recorded(probe_table, "post-self", connection_id) == {"value": "GoneException"}


def test_management_api_post_get_and_limits(probe):
    with connect(probe) as ws:
        connection_id = echo(ws)["requestContext"]["connectionId"]
        assert management(probe, connection_id, "POST", b'{"pushed": true}') == 200
        assert receive(ws) == {"pushed": True}
        assert management(probe, connection_id, "POST", b"x" * (128 * 1024 + 1)) == 413
        assert management(probe, connection_id, "GET") == 200
    assert management(probe, "AAAAAAAAAAAAAAA=", "POST", b"{}") == 410


def test_handlers_reach_the_management_api_over_https_and_last_active_moves(probe):
    with connect(probe) as ws:
        echo(ws)
        send(ws, {"action": "manage", "op": "get"})
        first = receive(ws)["outcome"]
        send(ws, {"action": "manage", "op": "get"})
        second = receive(ws)["outcome"]
    assert set(first) == {"connectedAt", "lastActiveAt", "identity"}
    assert second["lastActiveAt"] > first["lastActiveAt"]
    assert first["connectedAt"] == second["connectedAt"]


def test_delete_closes_the_connection_and_fires_disconnect(probe, probe_table):
    ws = connect(probe)
    connection_id = echo(ws)["requestContext"]["connectionId"]
    assert management(probe, connection_id, "DELETE") == 204
    wait_closed(ws)
    assert recorded(probe_table, "disconnect", connection_id)["requestContext"]["routeKey"] == "$disconnect"
    assert management(probe, connection_id, "GET") == 410


def test_the_management_endpoint_is_https_only(probe):
    """A handler that builds wss://{domainName}/{stage} fails locally as it fails in AWS."""
    with connect(probe) as ws:
        send(ws, {"action": "manage", "scheme": "wss"})
        assert "Not supported URL scheme wss" in receive(ws)["outcome"]


def test_tls_endpoint_with_the_local_ca(probe):
    context = ssl.create_default_context(cafile=probe["caBundle"])
    ws = websocket.create_connection(probe["websocketTlsUrl"], timeout=10, sslopt={"context": context}, class_=Socket)
    with ws:
        assert echo(ws)["requestContext"]["routeKey"] == "echo"


# Limits ---------------------------------------------------------------------------------------


def test_frames_over_32_kb_close_the_connection_with_1009(probe, probe_table):
    ws = connect(probe)
    connection_id = echo(ws)["requestContext"]["connectionId"]
    send(ws, json.dumps({"action": "echo", "pad": "x" * 33 * 1024}))
    assert wait_closed(ws) == 1009
    assert recorded(probe_table, "disconnect", connection_id)["requestContext"]["disconnectStatusCode"] == 1009


def test_stage_throttling_from_the_template(throttled):
    """Burst 2: the handshake takes one token (stage throttling covers `$connect`), one echo passes."""
    with connect(throttled, token="t") as ws:
        for _ in range(6):
            send(ws, {"action": "echo"})
        replies = [receive(ws) for _ in range(6)]
    assert any(r.get("message") == "Too Many Requests" for r in replies)
    assert any("echo" in r for r in replies)


def test_idle_connections_are_closed_and_disconnect_fires(short_lived):
    ws = connect(short_lived, token="t")
    assert wait_closed(ws, timeout=10) == 1001


def test_connections_are_closed_at_the_hard_limit_even_when_active(short_lived):
    ws = connect(short_lived, token="t")
    ws.settimeout(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        send(ws, {"action": "echo"})  # activity keeps the idle timer at bay, not the hard limit
        opcode, frame = ws.recv_data_frame(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            assert struct.unpack("!H", frame.data[:2])[0] == 1001
            return
    raise AssertionError("the connection outlived the hard limit")


# Lambda and IAM -----------------------------------------------------------------------------


def test_a_role_without_the_action_gets_access_denied(probe):
    with connect(probe) as ws:
        send(ws, {"action": "write"})
        assert receive(ws)["outcome"] == "AccessDeniedException"


def test_a_function_without_an_api_gateway_permission_is_not_invokable(probe):
    with connect(probe) as ws:
        send(ws, {"action": "unpermitted"})
        assert receive(ws)["message"] == "Internal server error"


def test_reserved_concurrency_throttles_rather_than_queues(probe):
    """Reserved concurrency 1: while one invocation runs, a second is throttled at once."""
    first, second = connect(probe), connect(probe)
    try:
        send(first, {"action": "single"})
        echo(first)  # the single function is now busy with the first request
        send(second, {"action": "single"})
        assert receive(second)["message"] == "Internal server error"
        assert receive(first)["message"] == "Internal server error"  # the first one times out (3 s)
    finally:
        first.close()
        second.close()


def test_schedule_rules_run_time_scaled_and_on_demand(probe, probe_table):
    from stage_access import rules

    def scheduled_items() -> list[dict[str, Any]]:
        return [
            i for i in probe_table.scan(TableName="Probe-fidelity")["Items"] if i["id"]["S"].startswith("scheduled#")
        ]

    deadline = time.monotonic() + 15
    while not scheduled_items() and time.monotonic() < deadline:
        time.sleep(0.1)
    items = scheduled_items()
    assert items
    event = json.loads(items[0]["event"]["S"])
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert rules.trigger_rule(probe, "probe-every-minute") == {"rule": "probe-every-minute", "failedTargets": 0}


def test_new_connections_beyond_the_account_rate_get_429(tmp_path):
    """The account quota (500/s) is a token bucket; with it set to 2/s, a burst of 8 sees 429s."""
    with started_probe_stack(tmp_path, gateway_overrides={"newConnectionsPerSecond": 2}) as stack:

        def attempt(_: int) -> int:
            try:
                connect(stack).close()
                return 101
            except websocket.WebSocketBadStatusException as refused:
                return int(refused.status_code)

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(attempt, range(8)))
        assert 429 in statuses and 101 in statuses


def test_an_integration_past_api_gateways_timeout_is_endpoint_request_timed_out(tmp_path):
    """API Gateway gives up on an integration at 29 s (1 s here) with "Endpoint request timed out";
    the function runs on to its own timeout (3 s), still holding its concurrency (reserved 1)."""
    with (
        started_probe_stack(tmp_path, gateway_overrides={"integrationTimeoutSeconds": 1}) as stack,
        connect(stack) as ws,
    ):
        send(ws, {"action": "single"})
        reply = receive(ws)
        assert reply["message"] == "Endpoint request timed out" and reply["requestId"]
        send(ws, {"action": "single"})  # the first run still holds the only slot: throttled
        assert receive(ws)["message"] == "Internal server error"


def test_dynamodb_ttl_really_expires_items(probe_table):
    """TTL is enabled from the template's TimeToLiveSpecification; DynamoDB Local deletes expired items."""
    key = {"id": {"S": "ttl-probe"}}
    probe_table.put_item(TableName="Probe-fidelity", Item={**key, "ttl": {"N": str(int(time.time()) - 60)}})
    deadline = time.monotonic() + 90
    while "Item" in probe_table.get_item(TableName="Probe-fidelity", Key=key):
        assert time.monotonic() < deadline, "expired item still present after 90 s"
        time.sleep(0.5)

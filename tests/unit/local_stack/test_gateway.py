"""The WebSocket gateway end to end in one event loop: the handshake, frame handling, route
dispatch, `$disconnect` and the `@connections` API, against recording pools (no workers)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request

from local_stack.apigateway import events, responses
from local_stack.apigateway.gateway import WebSocketGateway
from local_stack.apigateway.ids import new_connection_id
from local_stack.apigateway.settings import GatewaySettings
from local_stack.apigateway.websocket_api import Authorizer, Route, Stage, WebSocketApi
from local_stack.awslambda.permissions import InvokePermission
from local_stack.awslambda.pool import InvocationResult
from local_stack.iam.models import Role, Statement
from tests.unit.local_stack.fakes import RecordingPool, SigningClient, owner_keys

SETTINGS = GatewaySettings(
    stack_name="S",
    region="us-east-1",
    assembly_dir=Path(),
    log_dir=Path(),
    host="127.0.0.1",
    plain_ports=(0,),
    tls_ports=(8443,),
    cert_file=Path(),
    key_file=Path(),
)


def echo(event: dict[str, Any]) -> InvocationResult:
    return InvocationResult(payload={"statusCode": 200, "body": "echo:" + event["body"]})


def websocket_api(*extra: Route, connect: Route | None = None, stage: Stage | None = None) -> WebSocketApi:
    routes = [
        connect or Route("$connect", "connect"),
        Route("$disconnect", "disconnect"),
        Route("ask", "echo", returns_response=True),
        Route("tell", "echo"),
        Route("broken", "broken"),
        *extra,
    ]
    stages = {"prod": stage or Stage("prod")}
    return WebSocketApi("Api", "abcdefghij", "api", "$request.body.action", {r.key: r for r in routes}, stages)


def pools() -> dict[str, RecordingPool]:
    return {
        "connect": RecordingPool(),
        "disconnect": RecordingPool(),
        "echo": RecordingPool(answer=echo),
        "broken": RecordingPool(InvocationResult(error_type="Boom", error_message="boom")),
        "default": RecordingPool(),
        "authorizer": RecordingPool(),
    }


Scenario = Callable[[TestClient, WebSocketGateway, dict[str, RecordingPool]], Awaitable[None]]


def run(
    scenario: Scenario,
    api: WebSocketApi | None = None,
    permissions: list[InvokePermission] | None = None,
    keys: dict[str, Any] | None = None,
    function_pools: dict[str, RecordingPool] | None = None,
    **settings: Any,
) -> None:
    function_pools = function_pools or pools()

    async def main() -> None:
        gateway = WebSocketGateway(
            api or websocket_api(), "prod", function_pools, replace(SETTINGS, **settings), 0, permissions
        )
        app = web.Application()
        responses.add_routes(app, gateway, keys or owner_keys())
        async with TestClient(TestServer(app)) as client:
            await scenario(SigningClient(client, "execute-api"), gateway, function_pools)

    asyncio.run(main())


async def eventually(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def next_json(socket: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await socket.receive(timeout=3)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    result: dict[str, Any] = json.loads(message.data)
    return result


def test_connect_then_a_routed_message_gets_its_route_response():
    async def scenario(client, gateway, pools):
        async with client.ws_connect("/prod?lang=fr") as socket:
            [connect] = pools["connect"].events
            assert connect["requestContext"]["eventType"] == "CONNECT"
            assert connect["queryStringParameters"] == {"lang": "fr"}
            await socket.send_str('{"action": "ask", "q": 1}')
            reply = await socket.receive(timeout=3)
            assert reply.data == 'echo:{"action": "ask", "q": 1}'
            [message] = pools["echo"].events
            assert message["requestContext"]["routeKey"] == "ask"
            assert message["requestContext"]["connectionId"] == connect["requestContext"]["connectionId"]

    run(scenario)


def test_a_route_without_a_route_response_sends_nothing_back():
    async def scenario(client, gateway, pools):
        async with client.ws_connect("/prod") as socket:
            await socket.send_str('{"action": "tell"}')
            await socket.send_str('{"action": "ask"}')
            reply = await socket.receive(timeout=3)
            assert reply.data == 'echo:{"action": "ask"}'  # the first frame's result never arrived
            assert len(pools["echo"].events) == 2

    run(scenario)


def test_an_unmatched_message_without_default_gets_forbidden_with_ids():
    async def scenario(client, gateway, pools):
        async with client.ws_connect("/prod") as socket:
            await socket.send_str('{"action": "nope"}')
            frame = await next_json(socket)
            assert frame["message"] == "Forbidden"
            [connection_id] = gateway.connections
            assert frame["connectionId"] == connection_id and frame["requestId"]

    run(scenario)


def test_unmatched_text_frames_go_to_default():
    async def scenario(client, gateway, pools):
        async with client.ws_connect("/prod") as socket:
            await socket.send_str("plain text")
            await eventually(lambda: len(pools["default"].events) == 1)
            [text] = pools["default"].events
            assert text["body"] == "plain text" and not text["isBase64Encoded"]
            assert text["requestContext"]["routeKey"] == "$default"

    run(scenario, api=websocket_api(Route("$default", "default")))


def test_a_binary_frame_disconnects_the_client_with_1003_and_reaches_no_route():
    """API Gateway WebSocket APIs take no binary frames: "API Gateway rejects it and disconnects the
    client with code 1003" (Binary media types for WebSocket APIs)."""

    async def scenario(client, gateway, pools):
        async with client.ws_connect("/prod") as socket:
            await socket.send_bytes(b"\x00\xffaudio")
            closing = await socket.receive(timeout=3)
            assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 1003
        await eventually(lambda: len(pools["disconnect"].events) == 1)
        assert pools["disconnect"].events[0]["requestContext"]["disconnectStatusCode"] == 1003
        assert pools["default"].events == [] and gateway.connections == {}

    run(scenario, api=websocket_api(Route("$default", "default")))


def test_a_failing_integration_answers_internal_server_error():
    async def scenario(client, gateway, pools):
        async with client.ws_connect("/prod") as socket:
            await socket.send_str('{"action": "broken"}')
            assert (await next_json(socket))["message"] == "Internal server error"

    run(scenario)


def test_without_an_invoke_permission_the_integration_is_never_called():
    permissions = [
        InvokePermission("connect", "apigateway.amazonaws.com", None),
        InvokePermission("echo", "apigateway.amazonaws.com", "arn:aws:execute-api:us-east-1:000000000000:*/prod/tell"),
    ]

    async def scenario(client, gateway, pools):
        async with client.ws_connect("/prod") as socket:
            await socket.send_str('{"action": "ask"}')
            assert (await next_json(socket))["message"] == "Internal server error"
            assert pools["echo"].events == []

    run(scenario, permissions=permissions)


def test_a_frame_over_the_limit_closes_with_1009_and_fires_disconnect():
    async def scenario(client, gateway, pools):
        async with client.ws_connect("/prod") as socket:
            await socket.send_str("x" * 1025)
            closing = await socket.receive(timeout=3)
            assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 1009
        await eventually(lambda: len(pools["disconnect"].events) == 1)
        context = pools["disconnect"].events[0]["requestContext"]
        assert context["disconnectStatusCode"] == 1009 and context["disconnectReason"] == "Message too big"
        assert pools["default"].events == [] and gateway.connections == {}

    run(scenario, api=websocket_api(Route("$default", "default")), max_frame_bytes=1024)


@pytest.mark.parametrize(
    ("frame", "closes"), [("語" * 341, False), ("語" * 342, True), ("😀" * 256, False), ("😀" * 257, True)]
)
def test_the_frame_limit_counts_utf8_bytes_not_characters(frame, closes):
    """342 CJK characters are 1,026 bytes: over a 1,024-byte limit though only 342 characters."""

    async def scenario(client, gateway, pools):
        async with client.ws_connect("/prod") as socket:
            await socket.send_str(frame)
            if closes:
                closing = await socket.receive(timeout=3)
                assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 1009
            else:
                await eventually(lambda: len(pools["default"].events) == 1)
                assert pools["default"].events[0]["body"] == frame

    run(scenario, api=websocket_api(Route("$default", "default")), max_frame_bytes=1024)


def test_a_url_longer_than_4096_characters_is_refused_as_deployed():
    """Counted as the deployed URL: `wss://abcdefghij.execute-api.us-east-1.amazonaws.com` is 52
    characters, `/prod?q=` 8, so a 4,036-character value makes exactly 4,096."""

    async def scenario(client, gateway, pools):
        async with client.ws_connect("/prod?q=" + "a" * 4036) as socket:
            await socket.close()
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect("/prod?q=" + "a" * 4037)
        assert refused.value.status == 414
        assert len(pools["connect"].events) == 1  # the refused one reached no integration

    run(scenario)


def test_a_client_close_fires_disconnect_once_with_its_code():
    async def scenario(client, gateway, pools):
        socket = await client.ws_connect("/prod")
        await socket.close(code=4000)
        await eventually(lambda: len(pools["disconnect"].events) == 1)
        await asyncio.sleep(0.05)
        assert len(pools["disconnect"].events) == 1
        assert pools["disconnect"].events[0]["requestContext"]["disconnectStatusCode"] == 4000

    run(scenario)


def test_connect_answering_an_error_status_refuses_the_handshake():
    def refuse(_event: Any) -> InvocationResult:
        return InvocationResult(payload={"statusCode": 429, "body": '{"error": "slow down"}'})

    function_pools = pools()
    function_pools["connect"] = RecordingPool(answer=refuse)

    async def scenario(client, gateway, pools):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect("/prod")
        assert refused.value.status == 429
        assert gateway.connections == {}
        await asyncio.sleep(0.05)
        assert pools["disconnect"].events == []  # no socket, no $disconnect

    run(scenario, function_pools=function_pools)


AUTHORIZED_CONNECT = Route(
    "$connect",
    "connect",
    authorization_type="CUSTOM",
    authorizer=Authorizer("auth1", "speaker", "authorizer", ("route.request.querystring.token",)),
)


def test_a_missing_identity_source_is_401_without_invoking_the_authorizer():
    async def scenario(client, gateway, pools):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect("/prod")
        assert refused.value.status == 401
        assert pools["authorizer"].events == [] and pools["connect"].events == []

    run(scenario, api=websocket_api(connect=AUTHORIZED_CONNECT))


def test_an_authorizer_policy_decides_and_its_context_reaches_connect():
    def authorize(event: Any) -> InvocationResult:
        effect = "Allow" if event["queryStringParameters"]["token"] == "good" else "Deny"
        statement = {"Effect": effect, "Action": "execute-api:Invoke", "Resource": event["methodArn"]}
        return InvocationResult(
            payload={"principalId": "u1", "policyDocument": {"Statement": [statement]}, "context": {"tier": 2}}
        )

    function_pools = pools()
    function_pools["authorizer"] = RecordingPool(answer=authorize)

    async def scenario(client, gateway, pools):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect("/prod?token=bad")
        assert refused.value.status == 403 and pools["connect"].events == []
        async with client.ws_connect("/prod?token=good"):
            [connect] = pools["connect"].events
            assert connect["requestContext"]["authorizer"] == {"principalId": "u1", "tier": "2"}
        [first, _] = pools["authorizer"].events
        assert first["type"] == "REQUEST"
        assert first["methodArn"] == "arn:aws:execute-api:us-east-1:000000000000:abcdefghij/prod/$connect"

    run(scenario, api=websocket_api(connect=AUTHORIZED_CONNECT), function_pools=function_pools)


def test_the_stage_throttle_answers_too_many_requests_past_its_burst():
    async def scenario(client, gateway, pools):
        async with client.ws_connect("/prod") as socket:
            for _ in range(3):
                await socket.send_str('{"action": "ask"}')
            frames = [(await socket.receive(timeout=3)).data for _ in range(3)]
            assert sorted(frames)[:2] == ['echo:{"action": "ask"}'] * 2
            assert json.loads(sorted(frames)[2])["message"] == "Too Many Requests"

    # A burst of 3: the `$connect` takes one (stage throttling covers every route), two messages pass.
    run(scenario, api=websocket_api(stage=Stage("prod", throttling_rate_limit=0.001, throttling_burst_limit=3)))


def test_new_connections_past_the_account_rate_get_429():
    async def scenario(client, gateway, pools):
        async with client.ws_connect("/prod"):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await client.ws_connect("/prod")
            assert refused.value.status == 429

    run(scenario, new_connections_per_second=1)


async def connection_url(gateway: WebSocketGateway) -> str:
    """The one connection's `@connections` path (ids are base64: `/` and `+` must be escaped)."""
    await eventually(lambda: len(gateway.connections) == 1)
    [connection_id] = gateway.connections
    return f"/prod/@connections/{quote(connection_id, safe='')}"


def test_post_get_and_delete_on_connections():
    async def scenario(client, gateway, pools):
        async with client.ws_connect("/prod") as socket:
            url = await connection_url(gateway)
            posted = await client.post(url, data=b'{"hello": 1}')
            assert posted.status == 200
            assert (await socket.receive(timeout=3)).data == '{"hello": 1}'
            info = await (await client.get(url)).json()
            assert set(info) == {"connectedAt", "identity", "lastActiveAt"}
            assert info["connectedAt"].endswith("Z") and info["identity"]["sourceIp"] == "127.0.0.1"
            deleted = await client.delete(url)
            assert deleted.status == 204
            closing = await socket.receive(timeout=3)
            assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 1000
            await eventually(lambda: len(pools["disconnect"].events) == 1)
            gone = await client.post(url, data=b"{}")
            assert gone.status == 410 and gone.headers["x-amzn-ErrorType"] == "GoneException"

    run(scenario)


def test_connections_answers_gone_for_unknown_ids_and_413_for_large_posts():
    async def scenario(client, gateway, pools):
        for method in ("POST", "GET", "DELETE"):
            gone = await client.request(method, "/prod/@connections/AAAAAAAAAAAAAAA=")
            assert gone.status == 410 and await gone.json() == {"message": None}
        async with client.ws_connect("/prod"):
            url = await connection_url(gateway)
            large = await client.post(url, data=b"x" * 101)
            assert large.status == 413 and large.headers["x-amzn-ErrorType"] == "PayloadTooLargeException"
            assert await large.json() == {"message": "Request entity too large"}

    run(scenario, max_post_bytes=100)


def test_a_function_whose_role_lacks_manage_connections_is_forbidden():
    resource = "arn:aws:execute-api:us-east-1:000000000000:abcdefghij/prod/POST/@connections/*"
    poster = Role(
        "R",
        "poster-role",
        "arn:aws:iam::000000000000:role/poster-role",
        (Statement("Allow", ("execute-api:ManageConnections",), (resource,)),),
    )
    reader = Role("R", "reader-role", "arn:aws:iam::000000000000:role/reader-role", ())
    keys = owner_keys(
        ASIAPOSTER0000000000=("poster-secret", (poster, "poster")),
        ASIAREADER0000000000=("reader-secret", (reader, "reader")),
    )

    async def scenario(client, gateway, pools):
        url = "/prod/@connections/AAAAAAAAAAAAAAA="
        as_poster, as_reader = (
            client.as_("ASIAPOSTER0000000000", "poster-secret"),
            client.as_("ASIAREADER0000000000", "reader-secret"),
        )
        refused = await as_reader.post(url, data=b"{}")
        assert refused.status == 403 and refused.headers["x-amzn-ErrorType"] == "ForbiddenException"
        assert "assumed-role/reader-role/reader is not authorized" in (await refused.json())["message"]
        allowed = await as_poster.post(url, data=b"{}")
        assert allowed.status == 410  # past the IAM check: the connection is simply gone
        assert (await as_poster.get(url)).status == 403

    run(scenario, keys=keys)


def test_a_plain_request_to_the_stage_needs_an_upgrade():
    async def scenario(client, gateway, pools):
        response = await client.get("/prod")
        assert response.status == 426

    run(scenario)


def test_an_oversized_upgrade_request_is_431_before_any_integration():
    async def scenario(client, gateway, pools):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect("/prod", headers={"X-Big": "x" * 6_000, "X-Bigger": "y" * 6_000})
        assert refused.value.status == 431
        assert pools["connect"].events == []

    run(scenario)


def test_the_fault_switch_drops_disconnects():
    async def scenario(client, gateway, pools):
        switched = await client.post("/__local/faults", json={"dropDisconnectFraction": 5})
        assert await switched.json() == {"dropDisconnectFraction": 1.0}
        socket = await client.ws_connect("/prod")
        await socket.close()
        await eventually(lambda: gateway.connections == {})
        await asyncio.sleep(0.05)
        assert pools["disconnect"].events == []

    run(scenario)


@pytest.mark.parametrize("method", ["PUT", "PATCH", "HEAD", "OPTIONS"])
def test_a_method_the_management_api_lacks_is_refused_and_leaves_the_connection_open(method):
    async def scenario(client, gateway, pools):
        async with client.ws_connect("/prod") as socket:
            url = await connection_url(gateway)
            refused = await client.request(method, url, data=b"{}")
            assert refused.status == 403
            assert refused.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
            if method != "HEAD":
                assert await refused.json() == {"message": "Missing Authentication Token"}
            [connection] = gateway.connections.values()
            assert connection.is_open and pools["disconnect"].events == []
            # Still the same open connection: a post reaches its socket.
            assert (await client.post(url, data=b'{"still": "open"}')).status == 200
            assert (await socket.receive(timeout=3)).data == '{"still": "open"}'

    run(scenario)


def test_an_unknown_method_is_refused_before_the_iam_check_and_before_forwarding():
    nobody = Role("R", "nobody-role", "arn:aws:iam::000000000000:role/nobody-role", ())

    async def scenario(client, gateway, pools):
        # Owned by process 1, whose port (1) nothing listens on: forwarding would fail with 500.
        url = f"/prod/@connections/{quote(new_connection_id(1), safe='')}"
        as_nobody = client.as_("ASIANOBODY0000000000", "nobody-secret")
        for refused in (await client.unsigned.put(url, data=b"{}"), await as_nobody.put(url, data=b"{}")):
            assert refused.status == 403
            assert refused.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
        forbidden = await as_nobody.delete(url)
        assert forbidden.headers["x-amzn-ErrorType"] == "ForbiddenException"  # the known methods are checked

    run(scenario, keys=owner_keys(ASIANOBODY0000000000=("nobody-secret", (nobody, "nobody"))), plain_ports=(0, 1))


def test_connect_events_carry_the_edges_headers():
    async def scenario(client, gateway, pools):
        socket = await client.ws_connect("/prod", headers={"X-Forwarded-For": "203.0.113.9"})
        await socket.close()
        [event] = pools["connect"].events
        headers = event["headers"]
        assert headers["X-Forwarded-For"] == "203.0.113.9, 127.0.0.1"  # the client's own, then its address
        assert headers["X-Forwarded-Port"] == "443" and headers["X-Forwarded-Proto"] == "https"
        assert headers["X-Amzn-Trace-Id"].startswith("Root=1-")
        assert event["multiValueHeaders"]["X-Forwarded-For"] == ["203.0.113.9, 127.0.0.1"]
        assert event["requestContext"]["identity"]["userAgent"].startswith("Python/")

    run(scenario)


def test_an_event_has_no_user_agent_when_the_client_sent_none():
    request = make_mocked_request("GET", "/prod", headers={"Host": "h", "Upgrade": "websocket"})
    connection = responses.connection_from(request, 0)
    event = events.connect_event(connection, api_id="a", stage="prod", domain_name="h")
    assert "userAgent" not in event["requestContext"]["identity"]


def test_a_close_frame_without_a_status_code_disconnects_with_1005():
    async def scenario(client, gateway, pools):
        socket = await client.ws_connect("/prod")
        await socket._writer.send_frame(b"", aiohttp.WSMsgType.CLOSE)  # a close frame with no payload
        await eventually(lambda: len(pools["disconnect"].events) == 1)
        assert pools["disconnect"].events[0]["requestContext"]["disconnectStatusCode"] == 1005
        await socket.close()

    run(scenario)


@pytest.mark.parametrize(("chosen", "expected"), [("translate.v1", "translate.v1"), (None, None)])
def test_the_subprotocol_the_connect_integration_returns_reaches_the_client(chosen, expected):
    headers = {"Sec-WebSocket-Protocol": chosen} if chosen else {}
    connect = RecordingPool(InvocationResult(payload={"statusCode": 200, "headers": headers}))

    async def scenario(client, gateway, pools):
        async with client.ws_connect("/prod", protocols=("translate.v1", "translate.v0")) as socket:
            assert socket.protocol == expected

    run(scenario, function_pools={**pools(), "connect": connect})


def test_stage_throttling_applies_to_connect_too():
    async def scenario(client, gateway, pools):
        first = await client.ws_connect("/prod")
        with pytest.raises(aiohttp.WSServerHandshakeError) as throttled:
            await client.ws_connect("/prod")
        assert throttled.value.status == 429
        assert len(pools["connect"].events) == 1  # the throttled handshake reached no integration
        await first.close()

    run(scenario, api=websocket_api(stage=Stage("prod", throttling_rate_limit=0.001, throttling_burst_limit=1)))


def test_posts_to_a_client_that_stopped_reading_get_429_and_the_connection_stays():
    """PostToConnection answers 429 LimitExceededException when the client's buffer is full."""

    async def scenario(client, gateway, pools):
        async with client.ws_connect("/prod") as socket:  # never reads
            url = await connection_url(gateway)
            statuses = []
            for _ in range(400):  # at most about 50 MB; the buffers fill long before
                response = await client.post(url, data=b"x" * 120_000)
                statuses.append(response.status)
                if response.status != 200:
                    assert response.headers["x-amzn-ErrorType"] == "LimitExceededException"
                    break
            assert statuses[-1] == 429 and set(statuses[:-1]) == {200}
            [connection] = gateway.connections.values()
            assert connection.is_open and pools["disconnect"].events == []
            assert (await client.get(url)).status == 200  # still there: GetConnection works
            await socket.close()

    run(scenario)


def test_management_calls_past_the_accounts_rate_get_429():
    async def scenario(client, gateway, pools):
        async with client.ws_connect("/prod"):
            url = await connection_url(gateway)
            first, second = await client.get(url), await client.get(url)
            assert (first.status, second.status) == (200, 429)
            assert second.headers["x-amzn-ErrorType"] == "LimitExceededException"

    run(scenario, management_requests_per_second=0.001, management_burst=1)

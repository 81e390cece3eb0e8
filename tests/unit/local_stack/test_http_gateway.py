"""The HTTP API's payload format 2.0 as API Gateway builds and reads it, against a recording pool."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from local_stack.apigateway.http_api import HttpApi, HttpRoute, _path_pattern
from local_stack.apigateway.http_gateway import HttpApiGateway
from local_stack.apigateway.jwt_authorizer import JwtVerifier
from local_stack.awslambda.permissions import InvokePermission
from local_stack.awslambda.pool import InvocationResult
from tests.unit.local_stack.fakes import RecordingPool

API = HttpApi(
    "httpapi01",
    "sessions",
    (HttpRoute("GET", "/sessions/{sessionId}", "sessions-fn", _pattern=_path_pattern("/sessions/{sessionId}")),),
)
ALLOWED = [
    InvokePermission(
        "sessions-fn",
        "apigateway.amazonaws.com",
        "arn:aws:execute-api:us-east-1:000000000000:httpapi01/*/*/sessions/{sessionId}",
    )
]


def run(
    scenario: Callable[[TestClient, RecordingPool], Awaitable[None]],
    answer: Any = None,
    permissions: list[InvokePermission] | None = ALLOWED,
) -> None:
    pool = RecordingPool(InvocationResult(payload=answer or {"statusCode": 200, "body": "{}"}))
    pool.spec.name = "sessions-fn"

    async def main() -> None:
        gateway = HttpApiGateway(API, {"sessions-fn": pool}, JwtVerifier({}), "h", permissions=permissions)  # type: ignore[dict-item]
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", gateway.handle)
        async with TestClient(TestServer(app)) as client:
            await scenario(client, pool)

    asyncio.run(main())


def test_raw_path_and_query_are_as_sent_and_parameters_decoded():
    async def scenario(client, pool):
        assert (await client.get("/sessions/golden%20eagle?q=a%20b%2Bc&lang=es")).status == 200
        [event] = pool.events
        assert event["rawPath"] == "/sessions/golden%20eagle"
        assert event["rawQueryString"] == "q=a%20b%2Bc&lang=es"
        assert event["pathParameters"] == {"sessionId": "golden eagle"}
        assert event["queryStringParameters"] == {"q": "a b+c", "lang": "es"}

    run(scenario)


def test_a_repeated_header_reaches_the_function_comma_joined():
    async def scenario(client, pool):
        await client.get("/sessions/s", headers=[("X-Tag", "one"), ("X-Tag", "two")])
        assert pool.events[0]["headers"]["x-tag"] == "one,two"

    run(scenario)


def test_a_response_body_that_is_not_a_string_is_a_500():
    async def scenario(client, pool):
        response = await client.get("/sessions/s")
        assert response.status == 500 and await response.json() == {"message": "Internal Server Error"}

    run(scenario, answer={"statusCode": 200, "body": {"not": "a string"}})


def test_a_route_whose_function_grants_api_gateway_no_permission_is_500_and_not_invoked():
    async def scenario(client, pool):
        response = await client.get("/sessions/s")
        assert response.status == 500 and pool.events == []

    run(scenario, permissions=[])

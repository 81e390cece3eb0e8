"""The DynamoDB IAM proxy on the wire, in front of a recording stand-in for DynamoDB Local: the
operation it checks is the one it forwards, and a request naming more than one is refused."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from local_stack.dynamodb.iam_proxy import DynamoDBIamProxy
from local_stack.iam.models import Role, Statement

PREFIX = "arn:aws:dynamodb:us-east-1:000000000000:table"
READER_KEY = "ASIAREADER0000000000"
READER = Role(
    "R",
    "reader-role",
    "arn:aws:iam::000000000000:role/reader-role",
    (Statement("Allow", ("dynamodb:GetItem",), (f"{PREFIX}/sessions",)),),
)
SIGNED = {"Authorization": f"AWS4-HMAC-SHA256 Credential={READER_KEY}/20260101/us-east-1/dynamodb/aws4_request"}
BODY = json.dumps({"TableName": "sessions", "Key": {"id": {"S": "1"}}}).encode()
GET_ITEM, DELETE_TABLE = "DynamoDB_20120810.GetItem", "DynamoDB_20120810.DeleteTable"

# What reached the stand-in for DynamoDB Local: the X-Amz-Target values of each request.
Forwarded = list[list[str]]
Scenario = Callable[[TestClient[web.Request, web.Application], Forwarded], Awaitable[None]]


def run(scenario: Scenario) -> None:
    async def main() -> None:
        forwarded: Forwarded = []

        async def dynamodb_local(request: web.Request) -> web.Response:
            forwarded.append(list(request.headers.getall("X-Amz-Target", [])))
            return web.json_response({}, content_type="application/x-amz-json-1.0")

        upstream_app = web.Application()
        upstream_app.router.add_post("/", dynamodb_local)
        async with TestServer(upstream_app) as upstream:
            proxy = DynamoDBIamProxy(str(upstream.make_url("/")), {READER_KEY: (READER, "reader")}, PREFIX)
            app = web.Application()
            app.router.add_post("/", proxy.handle)
            async with TestClient(TestServer(app)) as client:
                await scenario(client, forwarded)
            await proxy.close()

    asyncio.run(main())


def targets(*values: str, signed: bool = True) -> list[tuple[str, str]]:
    return [*(SIGNED.items() if signed else ()), *(("X-Amz-Target", value) for value in values)]


async def raw_post(client: TestClient[web.Request, web.Application], extra: list[tuple[str, str]]) -> tuple[int, bytes]:
    """A signed request written byte for byte, so header copies reach the proxy as sent."""
    assert client.server.host is not None and client.server.port is not None
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    lines = [
        "POST / HTTP/1.1",
        f"Host: {client.server.host}",
        *(f"{k}: {v}" for k, v in [*SIGNED.items(), *extra]),
        f"Content-Length: {len(BODY)}",
        "Connection: close",
    ]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + BODY)
    await writer.drain()
    response = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


async def error_type(response: Any) -> str:
    body = json.loads(await response.text())
    return str(body["__type"]).rpartition("#")[2]


def test_one_allowed_target_is_forwarded_exactly_once():
    async def scenario(client, forwarded):
        allowed = await client.post("/", data=BODY, headers=targets(GET_ITEM))
        assert allowed.status == 200
        assert forwarded == [[GET_ITEM]]

    run(scenario)


def test_a_target_the_role_lacks_is_denied_and_not_forwarded():
    async def scenario(client, forwarded):
        denied = await client.post("/", data=BODY, headers=targets(DELETE_TABLE))
        assert denied.status == 400 and await error_type(denied) == "AccessDeniedException"
        assert forwarded == []

    run(scenario)


def test_two_targets_are_refused_and_nothing_is_forwarded_in_either_order_or_case():
    async def scenario(client, forwarded):
        for headers in (
            targets(GET_ITEM, DELETE_TABLE),
            targets(DELETE_TABLE, GET_ITEM),
            targets(GET_ITEM, GET_ITEM),
            targets(GET_ITEM, DELETE_TABLE, signed=False),  # the admin too: nobody gets an ambiguous request
        ):
            refused = await client.post("/", data=BODY, headers=headers)
            assert refused.status == 400 and await error_type(refused) == "SerializationException"
            assert refused.headers["Content-Type"].startswith("application/x-amz-json-1.0")
        # Differently cased copies: aiohttp's client would merge them, so they go out on a raw socket.
        status, body = await raw_post(client, [("X-Amz-Target", GET_ITEM), ("x-amz-target", DELETE_TABLE)])
        assert status == 400 and json.loads(body)["__type"].endswith("#SerializationException")
        assert forwarded == []

    run(scenario)


def test_a_folded_list_of_targets_is_an_unknown_operation_and_not_forwarded():
    async def scenario(client, forwarded):
        for value in (f"{GET_ITEM}, {DELETE_TABLE}", f"{GET_ITEM},{DELETE_TABLE}", f"{GET_ITEM} {DELETE_TABLE}"):
            refused = await client.post("/", data=BODY, headers=targets(value))
            assert refused.status == 400 and await error_type(refused) == "UnknownOperationException"
        assert forwarded == []

    run(scenario)

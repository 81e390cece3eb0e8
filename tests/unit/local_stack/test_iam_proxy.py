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
from tests.support.signing import sigv4_headers
from tests.unit.local_stack.fakes import owner_keys

PREFIX = "arn:aws:dynamodb:us-east-1:000000000000:table"
READER_KEY = "ASIAREADER0000000000"
READER = Role(
    "R",
    "reader-role",
    "arn:aws:iam::000000000000:role/reader-role",
    (Statement("Allow", ("dynamodb:GetItem",), (f"{PREFIX}/sessions",)),),
)
READER_SECRET = "reader-secret"
# For requests refused before their signature is looked at (more than one target).
UNCHECKED_SIGNATURE = {"Authorization": f"AWS4-HMAC-SHA256 Credential={READER_KEY}/20260101/us-east-1/dynamodb/x"}
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
            keys = owner_keys(**{READER_KEY: (READER_SECRET, (READER, "reader"))})
            proxy = DynamoDBIamProxy(str(upstream.make_url("/")), keys, PREFIX, "us-east-1")
            app = web.Application()
            app.router.add_post("/", proxy.handle)
            async with TestClient(TestServer(app)) as client:
                await scenario(client, forwarded)
            await proxy.close()

    asyncio.run(main())


def targets(
    client: TestClient[web.Request, web.Application],
    *values: str,
    signed: bool = True,
    secret: str = READER_SECRET,
    body: bytes = BODY,
) -> list[tuple[str, str]]:
    """The X-Amz-Target headers, and (for one target) the reader's real SigV4 signature over them."""
    headers = [("X-Amz-Target", value) for value in values]
    if not signed:
        return headers
    if len(values) != 1:
        return [*UNCHECKED_SIGNATURE.items(), *headers]
    signed = sigv4_headers(
        "POST", str(client.make_url("/")), body, READER_KEY, secret, "dynamodb", headers=dict(headers)
    )
    return list(signed.items())


async def raw_post(client: TestClient[web.Request, web.Application], extra: list[tuple[str, str]]) -> tuple[int, bytes]:
    """A signed request written byte for byte, so header copies reach the proxy as sent."""
    assert client.server.host is not None and client.server.port is not None
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    lines = [
        "POST / HTTP/1.1",
        f"Host: {client.server.host}",
        *(f"{k}: {v}" for k, v in [*UNCHECKED_SIGNATURE.items(), *extra]),
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
        allowed = await client.post("/", data=BODY, headers=targets(client, GET_ITEM))
        assert allowed.status == 200
        assert forwarded == [[GET_ITEM]]

    run(scenario)


def test_a_target_the_role_lacks_is_denied_and_not_forwarded():
    async def scenario(client, forwarded):
        denied = await client.post("/", data=BODY, headers=targets(client, DELETE_TABLE))
        assert denied.status == 400 and await error_type(denied) == "AccessDeniedException"
        assert forwarded == []

    run(scenario)


def test_two_targets_are_refused_and_nothing_is_forwarded_in_either_order_or_case():
    async def scenario(client, forwarded):
        for headers in (
            targets(client, GET_ITEM, DELETE_TABLE),
            targets(client, DELETE_TABLE, GET_ITEM),
            targets(client, GET_ITEM, GET_ITEM),
            targets(client, GET_ITEM, DELETE_TABLE, signed=False),  # the admin too: nobody gets an ambiguous request
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
            refused = await client.post("/", data=BODY, headers=targets(client, value))
            assert refused.status == 400 and await error_type(refused) == "UnknownOperationException"
        assert forwarded == []

    run(scenario)


def test_an_unsigned_or_wrongly_signed_request_gets_dynamodbs_refusal_and_is_not_forwarded():
    async def scenario(client, forwarded):
        unsigned = await client.post("/", data=BODY, headers=targets(client, GET_ITEM, signed=False))
        assert unsigned.status == 400 and await error_type(unsigned) == "MissingAuthenticationTokenException"
        wrong = await client.post("/", data=BODY, headers=targets(client, GET_ITEM, secret="guessed"))
        assert wrong.status == 400 and await error_type(wrong) == "InvalidSignatureException"
        tampered = targets(client, GET_ITEM)  # signed over BODY, sent with another body
        other = await client.post("/", data=BODY.replace(b'"1"', b'"2"'), headers=tampered)
        assert await error_type(other) == "InvalidSignatureException"
        assert forwarded == []

    run(scenario)


def test_a_body_with_a_duplicate_key_is_refused_not_forwarded():
    """The check would read one `TableName`, DynamoDB Local perhaps another."""
    duplicated = b'{"TableName": "sessions", "TableName": "secrets", "Key": {"id": {"S": "1"}}}'

    async def scenario(client, forwarded):
        refused = await client.post("/", data=duplicated, headers=targets(client, GET_ITEM, body=duplicated))
        assert refused.status == 400 and await error_type(refused) == "SerializationException"
        assert forwarded == []

    run(scenario)

"""The WebSocket API on the wire: the upgrade request, the frames of an open socket, the
`@connections` management API and the `$disconnect` fault switch, as aiohttp routes.

`gateway.py` decides; this module reads requests into its terms and writes its answers as
API Gateway does. A management call for a connection another gateway process holds is
forwarded to that process (connection ids name their owner).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime

import aiohttp
from aiohttp import WSCloseCode, WSMsgType, web

from local_stack.apigateway.gateway import WebSocketGateway
from local_stack.apigateway.ids import new_connection_id, owner_of
from local_stack.apigateway.models import Connection, ManagementApiError, Refusal, now_ms
from local_stack.iam.responses import not_authorized, rest_refusal, signer_of
from local_stack.iam.signatures import IssuedKey, SignatureRefused

# Frames are read whole up to this size so that an oversized one can be answered with 1009.
READ_CAP_BYTES = 2 * 1024 * 1024
# API Gateway's quota on the request line and header values together.
MAX_REQUEST_LINE_AND_HEADERS_BYTES = 10_240
# A WebSocket API's URL is at most 4,096 characters (API Gateway quotas for WebSocket APIs).
MAX_WEBSOCKET_URL_CHARS = 4_096
# API Gateway's close code for a binary frame: WebSocket APIs take text frames only.
UNSUPPORTED_DATA = 1003
# The close code reported for a close frame that carried none (RFC 6455 section 7.4.1).
NO_STATUS_RECEIVED = 1005
_STATUS_OF = {"GoneException": 410, "LimitExceededException": 429, "PayloadTooLargeException": 413}
# The management API's only operations: PostToConnection, GetConnection, DeleteConnection.
MANAGEMENT_METHODS = frozenset({"POST", "GET", "DELETE"})


def frame_bytes(text: str) -> int:
    """A text frame's size on the wire: UTF-8 bytes, as API Gateway counts it (11,000 CJK characters
    are 33 KB). ASCII text, the common case, is as many bytes as characters."""
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def deployed_url_length(gateway: WebSocketGateway, request: web.Request) -> int:
    """The length the URL would have in AWS: `wss://{api-id}.execute-api.{region}.amazonaws.com` and
    the path and query as sent (the local host and port are shorter or longer than that)."""
    host = f"{gateway.api.api_id}.execute-api.{gateway.settings.region}.amazonaws.com"
    return len("wss://") + len(host) + len(request.raw_path)


def request_size(request: web.Request) -> int:
    line = len(request.method) + len(request.raw_path) + 10
    return line + sum(len(k) + len(v) + 4 for k, v in request.headers.items())


def _iso(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _json_error(status: int, error_type: str, message: str | None) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps({"message": message}),
        content_type="application/json",
        headers={"x-amzn-ErrorType": error_type},
    )


def management_error(error: ManagementApiError) -> web.Response:
    return _json_error(_STATUS_OF.get(error.error_type, 500), error.error_type, error.message)


def missing_authentication_token() -> web.Response:
    """API Gateway's answer to a method or resource the API does not have (403, not 404/405)."""
    return _json_error(403, "MissingAuthenticationTokenException", "Missing Authentication Token")


def refusal_response(refusal: Refusal) -> web.Response:
    return web.Response(status=refusal.status, text=refusal.text, content_type=refusal.content_type)


def _edge_headers(request: web.Request, source_ip: str) -> list[tuple[str, str]]:
    """The headers API Gateway's edge adds to a `$connect` request: the client's address appended to
    any X-Forwarded-For it sent, the deployed port and scheme, and a trace id."""
    forwarded = ", ".join([*request.headers.getall("X-Forwarded-For", []), source_ip])
    trace = request.headers.get("X-Amzn-Trace-Id") or f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    return [
        ("X-Amzn-Trace-Id", trace),
        ("X-Forwarded-For", forwarded),
        ("X-Forwarded-Port", "443"),
        ("X-Forwarded-Proto", "https"),
    ]


_EDGE_HEADERS = frozenset({"x-amzn-trace-id", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto"})


def connection_from(request: web.Request, process_index: int) -> Connection:
    """The connection an upgrade request asks for, with what `$connect` events carry of it."""
    source_ip = request.remote or "127.0.0.1"
    received = [(k, v) for k, v in request.headers.items() if k.lower() not in _EDGE_HEADERS]
    all_headers = [*received, *_edge_headers(request, source_ip)]
    headers = dict(all_headers)
    multi_headers: dict[str, list[str]] = {}
    for key, value in all_headers:
        multi_headers.setdefault(key, []).append(value)
    query = {k: request.query.getall(k)[-1] for k in request.query} or None
    multi_query = {k: list(request.query.getall(k)) for k in request.query} or None
    now = now_ms()
    return Connection(
        connection_id=new_connection_id(process_index),
        connected_at_ms=now,
        last_active_at_ms=now,
        source_ip=source_ip,
        user_agent=request.headers.get("User-Agent"),
        headers=headers,
        multi_value_headers=multi_headers,
        query=query,
        multi_value_query=multi_query,
    )


async def handshake(gateway: WebSocketGateway, request: web.Request) -> web.StreamResponse:
    if not gateway.admit_connection():
        return web.Response(status=429, text="Too Many Requests")
    if request_size(request) > MAX_REQUEST_LINE_AND_HEADERS_BYTES:
        # Refused before any integration runs, and without echoing the request (it may hold a token).
        return web.json_response({"message": "Request Header Fields Too Large"}, status=431)
    if deployed_url_length(gateway, request) > MAX_WEBSOCKET_URL_CHARS:
        return web.json_response({"message": "Request-URI Too Long"}, status=414)
    connection = connection_from(request, gateway.process_index)
    refusal = await gateway.connect(connection)
    if refusal is not None:
        return refusal_response(refusal)
    return await serve_socket(gateway, request, connection)


async def serve_socket(gateway: WebSocketGateway, request: web.Request, connection: Connection) -> web.StreamResponse:
    # API Gateway closes with 1009 on a frame over 32 KB. The frame is read whole (up to a hard
    # cap) before closing: closing with unread data makes the kernel reset the connection, and
    # the client would never see the close code. Browsers never fragment, so the frame limit is
    # the message limit for them (fragmented 32-128 KB messages, which AWS accepts, are refused).
    # The subprotocol the `$connect` integration chose goes back to the client, as API Gateway sends it.
    protocols = (connection.subprotocol,) if connection.subprotocol else ()
    socket = web.WebSocketResponse(max_msg_size=READ_CAP_BYTES, autoping=True, protocols=protocols)
    await socket.prepare(request)
    gateway.opened(connection, socket, request.transport)
    try:
        async for message in socket:
            connection.last_active_at_ms = now_ms()
            if message.type is WSMsgType.BINARY:
                # WebSocket APIs take no binary frames: the client is disconnected with 1003.
                connection.close_code, connection.close_reason = UNSUPPORTED_DATA, "Binary frames are not supported"
                await socket.close(code=UNSUPPORTED_DATA, message=b"Binary frames are not supported")
                break
            if message.type is WSMsgType.TEXT and frame_bytes(message.data) > gateway.settings.max_frame_bytes:
                connection.close_code, connection.close_reason = 1009, "Message too big"
                await socket.close(code=WSCloseCode.MESSAGE_TOO_BIG, message=b"Message too big")
                break
            if message.type is WSMsgType.TEXT:
                gateway.receive(connection, message.data, is_base64=False)
            elif message.type is WSMsgType.ERROR:
                # aiohttp reports a frame over the read cap as an error after sending close 1009.
                error_code = getattr(socket.exception(), "code", None)
                if error_code == WSCloseCode.MESSAGE_TOO_BIG:
                    connection.close_code, connection.close_reason = 1009, "Message too big"
                break
    finally:
        if connection.close_code is None:
            connection.close_code = socket.close_code if socket.close_code is not None else 1006
            if connection.close_code == 0:  # a close frame without a status code (RFC 6455: 1005)
                connection.close_code = NO_STATUS_RECEIVED
            if connection.close_code == WSCloseCode.MESSAGE_TOO_BIG:
                connection.close_reason = "Message too big"
            elif socket.close_code is None:
                connection.close_reason = "Going away"
        await gateway.disconnected(connection)
    return socket


class ManagementApi:
    """`POST|GET|DELETE /{stage}/@connections/{connectionId}`, with the caller's IAM check."""

    def __init__(self, gateway: WebSocketGateway, keys: Mapping[str, IssuedKey]) -> None:
        self.gateway = gateway
        self.keys = keys
        self._client: aiohttp.ClientSession | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.method not in MANAGEMENT_METHODS:
            # Checked first: no IAM check, no forwarding, and the connection is never touched.
            return missing_authentication_token()
        gateway, settings = self.gateway, self.gateway.settings
        connection_id = request.match_info["connection_id"]
        owner = owner_of(connection_id)
        signer = await signer_of(request, self.keys, "execute-api", settings.region)
        if isinstance(signer, SignatureRefused):
            return rest_refusal(signer)
        caller = signer.principal
        if caller is not None:  # a function's role; the stack's owner may do anything
            resource = (
                f"arn:aws:execute-api:{settings.region}:000000000000:{gateway.api.api_id}/{gateway.stage}/"
                f"{request.method}/@connections/{connection_id}"
            )
            if not caller[0].is_allowed("execute-api:ManageConnections", resource):
                return not_authorized(caller, "execute-api:ManageConnections", resource, 403, "ForbiddenException")
        if owner is not None and owner != gateway.process_index and owner < len(settings.plain_ports):
            return await self._forward(request, owner)
        try:
            gateway.admit_management_call()
            if request.method == "POST":
                await gateway.post_to_connection(connection_id, await request.read())
                return web.Response(status=200)
            if request.method == "GET":
                return _connection_info(gateway.open_connection(connection_id))
            if request.method == "DELETE":
                await gateway.delete_connection(connection_id)
                return web.Response(status=204)
            return missing_authentication_token()
        except ManagementApiError as error:
            return management_error(error)

    async def _forward(self, request: web.Request, owner: int) -> web.Response:
        settings = self.gateway.settings
        if self._client is None:
            self._client = aiohttp.ClientSession()
        url = f"http://{settings.host}:{settings.plain_ports[owner]}{request.rel_url}"
        # Signed headers travel with it: the owning process verifies the signature again.
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("content-length", "transfer-encoding")}
        async with self._client.request(request.method, url, data=await request.read(), headers=headers) as upstream:
            return web.Response(status=upstream.status, body=await upstream.read(), headers=upstream.headers)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()


def _connection_info(connection: Connection) -> web.Response:
    body = {
        "connectedAt": _iso(connection.connected_at_ms),
        "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent or ""},
        "lastActiveAt": _iso(connection.last_active_at_ms),
    }
    return web.json_response(body)


def add_routes(app: web.Application, gateway: WebSocketGateway, keys: Mapping[str, IssuedKey]) -> None:
    """The stage's WebSocket endpoint, its `@connections` API and the `$disconnect` fault switch."""
    stage = gateway.stage
    management = ManagementApi(gateway, keys)

    async def websocket(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return web.Response(status=426, text="Upgrade Required")
        return await handshake(gateway, request)

    async def faults(request: web.Request) -> web.Response:
        """Fault switches for reliability tests, changed while the stack runs (no AWS API)."""
        body = await request.json()
        if "dropDisconnectFraction" in body:
            gateway.drop_disconnect_fraction = min(1.0, max(0.0, float(body["dropDisconnectFraction"])))
        return web.json_response({"dropDisconnectFraction": gateway.drop_disconnect_fraction})

    async def on_cleanup(_: web.Application) -> None:
        await gateway.shutdown()
        await management.close()

    app.router.add_get(f"/{stage}", websocket)
    app.router.add_get(f"/{stage}/", websocket)
    app.router.add_route("*", f"/{stage}/@connections/{{connection_id}}", management.handle)
    app.router.add_post("/__local/faults", faults)
    app.on_cleanup.append(on_cleanup)

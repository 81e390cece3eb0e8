"""API Gateway's WebSocket behaviour: handshake with authorizer, route selection, route responses,
`$disconnect`, the `@connections` management API and the connection quotas.

This module is the model; `server.py` wires it to aiohttp.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from local_stack.apigateway import events
from local_stack.apigateway.authorization import evaluate, identity_present
from local_stack.apigateway.connections import Connection, ConnectionState
from local_stack.apigateway.ids import new_connection_id, new_request_id
from local_stack.apigateway.models import Route, WebSocketApi
from local_stack.apigateway.settings import GatewaySettings
from local_stack.awslambda.permissions import InvokePermission, apigateway_may_invoke
from local_stack.awslambda.pool import FunctionPool, InvocationResult

log = logging.getLogger("local_stack.apigateway")

# What API Gateway sends when a message matches no route and there is no $default route.
_NO_ROUTE_MESSAGE = "Forbidden"


def _now_ms() -> int:
    return int(time.time() * 1000)


def _iso(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _json_error(status: int, error_type: str, message: str | None) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps({"message": message}),
        content_type="application/json",
        headers={"x-amzn-ErrorType": error_type},
    )


class _TokenBucket:
    """Token bucket: the account's 500 new connections per second, and the stage's rate and burst."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.capacity = burst if burst is not None else rate
        self.tokens = self.capacity
        self.updated = time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


# Frames are read whole up to this size so that an oversized one can be answered with 1009.
READ_CAP_BYTES = 2 * 1024 * 1024
# API Gateway's quota on the request line and header values together.
MAX_REQUEST_LINE_AND_HEADERS_BYTES = 10_240


def request_size(request: web.Request) -> int:
    line = len(request.method) + len(request.raw_path) + 10
    return line + sum(len(k) + len(v) + 4 for k, v in request.headers.items())


class WebSocketGateway:
    def __init__(
        self,
        api: WebSocketApi,
        stage: str,
        pools: dict[str, FunctionPool],
        settings: GatewaySettings,
        process_index: int,
        permissions: list[InvokePermission] | None = None,
    ) -> None:
        self.ready = False
        self.api = api
        self.permissions = permissions
        self.stage = stage
        self.pools = pools
        self.settings = settings
        self.process_index = process_index
        self.connections: dict[str, Connection] = {}
        self.domain_name = f"{settings.host}:{settings.tls_ports[process_index]}"
        share = max(1, len(settings.plain_ports))
        self._limiter = _TokenBucket(settings.new_connections_per_second / share)
        stage_settings = api.stages.get(stage)
        self._stage_throttle = (
            _TokenBucket(
                stage_settings.throttling_rate_limit / share, (stage_settings.throttling_burst_limit or 1) / share
            )
            if stage_settings is not None and stage_settings.throttling_rate_limit is not None
            else None
        )
        self._event_log = settings.record_events_file.open("a") if settings.record_events_file else None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._shutting_down = False
        self.drop_disconnect_fraction = settings.drop_disconnect_fraction
        self._faults = random.Random(process_index)  # noqa: S311 - seeded fault injection, not security

    # Helpers ---------------------------------------------------------------------------
    def _context_args(self) -> dict[str, Any]:
        return {"api_id": self.api.api_id, "stage": self.stage, "domain_name": self.domain_name}

    def method_arn(self, route_key: str) -> str:
        return f"arn:aws:execute-api:{self.settings.region}:000000000000:{self.api.api_id}/{self.stage}/{route_key}"

    def authorizer_arn(self, authorizer_id: str) -> str:
        return f"arn:aws:execute-api:{self.settings.region}:000000000000:{self.api.api_id}/authorizers/{authorizer_id}"

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _invoke(self, function_name: str, event: dict[str, Any], source_arn: str) -> InvocationResult:
        pool = self.pools.get(function_name)
        if self._event_log is not None:
            self._event_log.write(json.dumps(event) + "\n")
            self._event_log.flush()
        if self.permissions is not None and not apigateway_may_invoke(self.permissions, function_name, source_arn):
            log.warning("API Gateway has no permission to invoke %s for %s", function_name, source_arn)
            return InvocationResult(
                error_type="AccessDeniedException",
                error_message="Execution failed due to configuration error: Invalid permissions on Lambda function",
            )
        if pool is None:
            return InvocationResult(error_type="ResourceNotFoundException", error_message=function_name)
        try:
            return await asyncio.wait_for(pool.invoke(event), timeout=self.settings.integration_timeout_seconds)
        except TimeoutError:
            return InvocationResult(error_type="IntegrationTimeout", error_message="Endpoint request timed out")

    # Handshake ---------------------------------------------------------------------------
    async def handshake(self, request: web.Request) -> web.StreamResponse:
        if not self._limiter.allow():
            return web.Response(status=429, text="Too Many Requests")
        if request_size(request) > MAX_REQUEST_LINE_AND_HEADERS_BYTES:
            # Refused before any integration runs, and without echoing the request (it may hold a token).
            return web.json_response({"message": "Request Header Fields Too Large"}, status=431)
        headers = {k: v for k, v in request.headers.items()}
        multi_headers: dict[str, list[str]] = {}
        for key, value in request.headers.items():
            multi_headers.setdefault(key, []).append(value)
        query = {k: request.query.getall(k)[-1] for k in request.query} or None
        multi_query = {k: list(request.query.getall(k)) for k in request.query} or None
        now = _now_ms()
        connection = Connection(
            connection_id=new_connection_id(self.process_index),
            connected_at_ms=now,
            last_active_at_ms=now,
            source_ip=request.remote or "127.0.0.1",
            user_agent=request.headers.get("User-Agent", ""),
            headers=headers,
            multi_value_headers=multi_headers,
            query=query,
            multi_value_query=multi_query,
        )
        self.connections[connection.connection_id] = connection
        try:
            refusal = await self._authorize_and_connect(connection)
        except Exception:
            log.exception("handshake failed")
            refusal = web.Response(status=500, text="Internal server error")
        if refusal is not None:
            connection.state = ConnectionState.CLOSED
            self.connections.pop(connection.connection_id, None)
            return refusal
        return await self._serve(request, connection)

    async def _authorize_and_connect(self, connection: Connection) -> web.Response | None:
        route = self.api.route_for("$connect")
        if route is not None and route.authorization_type == "CUSTOM" and route.authorizer is not None:
            authorizer = route.authorizer
            if not all(identity_present(s, connection.headers, connection.query) for s in authorizer.identity_sources):
                return web.Response(status=401, text="Unauthorized")
            result = await self._invoke(
                authorizer.function_name,
                events.authorizer_event(connection, self.method_arn("$connect"), **self._context_args()),
                self.authorizer_arn(authorizer.authorizer_id),
            )
            if result.failed:
                status = 401 if result.error_message == "Unauthorized" else 500
                return web.Response(status=status, text="Unauthorized" if status == 401 else "Internal server error")
            decision = evaluate(result.payload, self.method_arn("$connect"))
            if decision.status != 200:
                log.info("authorizer refused: %s", decision.reason)
                return web.Response(status=decision.status, text="Forbidden" if decision.status == 403 else "")
            connection.authorizer = decision.context
        if route is None or route.function_name is None:
            return None
        result = await self._invoke(
            route.function_name,
            events.connect_event(connection, **self._context_args()),
            self.method_arn("$connect"),
        )
        if result.failed:
            log.warning("$connect integration failed: %s", result.error_type)
            return web.Response(status=500, text="Internal server error")
        payload = result.payload if isinstance(result.payload, dict) else {}
        status = int(payload.get("statusCode", 200))
        if status >= 300:
            body = payload.get("body")
            return web.Response(
                status=status, text=body if isinstance(body, str) else "", content_type="application/json"
            )
        return None

    # Open connection -----------------------------------------------------------------------
    async def _serve(self, request: web.Request, connection: Connection) -> web.StreamResponse:
        # API Gateway closes with 1009 on a frame over 32 KB. The frame is read whole (up to a hard
        # cap) before closing: closing with unread data makes the kernel reset the connection, and
        # the client would never see the close code. Browsers never fragment, so the frame limit is
        # the message limit for them (fragmented 32-128 KB messages, which AWS accepts, are refused).
        socket = web.WebSocketResponse(max_msg_size=READ_CAP_BYTES, autoping=True)
        await socket.prepare(request)
        connection.socket = socket
        connection.transport = request.transport
        connection.state = ConnectionState.OPEN
        try:
            async for message in socket:
                connection.last_active_at_ms = _now_ms()
                if (
                    message.type in (WSMsgType.TEXT, WSMsgType.BINARY)
                    and len(message.data) > self.settings.max_frame_bytes
                ):
                    connection.close_code, connection.close_reason = 1009, "Message too big"
                    await socket.close(code=WSCloseCode.MESSAGE_TOO_BIG, message=b"Message too big")
                    break
                if message.type is WSMsgType.TEXT:
                    self._spawn(self._dispatch(connection, message.data, is_base64=False))
                elif message.type is WSMsgType.BINARY:
                    self._spawn(self._dispatch(connection, message.data.decode("latin-1"), is_base64=True))
                elif message.type is WSMsgType.ERROR:
                    # aiohttp reports a frame over the read cap as an error after sending close 1009.
                    error_code = getattr(socket.exception(), "code", None)
                    if error_code == WSCloseCode.MESSAGE_TOO_BIG:
                        connection.close_code, connection.close_reason = 1009, "Message too big"
                    break
        finally:
            if connection.close_code is None:
                connection.close_code = socket.close_code if socket.close_code is not None else 1006
                if connection.close_code == WSCloseCode.MESSAGE_TOO_BIG:
                    connection.close_reason = "Message too big"
                elif socket.close_code is None:
                    connection.close_reason = "Going away"
            await self._disconnected(connection)
        return socket

    def select_route(self, body: str) -> Route | None:
        """Route selection by the API's expression (`$request.body.<path>`), else `$default`."""
        expression = self.api.route_selection_expression
        key: Any = None
        if expression.startswith("$request.body."):
            try:
                value: Any = json.loads(body)
                for part in expression.removeprefix("$request.body.").split("."):
                    value = value.get(part) if isinstance(value, dict) else None
                key = value
            except (ValueError, RecursionError):
                key = None
        if isinstance(key, str) and key in self.api.routes and not key.startswith("$"):
            return self.api.routes[key]
        return self.api.route_for("$default")

    async def _dispatch(self, connection: Connection, body: str, is_base64: bool) -> None:
        route = None if is_base64 else self.select_route(body)
        if is_base64:
            route = self.api.route_for("$default")
        request_id = new_request_id()
        if self._stage_throttle is not None and not self._stage_throttle.allow():
            await self._send_frame(
                connection,
                {"message": "Too Many Requests", "connectionId": connection.connection_id, "requestId": request_id},
            )
            return
        if route is None or route.function_name is None:
            await self._send_frame(
                connection,
                {
                    "message": _NO_ROUTE_MESSAGE,
                    "connectionId": connection.connection_id,
                    "requestId": request_id,
                },
            )
            return
        event = events.message_event(
            connection, route.key, body, is_base64, request_id=request_id, **self._context_args()
        )
        result = await self._invoke(route.function_name, event, self.method_arn(route.key))
        if result.failed:
            await self._send_frame(
                connection,
                {
                    "message": "Internal server error",
                    "connectionId": connection.connection_id,
                    "requestId": request_id,
                },
            )
            return
        if route.returns_response and isinstance(result.payload, dict) and isinstance(result.payload.get("body"), str):
            await self._send_text(connection, result.payload["body"])

    async def _send_frame(self, connection: Connection, payload: dict[str, Any]) -> None:
        await self._send_text(connection, json.dumps(payload))

    async def _send_text(self, connection: Connection, text: str) -> bool:
        if not connection.is_open:
            return False
        try:
            if self._may_block(connection, len(text)):
                await asyncio.wait_for(connection.socket.send_str(text), timeout=self.settings.slow_consumer_seconds)
            else:  # the common case: no timer task on the per-frame path
                await connection.socket.send_str(text)
        except TimeoutError:
            # A client that stopped reading must not hold up posts to everyone else: its connection
            # is dropped and later posts get 410, as for any connection that is gone.
            log.warning("closing a connection whose client stopped reading")
            if connection.transport is not None:
                connection.transport.abort()
            connection.state = ConnectionState.CLOSED
            return False
        except (ConnectionError, RuntimeError):
            return False
        return True

    @staticmethod
    def _may_block(connection: Connection, size: int) -> bool:
        """A send waits only when the write buffer passes its high-water mark (the client is not
        reading fast enough); only then is it bounded by the slow-consumer timeout."""
        transport = connection.transport
        if transport is None:
            return True
        high_water = transport.get_write_buffer_limits()[1]
        return bool(transport.get_write_buffer_size() + size > high_water)

    async def _disconnected(self, connection: Connection) -> None:
        connection.state = ConnectionState.CLOSED
        self.connections.pop(connection.connection_id, None)
        if connection.disconnect_fired or self._shutting_down:
            return
        connection.disconnect_fired = True
        route = self.api.route_for("$disconnect")
        if route is None or route.function_name is None:
            return
        if self.drop_disconnect_fraction and self._faults.random() < self.drop_disconnect_fraction:
            log.warning("fault injection: $disconnect not delivered")
            return
        # Best effort, as in AWS: the result is not reported anywhere but the logs.
        result = await self._invoke(
            route.function_name,
            events.disconnect_event(connection, **self._context_args()),
            self.method_arn("$disconnect"),
        )
        if result.failed:
            log.warning("$disconnect integration failed: %s", result.error_type)

    async def close(self, connection: Connection, code: int, reason: str) -> None:
        connection.close_code, connection.close_reason = code, reason
        if connection.socket is not None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await connection.socket.close(code=code, message=reason.encode())

    # Quotas ------------------------------------------------------------------------------
    async def enforce_quotas(self) -> None:
        """Idle timeout and the hard connection duration, both closing with 1001 and firing $disconnect."""
        interval = max(
            0.05, min(1.0, self.settings.idle_timeout_seconds / 10, self.settings.max_connection_seconds / 10)
        )
        while True:
            await asyncio.sleep(interval)
            now = _now_ms()
            for connection in list(self.connections.values()):
                if not connection.is_open:
                    continue
                if (
                    now - connection.connected_at_ms >= self.settings.max_connection_seconds * 1000
                    or now - connection.last_active_at_ms >= self.settings.idle_timeout_seconds * 1000
                ):
                    self._spawn(self.close(connection, 1001, "Going away"))

    # @connections --------------------------------------------------------------------------
    async def post_to_connection(self, connection_id: str, data: bytes) -> web.Response:
        if len(data) > self.settings.max_post_bytes:
            return _json_error(413, "PayloadTooLargeException", "Request entity too large")
        connection = self.connections.get(connection_id)
        if connection is None or not connection.is_open:
            return _json_error(410, "GoneException", None)
        if not await self._send_text(connection, data.decode("utf-8", errors="replace")):
            return _json_error(410, "GoneException", None)
        return web.Response(status=200)

    def get_connection(self, connection_id: str) -> web.Response:
        connection = self.connections.get(connection_id)
        if connection is None or not connection.is_open:
            return _json_error(410, "GoneException", None)
        body = {
            "connectedAt": _iso(connection.connected_at_ms),
            "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
            "lastActiveAt": _iso(connection.last_active_at_ms),
        }
        return web.json_response(body)

    async def delete_connection(self, connection_id: str) -> web.Response:
        connection = self.connections.get(connection_id)
        if connection is None or not connection.is_open:
            return _json_error(410, "GoneException", None)
        await self.close(connection, 1000, "")
        return web.Response(status=204)

    async def shutdown(self) -> None:
        """Stopping the local stack is not an API Gateway event: close sockets without $disconnect."""
        self._shutting_down = True
        await asyncio.gather(
            *(self.close(c, 1001, "Going away") for c in list(self.connections.values())), return_exceptions=True
        )

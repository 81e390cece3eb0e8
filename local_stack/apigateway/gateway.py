"""API Gateway's WebSocket behaviour: the `$connect` decision (authorizer and integration), route
dispatch, route responses, `$disconnect`, the connection quotas and the `@connections` operations.

No HTTP here: `responses.py` turns an upgrade request into a `Connection`, reads its frames into
`receive`, and maps `Refusal`s and `ManagementApiError`s to responses.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Coroutine
from typing import Any

from local_stack.apigateway import events
from local_stack.apigateway.authorization import evaluate, identity_present
from local_stack.apigateway.ids import new_request_id
from local_stack.apigateway.models import (
    Connection,
    ConnectionState,
    GoneException,
    LimitExceededException,
    PayloadTooLargeException,
    Refusal,
    now_ms,
)
from local_stack.apigateway.settings import GatewaySettings
from local_stack.apigateway.throttling import TokenBucket
from local_stack.apigateway.websocket_api import WebSocketApi
from local_stack.awslambda.permissions import InvokePermission, apigateway_may_invoke
from local_stack.awslambda.pool import FunctionPool, InvocationResult
from local_stack.private_files import append_private_text

log = logging.getLogger("local_stack.apigateway")

# What API Gateway sends when a message matches no route and there is no $default route.
POST_DRAIN_WAIT_SECONDS = 0.05
_NO_ROUTE_MESSAGE = "Forbidden"
INTEGRATION_TIMEOUT = "IntegrationTimeout"


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
        self._limiter = TokenBucket(settings.new_connections_per_second / share)
        self._management_rate = TokenBucket(
            settings.management_requests_per_second / share, settings.management_burst / share
        )
        stage_settings = api.stages.get(stage)
        self._stage_throttle = (
            TokenBucket(
                stage_settings.throttling_rate_limit / share, (stage_settings.throttling_burst_limit or 1) / share
            )
            if stage_settings is not None and stage_settings.throttling_rate_limit is not None
            else None
        )
        self._event_log = append_private_text(settings.record_events_file) if settings.record_events_file else None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._running: set[asyncio.Future[InvocationResult]] = set()  # invocations API Gateway gave up on
        self._shutting_down = False
        self.drop_disconnect_fraction = settings.drop_disconnect_fraction
        self._faults = random.Random(process_index)  # noqa: S311 - seeded fault injection, not security

    def _context_args(self) -> dict[str, Any]:
        return {"api_id": self.api.api_id, "stage": self.stage, "domain_name": self.domain_name}

    def method_arn(self, route_key: str) -> str:
        return f"arn:aws:execute-api:{self.settings.region}:000000000000:{self.api.api_id}/{self.stage}/{route_key}"

    def authorizer_arn(self, authorizer_id: str) -> str:
        return f"arn:aws:execute-api:{self.settings.region}:000000000000:{self.api.api_id}/authorizers/{authorizer_id}"

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
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
        invocation = asyncio.ensure_future(pool.invoke(event))
        done, _ = await asyncio.wait((invocation,), timeout=self.settings.integration_timeout_seconds)
        if done:
            return invocation.result()
        # API Gateway gives up at 29 s; the function does not: it runs on to its own timeout,
        # holding its concurrency slot, and its result is discarded.
        self._running.add(invocation)
        invocation.add_done_callback(self._running.discard)
        return InvocationResult(error_type=INTEGRATION_TIMEOUT, error_message="Endpoint request timed out")

    def admit_connection(self) -> bool:
        """The account's new-connections rate, shared between the gateway processes."""
        return self._limiter.allow()

    async def connect(self, connection: Connection) -> Refusal | None:
        """Run the `$connect` authorizer and integration; None lets the socket open."""
        self.connections[connection.connection_id] = connection
        try:
            if self._stage_throttle is not None and not self._stage_throttle.allow():
                # Stage throttling covers every route, `$connect` included.
                refusal: Refusal | None = Refusal(429, '{"message": "Too Many Requests"}', "application/json")
            else:
                refusal = await self._authorize_and_connect(connection)
        except Exception:
            log.exception("handshake failed")
            refusal = Refusal(500, "Internal server error")
        if refusal is not None:
            connection.state = ConnectionState.CLOSED
            self.connections.pop(connection.connection_id, None)
        return refusal

    async def _authorize_and_connect(self, connection: Connection) -> Refusal | None:
        route = self.api.route_for("$connect")
        if route is not None and route.authorization_type == "CUSTOM" and route.authorizer is not None:
            authorizer = route.authorizer
            if not all(identity_present(s, connection.headers, connection.query) for s in authorizer.identity_sources):
                return Refusal(401, "Unauthorized")
            result = await self._invoke(
                authorizer.function_name,
                events.authorizer_event(connection, self.method_arn("$connect"), **self._context_args()),
                self.authorizer_arn(authorizer.authorizer_id),
            )
            if result.failed:
                if result.error_message == "Unauthorized":
                    return Refusal(401, "Unauthorized")
                return Refusal(500, "Internal server error")
            decision = evaluate(result.payload, self.method_arn("$connect"))
            if decision.status != 200:
                log.info("authorizer refused: %s", decision.reason)
                return Refusal(decision.status, "Forbidden" if decision.status == 403 else "")
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
            return Refusal(500, "Internal server error")
        payload = result.payload if isinstance(result.payload, dict) else {}
        status = int(payload.get("statusCode", 200))
        if status >= 300:
            body = payload.get("body")
            return Refusal(status, body if isinstance(body, str) else "", "application/json")
        raw_headers = payload.get("headers")
        headers: dict[str, Any] = raw_headers if isinstance(raw_headers, dict) else {}
        chosen = next((str(v) for k, v in headers.items() if k.lower() == "sec-websocket-protocol"), None)
        connection.subprotocol = chosen
        return None

    def opened(self, connection: Connection, socket: Any, transport: Any) -> None:
        connection.socket = socket
        connection.transport = transport
        connection.state = ConnectionState.OPEN

    def receive(self, connection: Connection, body: str, is_base64: bool) -> None:
        """A data frame arrived: dispatch it without holding up the next frame."""
        self._spawn(self._dispatch(connection, body, is_base64))

    async def _dispatch(self, connection: Connection, body: str, is_base64: bool) -> None:
        route = self.api.route_for("$default") if is_base64 else self.api.select_route(body)
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
                    "message": "Endpoint request timed out"
                    if result.error_type == INTEGRATION_TIMEOUT
                    else "Internal server error",
                    "connectionId": connection.connection_id,
                    "requestId": request_id,
                },
            )
            return
        if route.returns_response and isinstance(result.payload, dict) and isinstance(result.payload.get("body"), str):
            await self._send_text(connection, result.payload["body"])

    async def _send_frame(self, connection: Connection, payload: dict[str, Any]) -> None:
        await self._send_text(connection, json.dumps(payload))

    async def _send_text(self, connection: Connection, text: str, *, posted: bool = False) -> bool:
        """Write one frame; False when the connection is gone. The send writes the frame before it
        waits for a slow client to drain, so the wait can be cut short without losing the frame: a
        `posted` frame (`@connections`) is accepted once buffered, as API Gateway buffers it (the
        next post to a client still behind gets 429); a frame the gateway sends itself drops a
        client that has not read for `slow_consumer_seconds`."""
        if not connection.is_open:
            return False
        try:
            if self._may_block(connection, len(text)):
                wait = POST_DRAIN_WAIT_SECONDS if posted else self.settings.slow_consumer_seconds
                await asyncio.wait_for(connection.socket.send_str(text), timeout=wait)
            else:  # the common case: no timer task on the per-frame path
                await connection.socket.send_str(text)
        except TimeoutError:
            if posted:
                return True  # buffered behind a slow reader
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
    def _buffer_full(connection: Connection) -> bool:
        """Frames are already waiting past the write buffer's high-water mark: the client is behind."""
        transport = connection.transport
        return transport is not None and bool(
            transport.get_write_buffer_size() > transport.get_write_buffer_limits()[1]
        )

    @staticmethod
    def _may_block(connection: Connection, size: int) -> bool:
        """A send waits only when the write buffer passes its high-water mark (the client is not
        reading fast enough); only then is it bounded by the slow-consumer timeout."""
        transport = connection.transport
        if transport is None:
            return True
        high_water = transport.get_write_buffer_limits()[1]
        return bool(transport.get_write_buffer_size() + size > high_water)

    async def disconnected(self, connection: Connection) -> None:
        """The socket is closed (by either side): fire `$disconnect` once, best effort."""
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

    async def enforce_quotas(self) -> None:
        """Idle timeout and the hard connection duration, both closing with 1001 and firing $disconnect."""
        interval = max(
            0.05, min(1.0, self.settings.idle_timeout_seconds / 10, self.settings.max_connection_seconds / 10)
        )
        while True:
            await asyncio.sleep(interval)
            now = now_ms()
            for connection in list(self.connections.values()):
                if not connection.is_open:
                    continue
                if (
                    now - connection.connected_at_ms >= self.settings.max_connection_seconds * 1000
                    or now - connection.last_active_at_ms >= self.settings.idle_timeout_seconds * 1000
                ):
                    self._spawn(self.close(connection, 1001, "Going away"))

    def open_connection(self, connection_id: str) -> Connection:
        """The open connection `@connections` names; GoneException for any other."""
        connection = self.connections.get(connection_id)
        if connection is None or not connection.is_open:
            raise GoneException
        return connection

    def admit_management_call(self) -> None:
        """The account's `@connections` throttle: past it, 429 LimitExceededException."""
        if not self._management_rate.allow():
            raise LimitExceededException

    async def post_to_connection(self, connection_id: str, data: bytes) -> None:
        if len(data) > self.settings.max_post_bytes:
            raise PayloadTooLargeException
        connection = self.open_connection(connection_id)
        if self._buffer_full(connection):
            # The client is not reading and its buffer is full: 429, and the connection stays
            # (the caller retries; it is not gone).
            raise LimitExceededException
        if not await self._send_text(connection, data.decode("utf-8", errors="replace"), posted=True):
            raise GoneException

    async def delete_connection(self, connection_id: str) -> None:
        await self.close(self.open_connection(connection_id), 1000, "")

    async def shutdown(self) -> None:
        """Stopping the local stack is not an API Gateway event: close sockets without $disconnect."""
        self._shutting_down = True
        await asyncio.gather(
            *(self.close(c, 1001, "Going away") for c in list(self.connections.values())), return_exceptions=True
        )

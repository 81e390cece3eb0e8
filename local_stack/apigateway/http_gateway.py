"""The HTTP API endpoint: route matching, the JWT authorizer, payload format 2.0 events and the
response mapping, as API Gateway does them for Lambda proxy integrations."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from local_stack.apigateway.http_api import HttpApi
from local_stack.apigateway.ids import new_request_id
from local_stack.apigateway.jwt_authorizer import JwtVerifier
from local_stack.awslambda.permissions import InvokePermission, apigateway_may_invoke
from local_stack.awslambda.pool import FunctionPool
from local_stack.private_files import append_private_text

log = logging.getLogger(__name__)
# HTTP APIs time integrations out after 30 s (hard quota).
INTEGRATION_TIMEOUT_SECONDS = 30.0
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")


def _message(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"message": message}, status=status, headers=headers)


class HttpApiGateway:
    def __init__(
        self,
        api: HttpApi,
        pools: dict[str, FunctionPool],
        verifier: JwtVerifier,
        domain_name: str,
        record_events_file: Path | None = None,
        *,
        permissions: list[InvokePermission] | None = None,
        region: str = "us-east-1",
    ) -> None:
        """`permissions`: the template's `AWS::Lambda::Permission`s; None skips the check (tests)."""
        self._event_log = append_private_text(record_events_file) if record_events_file else None
        self.api = api
        self.pools = pools
        self.verifier = verifier
        self.domain_name = domain_name
        self.permissions = permissions
        self.region = region

    def source_arn(self, method: str, route_path: str) -> str:
        """What API Gateway invokes a route's function as: `{api}/{stage}/{METHOD}{route path}`."""
        return f"arn:aws:execute-api:{self.region}:000000000000:{self.api.api_id}/$default/{method}{route_path}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        matched = self.api.route_for(request.method, request.path)
        if matched is None:
            return _message(404, "Not Found")
        route, path_parameters = matched
        headers = joined_headers(request)
        claims: dict[str, str] | None = None
        if route.authorizer is not None:
            decision = self.verifier.verify(route.authorizer, headers)
            if not decision.allowed:
                log.info("JWT authorizer refused %s: %s", route.key, decision.reason)
                return _message(401, "Unauthorized", {"www-authenticate": 'Bearer error="invalid_token"'})
            claims = decision.claims
        body = await request.read()
        if len(body) > MAX_PAYLOAD_BYTES:
            return _message(413, "Request Entity Too Large")
        pool = self.pools.get(route.function_name or "")
        if pool is None:
            return _message(500, "Internal Server Error")
        if self.permissions is not None and not apigateway_may_invoke(
            self.permissions, pool.spec.name, self.source_arn(request.method, route.path)
        ):
            log.warning("API Gateway has no permission to invoke %s for %s", pool.spec.name, route.key)
            return _message(500, "Internal Server Error")
        event = self._event(request, route.key, headers, path_parameters, body, claims)
        if self._event_log is not None:
            self._event_log.write(json.dumps(event) + "\n")
            self._event_log.flush()
        try:
            result = await asyncio.wait_for(pool.invoke(event), timeout=INTEGRATION_TIMEOUT_SECONDS)
        except TimeoutError:
            return _message(503, "Service Unavailable")
        if result.failed:
            return _message(500, "Internal Server Error")
        return _response(result.payload)

    def _event(
        self,
        request: web.Request,
        route_key: str,
        headers: dict[str, str],
        path_parameters: dict[str, str],
        body: bytes,
        claims: dict[str, str] | None,
    ) -> dict[str, Any]:
        content_type = headers.get("content-type", "")
        is_text = not body or content_type.startswith(_TEXT_TYPES)
        try:
            text = body.decode() if is_text else None
        except UnicodeDecodeError:
            text = None
        query: dict[str, str] = {}
        for key, value in request.query.items():
            query[key] = f"{query[key]},{value}" if key in query else value
        context = self._request_context(request, route_key, headers, claims)
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route_key,
            # As sent: API Gateway does not decode them (`pathParameters`, `queryStringParameters` are).
            "rawPath": request.raw_path.partition("?")[0],
            "rawQueryString": request.raw_path.partition("?")[2],
            "headers": headers,
            "requestContext": context,
            "isBase64Encoded": text is None,
        }
        if query:
            event["queryStringParameters"] = query
        if path_parameters:
            event["pathParameters"] = path_parameters
        if body:
            event["body"] = text if text is not None else base64.b64encode(body).decode()
        if "cookie" in headers:
            event["cookies"] = [c.strip() for c in headers["cookie"].split(";")]
        return event

    def _request_context(
        self, request: web.Request, route_key: str, headers: dict[str, str], claims: dict[str, str] | None
    ) -> dict[str, Any]:
        now_ms = int(time.time() * 1000)
        context: dict[str, Any] = {
            "accountId": "000000000000",
            "apiId": self.api.api_id,
            "domainName": self.domain_name,
            "domainPrefix": self.api.api_id,
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": f"HTTP/{request.version.major}.{request.version.minor}",
                "sourceIp": request.remote or "127.0.0.1",
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": new_request_id(),
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now_ms / 1000)),
            "timeEpoch": now_ms,
        }
        if claims is not None:
            context["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
        return context


def joined_headers(request: web.Request) -> dict[str, str]:
    """Payload format 2.0 headers: lower-cased names, and a repeated header's values joined with
    commas (API Gateway keeps every copy, not the last)."""
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    return headers


def _response(payload: Any) -> web.Response:
    """Payload format 2.0: a dict with statusCode is a response; anything else is a 200 JSON body.
    A response whose `body` is not a string is an integration error: 500, as API Gateway answers."""
    if not isinstance(payload, dict) or "statusCode" not in payload:
        return web.Response(status=200, text=json.dumps(payload), content_type="application/json")
    if payload.get("body") is not None and not isinstance(payload["body"], str):
        log.warning("integration response body is %s, not a string", type(payload["body"]).__name__)
        return _message(500, "Internal Server Error")
    headers = {str(k): str(v) for k, v in (payload.get("headers") or {}).items()}
    for name, values in (payload.get("multiValueHeaders") or {}).items():
        headers[str(name)] = ",".join(str(v) for v in values)
    raw = payload.get("body")
    body = b"" if raw is None else (base64.b64decode(raw) if payload.get("isBase64Encoded") else str(raw).encode())
    response = web.Response(status=int(payload["statusCode"]), body=body, headers=headers)
    for cookie in payload.get("cookies") or []:
        response.headers.add("Set-Cookie", str(cookie))
    if "content-type" not in {k.lower() for k in headers} and body:
        response.content_type = "application/json"
    return response

"""HTTP API (payload format 2.0) events for calling the HTTP handler in-process, as API Gateway
would after its JWT authorizer; every error body is checked against the contract."""

from __future__ import annotations

import json
from types import SimpleNamespace

from session_management import contracts

LAMBDA_CONTEXT = SimpleNamespace(
    function_name="session-http-api-handler-test",
    memory_limit_in_mb=256,
    invoked_function_arn="arn:aws:lambda:us-east-1:000000000000:function:session-http-api-handler-test",
    aws_request_id="req-1",
)


def http_event(method: str, path: str, *, user: str | None = "alice", body: object = None, query=None) -> dict:
    route_path = "/sessions/{sessionId}" if path.count("/") > 1 else "/sessions"
    event = {
        "version": "2.0",
        "routeKey": f"{method} {route_path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "api",
            "domainName": "api.execute-api.us-east-1.amazonaws.com",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9"},
            "requestId": "r",
            "routeKey": f"{method} {route_path}",
            "stage": "$default",
            "time": "26/Nov/2026:06:00:00 +0000",
            "timeEpoch": 0,
        },
        "isBase64Encoded": False,
    }
    if user is not None:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": {"sub": user}, "scopes": None}}
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
    if query:
        event["queryStringParameters"] = query
    return event


def call(*args, **kwargs) -> tuple[int, dict | None]:
    from session_management.handlers import http_api

    result = http_api.handler(http_event(*args, **kwargs), LAMBDA_CONTEXT)
    body = json.loads(result["body"]) if result.get("body") else None
    if body is not None and result["statusCode"] >= 400:
        contracts.validate("error", body)
    return result["statusCode"], body

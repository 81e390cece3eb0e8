"""An IAM policy check in front of DynamoDB Local.

Each function signs its calls with its role's access key (see `local_stack.iam`); this proxy
reads the key from the SigV4 `Authorization` header, works out the IAM actions and table ARNs
the request needs (per item for transactions, per index for queries), and answers
AccessDeniedException exactly where AWS would, before DynamoDB Local sees the request.
Requests signed with any other key (tests, the supervisor) are the account's admin and pass.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any

import aiohttp
from aiohttp import web

from local_stack.iam.models import Role

_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/")
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def required_permissions(operation: str, body: Mapping[str, Any], table_arn_prefix: str) -> Iterator[tuple[str, str]]:
    """(IAM action, resource ARN) pairs a DynamoDB request needs."""

    def table(name: str, index: str | None = None) -> str:
        return f"{table_arn_prefix}/{name}" + (f"/index/{index}" if index else "")

    if operation == "TransactWriteItems":
        for item in body.get("TransactItems", []):
            for kind, action in _TRANSACT_ACTIONS.items():
                if kind in item:
                    yield f"dynamodb:{action}", table(item[kind]["TableName"])
    elif operation == "TransactGetItems":
        for item in body.get("TransactItems", []):
            yield "dynamodb:GetItem", table(item["Get"]["TableName"])
    elif operation in ("BatchGetItem", "BatchWriteItem"):
        for name in body.get("RequestItems", {}):
            yield f"dynamodb:{operation}", table(name)
    elif "TableName" in body:
        yield f"dynamodb:{operation}", table(body["TableName"], body.get("IndexName"))
    else:
        yield f"dynamodb:{operation}", "*"


def access_denied(role: Role, function_name: str, action: str, resource: str) -> web.Response:
    message = (
        f"User: arn:aws:sts::{role.arn.split(':')[4]}:assumed-role/{role.name}/{function_name} is not authorized "
        f"to perform: {action} on resource: {resource} because no identity-based policy allows the {action} action"
    )
    return web.Response(
        status=400,
        text=json.dumps({"__type": "com.amazon.coral.service#AccessDeniedException", "Message": message}),
        content_type="application/x-amz-json-1.0",
    )


class DynamoDBIamProxy:
    def __init__(self, upstream: str, roles_by_key: Mapping[str, tuple[Role, str]], table_arn_prefix: str) -> None:
        self.upstream = upstream
        self.roles_by_key = roles_by_key
        self.table_arn_prefix = table_arn_prefix
        self._session: aiohttp.ClientSession | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        match = _CREDENTIAL.search(request.headers.get("Authorization", ""))
        principal = self.roles_by_key.get(match.group(1)) if match else None
        if principal is not None:
            role, function_name = principal
            operation = request.headers.get("X-Amz-Target", "").rpartition(".")[2]
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = {}
            for action, resource in required_permissions(operation, body, self.table_arn_prefix):
                if not role.is_allowed(action, resource):
                    # What CloudTrail would show: which role lacked which action on which table.
                    logging.getLogger(__name__).warning("AccessDenied: %s lacks %s on %s", role.name, action, resource)
                    return access_denied(role, function_name, action, resource)
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        try:
            async with self._session.post(self.upstream, data=raw, headers=headers) as upstream:
                payload = await upstream.read()
                passthrough = {
                    k: v
                    for k, v in upstream.headers.items()
                    if k.lower() in ("content-type", "x-amzn-requestid", "x-amz-crc32")
                }
                return web.Response(status=upstream.status, body=payload, headers=passthrough)
        except (aiohttp.ClientError, OSError):
            # DynamoDB Local is down or dropped the connection: answer as DynamoDB does when it
            # cannot serve a request, so SDKs retry and then report it.
            return web.json_response(
                {"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError", "message": "Internal server error"},
                status=500,
                content_type="application/x-amz-json-1.0",
            )

"""An IAM policy check in front of DynamoDB Local.

Each function signs its calls with its role's access key, and the stack's owner with the owner's
(see `local_stack.iam`); this proxy verifies the SigV4 signature (an unsigned request, an unknown
key or a wrong signature gets DynamoDB's own refusal), works out the IAM actions and table ARNs
the request needs (per item for transactions, per index for queries), and answers
AccessDeniedException exactly where AWS would, before DynamoDB Local sees the request. The
owner's key, like an account admin's, may do anything.

The operation checked is the one forwarded: a request with more than one `X-Amz-Target` is
refused before anything is checked or forwarded, and the forwarded request carries exactly
the one target the check read (a duplicate could otherwise pass the check as GetItem and run
as DeleteTable, since DynamoDB Local may read another copy than the proxy).
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
from local_stack.iam.responses import json10_refusal, signer_of
from local_stack.iam.signatures import IssuedKey, SignatureRefused

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


def unreadable_request(error_type: str, message: str) -> web.Response:
    """DynamoDB's answer to a request it cannot read: 400, not retryable, nothing executed."""
    return web.Response(
        status=400,
        text=json.dumps({"__type": f"com.amazon.coral.service#{error_type}", "Message": message}),
        content_type="application/x-amz-json-1.0",
    )


class DuplicateKey(ValueError):
    pass


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKey(key)
        result[key] = value
    return result


# One `Service_Version.Operation`; a comma would be a folded list of targets.
_ONE_TARGET = re.compile(r"[A-Za-z0-9_]+\.[A-Za-z]+")
# Never copied from the request: the target is re-set from the one value checked, the rest are hop-by-hop.
_NOT_FORWARDED = frozenset({"host", "content-length", "x-amz-target"})


class DynamoDBIamProxy:
    def __init__(self, upstream: str, keys: Mapping[str, IssuedKey], table_arn_prefix: str, region: str) -> None:
        self.upstream = upstream
        self.keys = keys
        self.table_arn_prefix = table_arn_prefix
        self.region = region
        self._session: aiohttp.ClientSession | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        targets = request.headers.getall("X-Amz-Target", [])
        if len(targets) > 1:
            logging.getLogger(__name__).warning("Refused: %d X-Amz-Target headers", len(targets))
            return unreadable_request(
                "SerializationException", "A request must name exactly one operation (one X-Amz-Target header)"
            )
        target = targets[0] if targets else None
        if target is not None and not _ONE_TARGET.fullmatch(target):
            return unreadable_request("UnknownOperationException", "An unknown operation was requested.")
        raw = await request.read()
        signer = await signer_of(request, self.keys, "dynamodb", self.region)
        if isinstance(signer, SignatureRefused):
            return json10_refusal(signer)
        if signer.principal is not None:
            role, function_name = signer.principal
            operation = (target or "").rpartition(".")[2]
            try:
                body = json.loads(raw, object_pairs_hook=_refuse_duplicate_keys) if raw else {}
            except DuplicateKey as duplicate:
                # The check reads one copy, DynamoDB Local might use another: refused, never forwarded.
                return unreadable_request("SerializationException", f"Duplicate key in the request: {duplicate}")
            except ValueError:
                body = {}
            for action, resource in required_permissions(operation, body, self.table_arn_prefix):
                if not role.is_allowed(action, resource):
                    # What CloudTrail would show: which role lacked which action on which table.
                    logging.getLogger(__name__).warning("AccessDenied: %s lacks %s on %s", role.name, action, resource)
                    return access_denied(role, function_name, action, resource)
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED}
        if target is not None:
            headers["X-Amz-Target"] = target
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

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

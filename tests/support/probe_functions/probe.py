"""Probe functions for the fidelity tests: each one provokes or reveals one API Gateway, Lambda or
IAM behaviour. They run in the local stack exactly as the service's handlers do."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

TABLE = os.environ.get("PROBE_TABLE", "")


def _record(kind: str, event: dict[str, Any]) -> None:
    boto3.client("dynamodb").put_item(
        TableName=TABLE,
        Item={"id": {"S": f"{kind}#{event['requestContext']['connectionId']}"}, "event": {"S": json.dumps(event)}},
    )


def _management(event: dict[str, Any], scheme: str = "https") -> Any:
    context = event["requestContext"]
    return boto3.client(
        "apigatewaymanagementapi", endpoint_url=f"{scheme}://{context['domainName']}/{context['stage']}"
    )


def authorize(event: dict[str, Any], context: Any) -> dict[str, Any]:
    mode = (event.get("queryStringParameters") or {}).get("authz", "allow")
    if mode == "unauthorized":
        raise Exception("Unauthorized")
    if mode == "error":
        raise ValueError("authorizer bug")
    resource = event["methodArn"]
    if mode == "elsewhere":
        resource = resource.replace("/prod/", "/other-stage/")
    return {
        "principalId": "probe-user",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Deny" if mode == "deny" else "Allow", "Resource": resource}
            ],
        },
        "context": {"userId": "u-1", "count": 3, "flag": True},
    }


def connect(event: dict[str, Any], context: Any) -> dict[str, Any]:
    mode = (event.get("queryStringParameters") or {}).get("connect", "ok")
    if mode == "raise":
        raise RuntimeError("connect bug")
    if mode == "refuse":
        return {"statusCode": 403, "body": "go away"}
    if mode == "strict-query":
        # The classic bug: assuming the query string is always there.
        return {"statusCode": 200 if event["queryStringParameters"]["action"] else 400}
    if mode == "post-self":
        try:
            _management(event).post_to_connection(ConnectionId=event["requestContext"]["connectionId"], Data=b"early")
            outcome = "delivered"
        except ClientError as exc:
            outcome = exc.response["Error"]["Code"]
        boto3.client("dynamodb").put_item(
            TableName=TABLE,
            Item={"id": {"S": f"post-self#{event['requestContext']['connectionId']}"}, "event": {"S": outcome}},
        )
    _record("connect", event)
    return {"statusCode": 200}


def disconnect(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _record("disconnect", event)
    return {"statusCode": 200}


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": json.dumps({"echo": event})}


def boom(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise RuntimeError("handler bug")


def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
    time.sleep(5)
    return {"statusCode": 200, "body": "too late"}


def write(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Runs under a role without dynamodb:PutItem."""
    try:
        boto3.client("dynamodb").put_item(TableName=TABLE, Item={"id": {"S": "narrow"}})
        outcome = "written"
    except ClientError as exc:
        outcome = exc.response["Error"]["Code"]
    return {"statusCode": 200, "body": json.dumps({"outcome": outcome})}


def manage(event: dict[str, Any], context: Any) -> dict[str, Any]:
    body = json.loads(event.get("body") or "{}")
    connection_id = event["requestContext"]["connectionId"]
    try:
        client = _management(event, body.get("scheme", "https"))
        if body.get("op") == "get":
            info = client.get_connection(ConnectionId=body.get("target", connection_id))
            outcome: Any = {
                "connectedAt": info["ConnectedAt"].isoformat(),
                "lastActiveAt": info["LastActiveAt"].isoformat(),
                "identity": info["Identity"],
            }
        elif body.get("op") == "delete":
            client.delete_connection(ConnectionId=body.get("target", connection_id))
            outcome = "deleted"
        else:
            client.post_to_connection(
                ConnectionId=body.get("target", connection_id), Data=body.get("data", "hi").encode()
            )
            outcome = "posted"
    except ClientError as exc:
        outcome = exc.response["Error"]["Code"]
    except (ValueError, BotoCoreError) as exc:
        outcome = f"{type(exc).__name__}: {exc}"
    return {"statusCode": 200, "body": json.dumps({"outcome": outcome})}


def scheduled(event: dict[str, Any], context: Any) -> dict[str, Any]:
    boto3.client("dynamodb").put_item(
        TableName=TABLE, Item={"id": {"S": f"scheduled#{event['id']}"}, "event": {"S": json.dumps(event)}}
    )
    return {"ok": True}

"""Reading a running stack's state in tests: its processes, its tables, and the counts and rows
the service keeps in them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psutil


def stack_process(stack: dict[str, Any], marker: str) -> psutil.Process:
    """The one process of this stack whose command line contains `marker`."""
    supervisor = psutil.Process(int(stack["supervisorPid"]))
    [found] = [p for p in supervisor.children(recursive=True) if marker in " ".join(p.cmdline())]
    return found


def recorded_events_file(stack: dict[str, Any]) -> Path:
    """Where a stack started with `record_events` (tests/support/stacks.py) writes the gateway's events."""
    return Path(stack["logDir"]).parent / "events.jsonl"


def table_names(env: str) -> dict[str, str]:
    """The service's tables on a stage, by the role tests know them under."""
    return {
        "sessions": f"Sessions-{env}",
        "connections": f"Connections-{env}",
        "rate_limits": f"RateLimits-{env}",
    }


def session_item(dynamodb: Any, tables: dict[str, str], session_id: str) -> dict[str, Any]:
    """The session's row (consistent read); empty when there is none."""
    item: dict[str, Any] = dynamodb.get_item(
        TableName=tables["sessions"], Key={"sessionId": {"S": session_id}}, ConsistentRead=True
    ).get("Item", {})
    return item


def listener_count(dynamodb: Any, tables: dict[str, str], session_id: str) -> int:
    return int(session_item(dynamodb, tables, session_id)["listenerCount"]["N"])


def listener_rows(dynamodb: Any, tables: dict[str, str], session_id: str) -> list[dict[str, Any]]:
    """The session's listener rows, through the language index (every page)."""
    rows: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": tables["connections"],
        "IndexName": "sessionId-targetLanguage-index",
        "KeyConditionExpression": "sessionId = :s",
        "ExpressionAttributeValues": {":s": {"S": session_id}},
    }
    while True:
        page = dynamodb.query(**kwargs)
        rows += page["Items"]
        if "LastEvaluatedKey" not in page:
            return rows
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

"""Reading a running stack's state in tests: its processes, and the counts and rows the service keeps."""

from __future__ import annotations

from typing import Any

import psutil


def stack_process(stack: dict[str, Any], marker: str) -> psutil.Process:
    """The one process of this stack whose command line contains `marker`."""
    supervisor = psutil.Process(int(stack["supervisorPid"]))
    [found] = [p for p in supervisor.children(recursive=True) if marker in " ".join(p.cmdline())]
    return found


def listener_count(dynamodb: Any, sessions_table: str, session_id: str) -> int:
    item = dynamodb.get_item(TableName=sessions_table, Key={"sessionId": {"S": session_id}}, ConsistentRead=True)
    return int(item["Item"]["listenerCount"]["N"])


def listener_rows(dynamodb: Any, connections_table: str, session_id: str) -> list[dict[str, Any]]:
    """The session's listener rows, through the language index (every page)."""
    rows: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": connections_table,
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

"""Checks the service's own state against what the load generator holds.

While every connection is held: each session's `listenerCount` must equal its listener rows and
every row must belong to a connection API Gateway still has (GET @connections answers 200, not
410). After the generator has gone: every count must drain to zero and no row may be left behind.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from session_management import resource_names as names
from stage_access.clients import aws_client

PARALLEL_CHECKS = 32


def _listener_rows(dynamodb: Any, table: str, session_id: str) -> list[str]:
    ids: list[str] = []
    kwargs: dict[str, Any] = {
        "TableName": table,
        "IndexName": names.CONNECTIONS_BY_LANGUAGE_INDEX,
        "KeyConditionExpression": "sessionId = :s",
        "ExpressionAttributeValues": {":s": {"S": session_id}},
        "ProjectionExpression": "connectionId",
    }
    while True:
        page = dynamodb.query(**kwargs)
        ids.extend(item["connectionId"]["S"] for item in page["Items"])
        if "LastEvaluatedKey" not in page:
            return ids
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _listener_count(dynamodb: Any, table: str, session_id: str) -> tuple[int, bool, str | None]:
    item = dynamodb.get_item(TableName=table, Key={"sessionId": {"S": session_id}}, ConsistentRead=True).get("Item")
    if item is None:
        return -1, False, None
    speaker = item.get("speakerConnectionId", {}).get("S")
    return int(item["listenerCount"]["N"]), bool(item.get("isActive", {}).get("BOOL")), speaker


def verify_live(target: dict[str, Any], sessions: list[str], attempts: int = 5, pause: float = 2.0) -> dict[str, Any]:
    """Each session must show a consistent snapshot: listenerCount == rows == live connections.

    The count and the rows are two reads, and a refresh or a `$disconnect` may land between them,
    so an inconsistent session is read again (up to `attempts` times, `pause` apart). Only a
    mismatch that persists is reported: that is drift, or a row whose `$disconnect` never came.
    """
    dynamodb = aws_client(target, "dynamodb")
    management = aws_client(target, "apigatewaymanagementapi")
    tables = target["tables"]

    def alive(connection_id: str) -> bool:
        try:
            management.get_connection(ConnectionId=connection_id)
        except management.exceptions.GoneException:
            return False
        return True

    mismatches: list[dict[str, Any]] = []
    orphans = live_listeners = live_speakers = rereads = 0
    with ThreadPoolExecutor(PARALLEL_CHECKS) as pool:
        for session_id in sessions:
            for attempt in range(attempts):
                count, active, speaker = _listener_count(dynamodb, tables["sessions"], session_id)
                rows = _listener_rows(dynamodb, tables["connections"], session_id)
                live = sum(pool.map(alive, rows))
                consistent = active and count == live == len(rows)
                if consistent or attempt == attempts - 1:
                    break
                rereads += 1
                time.sleep(pause)
            live_listeners += live
            orphans += len(rows) - live
            if speaker and alive(speaker):
                live_speakers += 1
            if not consistent:
                mismatches.append(
                    {"sessionId": session_id, "active": active, "listenerCount": count, "rows": len(rows), "live": live}
                )
    return {
        "phase": "live",
        "sessions": len(sessions),
        "liveSpeakers": live_speakers,
        "liveListeners": live_listeners,
        "orphanRows": orphans,
        "rereads": rereads,
        "mismatches": mismatches[:20],
        "mismatchCount": len(mismatches),
        "passed": not mismatches,
    }


def verify_drained(target: dict[str, Any], sessions: list[str], timeout: float = 120) -> dict[str, Any]:
    """After every client has gone, `$disconnect` (or the periodic job) must bring each count to zero."""
    dynamodb = aws_client(target, "dynamodb")
    tables = target["tables"]
    deadline = time.monotonic() + timeout
    pending = list(sessions)
    while pending and time.monotonic() < deadline:
        pending = [
            s
            for s in pending
            if _listener_count(dynamodb, tables["sessions"], s)[0] not in (0, -1)
            or _listener_rows(dynamodb, tables["connections"], s)
        ]
        if pending:
            time.sleep(1)
    leftovers = [
        {
            "sessionId": s,
            "listenerCount": _listener_count(dynamodb, tables["sessions"], s)[0],
            "rows": len(_listener_rows(dynamodb, tables["connections"], s)),
        }
        for s in pending[:20]
    ]
    return {
        "phase": "drained",
        "sessions": len(sessions),
        "undrained": len(pending),
        "leftovers": leftovers,
        "passed": not pending,
    }

"""Fixed-window counters in the RateLimits table.

A limit that cannot be checked must not take the service down: if the table is unavailable,
the request is allowed and a warning is logged (fail open).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from session_management.repositories.errors import error_code

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    retry_after: int = 0


class RateLimitRepository:
    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    @staticmethod
    def window_key(identifier: str, window_seconds: int, now: float | None = None) -> str:
        now = time.time() if now is None else now
        return f"{identifier}#{int(now // window_seconds) * window_seconds}"

    def guard(self, identifier: str, limit: int, window_seconds: int) -> dict[str, Any]:
        """A ConditionCheck for a transaction: holds while fewer than `limit` events are counted."""
        return {
            "ConditionCheck": {
                "TableName": self.table,
                "Key": {"identifier": {"S": self.window_key(identifier, window_seconds)}},
                "ConditionExpression": "attribute_not_exists(#count) OR #count < :limit",
                "ExpressionAttributeNames": {"#count": "count"},
                "ExpressionAttributeValues": {":limit": {"N": str(limit)}},
            }
        }

    def is_blocked(self, identifier: str, limit: int, window_seconds: int) -> RateDecision:
        """Read-only check of a counter (fails open)."""
        now = time.time()
        try:
            item = self.client.get_item(
                TableName=self.table, Key={"identifier": {"S": self.window_key(identifier, window_seconds, now)}}
            ).get("Item")
        except (ClientError, BotoCoreError) as exc:
            log.warning("rate limit check failed open", extra={"error": type(exc).__name__})
            return RateDecision(True)
        if item and int(item["count"]["N"]) >= limit:
            return RateDecision(False, retry_after=max(1, int(window_seconds - now % window_seconds)))
        return RateDecision(True)

    def claim(self, identifier: str, lifetime_seconds: int) -> bool:
        """True the first time an identifier is claimed within its lifetime (idempotency of retries)."""
        try:
            self.client.put_item(
                TableName=self.table,
                Item={"identifier": {"S": identifier}, "expiresAt": {"N": str(int(time.time()) + lifetime_seconds)}},
                ConditionExpression="attribute_not_exists(identifier)",
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            log.warning("idempotency check failed open", extra={"error": error_code(exc)})
        except BotoCoreError as exc:
            log.warning("idempotency check failed open", extra={"error": type(exc).__name__})
        return True

    def record(self, identifier: str, window_seconds: int) -> None:
        """Count one event without a limit (failures that a guard checks later); fails open."""
        self.hit(identifier, 2**31, window_seconds)

    def hit(self, identifier: str, limit: int, window_seconds: int, now: float | None = None) -> RateDecision:
        """Count one event for `identifier`; refuse once `limit` events fall in the current window."""
        now = time.time() if now is None else now
        window_start = int(now // window_seconds) * window_seconds
        window_end = window_start + window_seconds
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"identifier": {"S": f"{identifier}#{window_start}"}},
                UpdateExpression="ADD #count :one SET expiresAt = if_not_exists(expiresAt, :expires)",
                ConditionExpression="attribute_not_exists(#count) OR #count < :limit",
                ExpressionAttributeNames={"#count": "count"},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(limit)},
                    ":expires": {"N": str(window_end + 60)},
                },
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return RateDecision(False, retry_after=max(1, int(window_end - now)))
            log.warning("rate limit check failed open", extra={"error": error_code(exc)})
        except BotoCoreError as exc:
            log.warning("rate limit check failed open", extra={"error": type(exc).__name__})
        return RateDecision(True)

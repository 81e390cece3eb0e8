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

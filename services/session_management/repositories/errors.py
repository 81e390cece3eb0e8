"""How DynamoDB failures surface to the domain.

Unavailability becomes SERVICE_UNAVAILABLE (503) with a retry hint; conditional failures are
turned into domain outcomes by each repository. botocore's standard retry mode already retried
throttling and transient errors (at most 3 attempts, jittered exponential backoff).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from session_management.errors import ErrorCode, ServiceError
from session_management.observability import logger

T = TypeVar("T")

UNAVAILABLE_CODES = frozenset(
    {
        "InternalServerError",
        "ServiceUnavailable",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ThrottlingException",
        "LimitExceededException",
    }
)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def cancellation_codes(exc: ClientError) -> list[str]:
    """Per-item reasons of a cancelled transaction, in request order ('None' where the item was fine)."""
    reasons: Any = exc.response.get("CancellationReasons", [])
    return [str(reason.get("Code", "None")) for reason in reasons]


def unavailable() -> ServiceError:
    return ServiceError(
        ErrorCode.SERVICE_UNAVAILABLE, "The service is temporarily unavailable; retry shortly", retry_after=2
    )


@contextmanager
def dynamodb_errors() -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        if error_code(exc) in UNAVAILABLE_CODES:
            logger.warning("DynamoDB unavailable", extra={"error": error_code(exc)})
            raise unavailable() from exc
        raise
    except BotoCoreError as exc:  # endpoint unreachable, timeouts
        logger.warning("DynamoDB unreachable", extra={"error": type(exc).__name__})
        raise unavailable() from exc


def retry_on_conflict(operation: Callable[[], T], attempts: int = 10) -> T:
    """Transactions on a hot item (a session's listener count) conflict under concurrent joins;
    DynamoDB asks callers to retry those with jittered backoff. Still conflicted after `attempts`
    tries (a storm of joins on one session), the caller gets a retryable SERVICE_UNAVAILABLE."""
    for attempt in range(attempts):
        try:
            return operation()
        except ClientError as exc:
            conflicted = error_code(exc) == "TransactionConflictException" or (
                error_code(exc) == "TransactionCanceledException" and "TransactionConflict" in cancellation_codes(exc)
            )
            if not conflicted:
                raise
            if attempt == attempts - 1:  # still contended: the client retries later, it is not our bug
                logger.warning("transaction conflicts persisted", extra={"attempts": attempts})
                raise ServiceError(
                    ErrorCode.SERVICE_UNAVAILABLE, "The session is busy; retry shortly", retry_after=1
                ) from exc
            time.sleep(random.uniform(0, min(0.2, 0.01 * 2**attempt)))  # noqa: S311 - jitter, not security
    raise AssertionError("unreachable")

"""Conditional writes and transactions, with their outcomes named instead of decoded by position.

A failed condition is an answer, not an error: a conditional write reports whether its condition
held, and a cancelled transaction reports which of its named items' conditions failed, so each
repository method reads as "if the listener row already existed ..." rather than `codes[1:2]`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from session_management.repositories.errors import cancellation_codes, dynamodb_errors, error_code, retry_on_conflict

Transaction = Mapping[str, Mapping[str, Any]]
"""A transaction's items by name (in request order): `{"session": {"Update": ...}, "listener": {"Put": ...}}`."""


def condition_held(write: Callable[[], object]) -> bool:
    """Run one conditional write; False when its condition did not hold, any other failure raises."""
    try:
        with dynamodb_errors():
            write()
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def write_transaction(client: Any, items: Transaction) -> None:
    """TransactWriteItems of the named items, retrying conflicts on hot items (see retry_on_conflict)."""
    with dynamodb_errors():
        retry_on_conflict(lambda: client.transact_write_items(TransactItems=list(items.values())))


def failed_conditions(exc: ClientError, items: Transaction) -> frozenset[str]:
    """The names of the items whose condition failed, if `exc` cancelled the transaction of `items`
    (empty for any other error, which the caller re-raises)."""
    if error_code(exc) != "TransactionCanceledException":
        return frozenset()
    codes = cancellation_codes(exc)
    return frozenset(name for name, code in zip(items, codes, strict=False) if code == "ConditionalCheckFailed")

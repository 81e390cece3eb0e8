"""The Connections table: one row per live connection; listener rows carry `targetLanguage` and so
appear in the `sessionId-targetLanguage-index` GSI (speaker rows do not)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from session_management.repositories.errors import cancellation_codes, dynamodb_errors, error_code, retry_on_conflict

BY_LANGUAGE_INDEX = "sessionId-targetLanguage-index"


class Role(StrEnum):
    SPEAKER = "speaker"
    LISTENER = "listener"


class SessionNotFound(Exception):
    """No such session, or it has ended."""


class SessionFull(Exception):
    """The session has maxListenersPerSession listeners."""


class GuardFailed(Exception):
    """The transaction's guard condition (e.g. the caller's address is blocked) did not hold."""


class NotRefreshable(Exception):
    """The connection named for a refresh is not a listener of that session in that language."""


@dataclass(frozen=True)
class Connection:
    connection_id: str
    session_id: str
    role: Role
    connected_at_ms: int
    ttl_epoch_seconds: int
    target_language: str | None = None
    user_id: str | None = None
    refresh_notified: bool = False
    warning_notified: bool = False

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "connectionId": {"S": self.connection_id},
            "sessionId": {"S": self.session_id},
            "role": {"S": self.role.value},
            "connectedAt": {"N": str(self.connected_at_ms)},
            "ttl": {"N": str(self.ttl_epoch_seconds)},
        }
        if self.target_language is not None:
            item["targetLanguage"] = {"S": self.target_language}
        if self.user_id is not None:
            item["userId"] = {"S": self.user_id}
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Connection:
        return cls(
            connection_id=item["connectionId"]["S"],
            session_id=item["sessionId"]["S"],
            role=Role(item["role"]["S"]),
            connected_at_ms=int(item["connectedAt"]["N"]),
            ttl_epoch_seconds=int(item["ttl"]["N"]),
            target_language=item.get("targetLanguage", {}).get("S"),
            user_id=item.get("userId", {}).get("S"),
            refresh_notified="refreshNotifiedAt" in item,
            warning_notified="warningNotifiedAt" in item,
        )


class ConnectionRepository:
    def __init__(self, client: Any, sessions_table: str, connections_table: str) -> None:
        self.client = client
        self.sessions_table = sessions_table
        self.connections_table = connections_table

    def join(self, listener: Connection, max_listeners: int, guard: dict[str, Any] | None = None) -> bool:
        """Admit a listener: count and row in one transaction, so concurrent joins can never pass the cap.

        `guard` is an optional ConditionCheck (the caller's address is not blocked) checked in the same
        transaction, at no extra round trip. Returns False when this connection had already joined this
        session (a repeated $connect).
        """
        extra = [guard] if guard else []

        def attempt() -> None:
            self.client.transact_write_items(
                TransactItems=[
                    *extra,
                    {
                        "Update": {
                            "TableName": self.sessions_table,
                            "Key": {"sessionId": {"S": listener.session_id}},
                            "UpdateExpression": "SET listenerCount = listenerCount + :one",
                            "ConditionExpression": "isActive = :true AND listenerCount < :max",
                            "ExpressionAttributeValues": {
                                ":one": {"N": "1"},
                                ":true": {"BOOL": True},
                                ":max": {"N": str(max_listeners)},
                            },
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.connections_table,
                            "Item": listener.to_item(),
                            "ConditionExpression": "attribute_not_exists(connectionId)",
                        }
                    },
                ]
            )

        try:
            with dynamodb_errors():
                retry_on_conflict(attempt)
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            codes = cancellation_codes(exc)[len(extra) :]
            if extra and cancellation_codes(exc)[0] == "ConditionalCheckFailed":
                raise GuardFailed from exc
            if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                existing = self.get(listener.connection_id)
                if existing is not None and existing.session_id == listener.session_id:
                    return False
                raise
            if codes and codes[0] == "ConditionalCheckFailed":
                raise self._why_refused(listener.session_id) from exc
            raise
        return True

    def refresh_listener(self, previous_connection_id: str, listener: Connection) -> bool:
        """A listener's new connection takes over: admitted even at the cap, counted while both are open.

        The count equals live connections throughout: +1 now, and -1 when the old connection's
        $disconnect removes the old row. Returns False for a repeat of the same refresh.
        """
        items = [
            {
                "ConditionCheck": {
                    "TableName": self.connections_table,
                    "Key": {"connectionId": {"S": previous_connection_id}},
                    "ConditionExpression": "sessionId = :s AND targetLanguage = :l AND #role = :listener",
                    "ExpressionAttributeNames": {"#role": "role"},
                    "ExpressionAttributeValues": {
                        ":s": {"S": listener.session_id},
                        ":l": {"S": listener.target_language or ""},
                        ":listener": {"S": Role.LISTENER.value},
                    },
                }
            },
            {
                "Update": {
                    "TableName": self.sessions_table,
                    "Key": {"sessionId": {"S": listener.session_id}},
                    "UpdateExpression": "SET listenerCount = listenerCount + :one",
                    "ConditionExpression": "isActive = :true",
                    "ExpressionAttributeValues": {":one": {"N": "1"}, ":true": {"BOOL": True}},
                }
            },
            {
                "Put": {
                    "TableName": self.connections_table,
                    "Item": listener.to_item(),
                    "ConditionExpression": "attribute_not_exists(connectionId)",
                }
            },
        ]
        try:
            with dynamodb_errors():
                retry_on_conflict(lambda: self.client.transact_write_items(TransactItems=items))
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            codes = cancellation_codes(exc)
            if codes[2:3] == ["ConditionalCheckFailed"]:
                return False
            if codes[:1] == ["ConditionalCheckFailed"]:
                raise NotRefreshable(previous_connection_id) from exc
            if codes[1:2] == ["ConditionalCheckFailed"]:
                raise SessionNotFound(listener.session_id) from exc
            raise
        return True

    def change_language(self, connection_id: str, language: str) -> bool:
        """Move a listener's row to another language partition of the index (one item update)."""
        try:
            with dynamodb_errors():
                self.client.update_item(
                    TableName=self.connections_table,
                    Key={"connectionId": {"S": connection_id}},
                    UpdateExpression="SET targetLanguage = :l",
                    ConditionExpression="#role = :listener",
                    ExpressionAttributeNames={"#role": "role"},
                    ExpressionAttributeValues={":l": {"S": language}, ":listener": {"S": Role.LISTENER.value}},
                )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def mark_notified(self, connection_id: str, attribute: str, at_ms: int) -> bool:
        """Record that a refresh notice or warning went out, once (the periodic job runs every minute)."""
        try:
            with dynamodb_errors():
                self.client.update_item(
                    TableName=self.connections_table,
                    Key={"connectionId": {"S": connection_id}},
                    UpdateExpression="SET #attribute = :at",
                    ConditionExpression="attribute_exists(connectionId) AND attribute_not_exists(#attribute)",
                    ExpressionAttributeNames={"#attribute": attribute},
                    ExpressionAttributeValues={":at": {"N": str(at_ms)}},
                )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def listeners(self, session_id: str) -> list[Connection]:
        """Every listener of a session (all languages), from the index."""
        return self._query(
            {"KeyConditionExpression": "sessionId = :s", "ExpressionAttributeValues": {":s": {"S": session_id}}}
        )

    def all(self) -> list[Connection]:
        """Every connection row (the reconcile job's worklist)."""
        rows: list[Connection] = []
        kwargs: dict[str, Any] = {"TableName": self.connections_table}
        with dynamodb_errors():
            while True:
                page = self.client.scan(**kwargs)
                rows.extend(Connection.from_item(item) for item in page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    return rows
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _query(self, condition: dict[str, Any]) -> list[Connection]:
        rows: list[Connection] = []
        kwargs: dict[str, Any] = {"TableName": self.connections_table, "IndexName": BY_LANGUAGE_INDEX, **condition}
        with dynamodb_errors():
            while True:
                page = self.client.query(**kwargs)
                rows.extend(Connection.from_item(item) for item in page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    return rows
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _why_refused(self, session_id: str) -> Exception:
        with dynamodb_errors():
            item = self.client.get_item(
                TableName=self.sessions_table,
                Key={"sessionId": {"S": session_id}},
                ProjectionExpression="isActive",
                ConsistentRead=True,
            ).get("Item")
        if not item or not item.get("isActive", {}).get("BOOL", False):
            return SessionNotFound(session_id)
        return SessionFull(session_id)

    def get(self, connection_id: str) -> Connection | None:
        with dynamodb_errors():
            item = self.client.get_item(
                TableName=self.connections_table, Key={"connectionId": {"S": connection_id}}, ConsistentRead=True
            ).get("Item")
        return Connection.from_item(item) if item else None

    def leave(self, listener: Connection) -> bool:
        """Remove a listener's row and decrement the count together; a repeat finds no row and does nothing."""

        def attempt() -> None:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self.connections_table,
                            "Key": {"connectionId": {"S": listener.connection_id}},
                            "ConditionExpression": "attribute_exists(connectionId)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.sessions_table,
                            "Key": {"sessionId": {"S": listener.session_id}},
                            "UpdateExpression": "SET listenerCount = listenerCount - :one",
                            "ConditionExpression": "listenerCount > :zero",
                            "ExpressionAttributeValues": {":one": {"N": "1"}, ":zero": {"N": "0"}},
                        }
                    },
                ]
            )

        try:
            with dynamodb_errors():
                retry_on_conflict(attempt)
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            codes = cancellation_codes(exc)
            if codes and codes[0] == "ConditionalCheckFailed":
                return False
            if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                # The count is already 0 (or the session is gone): remove the row alone, never go negative.
                self.delete(listener.connection_id)
                return True
            raise
        return True

    def delete(self, connection_id: str) -> None:
        with dynamodb_errors():
            self.client.delete_item(TableName=self.connections_table, Key={"connectionId": {"S": connection_id}})

    def listeners_by_language(self, session_id: str, language: str) -> list[Connection]:
        return self._query(
            {
                "KeyConditionExpression": "sessionId = :s AND targetLanguage = :l",
                "ExpressionAttributeValues": {":s": {"S": session_id}, ":l": {"S": language}},
            }
        )

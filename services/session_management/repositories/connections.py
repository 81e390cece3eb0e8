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


@dataclass(frozen=True)
class Connection:
    connection_id: str
    session_id: str
    role: Role
    connected_at_ms: int
    ttl_epoch_seconds: int
    target_language: str | None = None
    user_id: str | None = None

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
        )


class ConnectionRepository:
    def __init__(self, client: Any, sessions_table: str, connections_table: str) -> None:
        self.client = client
        self.sessions_table = sessions_table
        self.connections_table = connections_table

    def join(self, listener: Connection, max_listeners: int) -> bool:
        """Admit a listener: count and row in one transaction, so concurrent joins can never pass the cap.

        Returns False when this connection had already joined this session (a repeated $connect).
        """

        def attempt() -> None:
            self.client.transact_write_items(
                TransactItems=[
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
            codes = cancellation_codes(exc)
            if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                existing = self.get(listener.connection_id)
                if existing is not None and existing.session_id == listener.session_id:
                    return False
                raise
            if codes and codes[0] == "ConditionalCheckFailed":
                raise self._why_refused(listener.session_id) from exc
            raise
        return True

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
        rows: list[Connection] = []
        kwargs: dict[str, Any] = {
            "TableName": self.connections_table,
            "IndexName": BY_LANGUAGE_INDEX,
            "KeyConditionExpression": "sessionId = :s AND targetLanguage = :l",
            "ExpressionAttributeValues": {":s": {"S": session_id}, ":l": {"S": language}},
        }
        with dynamodb_errors():
            while True:
                page = self.client.query(**kwargs)
                rows.extend(Connection.from_item(item) for item in page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    return rows
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

"""The Connections table: one row per live connection; listener rows carry `targetLanguage` and so
appear in the `sessionId-targetLanguage-index` GSI (speaker rows do not)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from session_management import resource_names as names
from session_management.repositories.errors import dynamodb_errors
from session_management.repositories.pagination import all_items
from session_management.repositories.writes import condition_held, failed_conditions, write_transaction

BY_LANGUAGE_INDEX = names.CONNECTIONS_BY_LANGUAGE_INDEX


class Role(StrEnum):
    SPEAKER = "speaker"
    LISTENER = "listener"


class SessionNotFound(Exception):
    """No such session, or it has ended."""


class SessionFull(Exception):
    """The session has maxListenersPerSession listeners."""


class GuardFailed(Exception):
    """The transaction's guard condition (e.g. the caller's address is blocked) did not hold."""


class AlreadyConnected(Exception):
    """The connection already belongs to another session, or is a speaker's: one connection, one role."""


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

    def join(
        self, listener: Connection, max_listeners: int, guards: Mapping[str, dict[str, Any]] | None = None
    ) -> bool:
        """Admit a listener: count and row in one transaction, so concurrent joins can never pass the cap.

        `guards` are named ConditionChecks (the caller's address is not blocked) checked in the same
        transaction, at no extra round trip. Returns False when this connection had already joined this
        session (a repeated $connect).
        """
        items: dict[str, dict[str, Any]] = dict(guards or {})
        items["session"] = {
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
        }
        items["listener"] = self._put_new(listener)
        try:
            write_transaction(self.client, items)
        except ClientError as exc:
            failed = failed_conditions(exc, items)
            if failed & set(guards or {}):
                raise GuardFailed from exc
            if "listener" in failed:
                return self._rejoin(listener)
            if "session" in failed:
                raise self._why_refused(listener.session_id) from exc
            raise
        return True

    def _rejoin(self, listener: Connection) -> bool:
        """A connection that already has a row asked to join: a repeat of its own join (its language
        now the one asked for), or a refusal when it belongs to another session or is a speaker."""
        existing = self.get(listener.connection_id)
        if existing is None:  # gone between the transaction and the read: its $disconnect came first
            raise AlreadyConnected(listener.connection_id)
        if existing.role is not Role.LISTENER or existing.session_id != listener.session_id:
            raise AlreadyConnected(listener.connection_id)
        if listener.target_language and existing.target_language != listener.target_language:
            self.change_language(listener.connection_id, listener.target_language)
        return False

    def refresh_listener(self, previous_connection_id: str, listener: Connection) -> bool:
        """A listener's new connection takes over the old one's row: one transaction removes the old
        row and puts the new one, so the count is unchanged and never passes the cap. The client then
        closes the old connection; its `$disconnect` finds no row and changes nothing.

        A connection can be taken over once: a repeated or chained refresh naming a row that is
        gone is refused, so one client never holds more than one counted slot. Returns False for a
        repeat of the same refresh (the new row is already there).
        """
        items = {
            "previous": {
                "Delete": {
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
            "session": {
                "ConditionCheck": {
                    "TableName": self.sessions_table,
                    "Key": {"sessionId": {"S": listener.session_id}},
                    "ConditionExpression": "isActive = :true",
                    "ExpressionAttributeValues": {":true": {"BOOL": True}},
                }
            },
            "listener": self._put_new(listener),
        }
        if previous_connection_id == listener.connection_id:
            raise NotRefreshable(previous_connection_id)  # a connection cannot take over itself
        try:
            write_transaction(self.client, items)
        except ClientError as exc:
            failed = failed_conditions(exc, items)
            if "listener" in failed:
                existing = self.get(listener.connection_id)
                if existing is not None and existing.session_id == listener.session_id:
                    return False
                raise AlreadyConnected(listener.connection_id) from exc
            if "previous" in failed:
                raise NotRefreshable(previous_connection_id) from exc
            if "session" in failed:
                raise SessionNotFound(listener.session_id) from exc
            raise
        return True

    def _put_new(self, connection: Connection) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.connections_table,
                "Item": connection.to_item(),
                "ConditionExpression": "attribute_not_exists(connectionId)",
            }
        }

    def change_language(self, connection_id: str, language: str) -> bool:
        """Move a listener's row to another language partition of the index (one item update)."""
        return condition_held(
            lambda: self.client.update_item(
                TableName=self.connections_table,
                Key={"connectionId": {"S": connection_id}},
                UpdateExpression="SET targetLanguage = :l",
                ConditionExpression="#role = :listener",
                ExpressionAttributeNames={"#role": "role"},
                ExpressionAttributeValues={":l": {"S": language}, ":listener": {"S": Role.LISTENER.value}},
            )
        )

    def mark_notified(self, connection_id: str, attribute: str, at_ms: int) -> bool:
        """Record that a refresh notice or warning went out, once (the periodic job runs every minute)."""
        return condition_held(
            lambda: self.client.update_item(
                TableName=self.connections_table,
                Key={"connectionId": {"S": connection_id}},
                UpdateExpression="SET #attribute = :at",
                ConditionExpression="attribute_exists(connectionId) AND attribute_not_exists(#attribute)",
                ExpressionAttributeNames={"#attribute": attribute},
                ExpressionAttributeValues={":at": {"N": str(at_ms)}},
            )
        )

    def claim_delivery(self, connection_id: str, message_type: str, now_ms: int, lease_ms: int) -> bool:
        """Take the one delivery of `message_type` to this connection: refused when it was delivered,
        when another attempt holds an unexpired lease (Lambda may deliver an asynchronous event
        twice, at once), or when the connection is gone. A retry of a crashed attempt comes a
        minute later, after its lease ran out, and may take over."""
        return condition_held(
            lambda: self.client.update_item(
                TableName=self.connections_table,
                Key={"connectionId": {"S": connection_id}},
                UpdateExpression="SET #lease = :until",
                ConditionExpression="attribute_exists(connectionId) AND attribute_not_exists(#delivered) "
                "AND (attribute_not_exists(#lease) OR #lease < :now)",
                ExpressionAttributeNames={"#lease": f"{message_type}LeaseUntil", "#delivered": f"{message_type}At"},
                ExpressionAttributeValues={":until": {"N": str(now_ms + lease_ms)}, ":now": {"N": str(now_ms)}},
            )
        )

    def mark_delivered(self, connection_id: str, message_type: str, at_ms: int) -> bool:
        """Record the delivery claimed above, so no duplicate or retry of its event posts it again."""
        return self.mark_notified(connection_id, f"{message_type}At", at_ms)

    def listeners(self, session_id: str) -> list[Connection]:
        """Every listener of a session (all languages), from the index."""
        return self._query(
            {"KeyConditionExpression": "sessionId = :s", "ExpressionAttributeValues": {":s": {"S": session_id}}}
        )

    def all(self) -> list[Connection]:
        """Every connection row (the reconcile job's worklist)."""
        with dynamodb_errors():
            items = all_items(self.client.scan, TableName=self.connections_table)
            return [Connection.from_item(item) for item in items]

    def _query(self, condition: dict[str, Any]) -> list[Connection]:
        with dynamodb_errors():
            items = all_items(
                self.client.query, TableName=self.connections_table, IndexName=BY_LANGUAGE_INDEX, **condition
            )
            return [Connection.from_item(item) for item in items]

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
        items = {
            "listener": {
                "Delete": {
                    "TableName": self.connections_table,
                    "Key": {"connectionId": {"S": listener.connection_id}},
                    "ConditionExpression": "attribute_exists(connectionId)",
                }
            },
            "session": {
                "Update": {
                    "TableName": self.sessions_table,
                    "Key": {"sessionId": {"S": listener.session_id}},
                    "UpdateExpression": "SET listenerCount = listenerCount - :one",
                    "ConditionExpression": "listenerCount > :zero",
                    "ExpressionAttributeValues": {":one": {"N": "1"}, ":zero": {"N": "0"}},
                }
            },
        }
        try:
            write_transaction(self.client, items)
        except ClientError as exc:
            failed = failed_conditions(exc, items)
            if "listener" in failed:
                return False
            if "session" in failed:
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

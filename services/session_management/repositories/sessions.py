"""The Sessions table: one item per session, created together with its speaker's connection row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from session_management.repositories.errors import cancellation_codes, dynamodb_errors, error_code


class SessionIdTaken(Exception):
    """The generated id exists already; the caller draws another."""


class ConnectionAlreadyRegistered(Exception):
    """A repeated $connect for a connection that already created its session."""


@dataclass(frozen=True)
class Session:
    session_id: str
    speaker_connection_id: str
    speaker_user_id: str
    source_language: str
    quality_tier: str
    created_at_ms: int
    expires_at_ms: int
    ttl_epoch_seconds: int
    is_active: bool = True
    listener_count: int = 0

    def to_item(self) -> dict[str, Any]:
        return {
            "sessionId": {"S": self.session_id},
            "speakerConnectionId": {"S": self.speaker_connection_id},
            "speakerUserId": {"S": self.speaker_user_id},
            "sourceLanguage": {"S": self.source_language},
            "qualityTier": {"S": self.quality_tier},
            "createdAt": {"N": str(self.created_at_ms)},
            "sessionExpiresAt": {"N": str(self.expires_at_ms)},
            "expiresAt": {"N": str(self.ttl_epoch_seconds)},
            "isActive": {"BOOL": self.is_active},
            "listenerCount": {"N": str(self.listener_count)},
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Session:
        return cls(
            session_id=item["sessionId"]["S"],
            speaker_connection_id=item["speakerConnectionId"]["S"],
            speaker_user_id=item["speakerUserId"]["S"],
            source_language=item["sourceLanguage"]["S"],
            quality_tier=item["qualityTier"]["S"],
            created_at_ms=int(item["createdAt"]["N"]),
            expires_at_ms=int(item["sessionExpiresAt"]["N"]),
            ttl_epoch_seconds=int(item["expiresAt"]["N"]),
            is_active=bool(item["isActive"]["BOOL"]),
            listener_count=int(item["listenerCount"]["N"]),
        )


class SessionRepository:
    def __init__(self, client: Any, sessions_table: str, connections_table: str) -> None:
        self.client = client
        self.sessions_table = sessions_table
        self.connections_table = connections_table

    def create(self, session: Session, speaker_row: dict[str, Any]) -> None:
        """Session and speaker connection row in one transaction: neither exists without the other."""
        try:
            with dynamodb_errors():
                self.client.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": self.sessions_table,
                                "Item": session.to_item(),
                                "ConditionExpression": "attribute_not_exists(sessionId)",
                            }
                        },
                        {
                            "Put": {
                                "TableName": self.connections_table,
                                "Item": speaker_row,
                                "ConditionExpression": "attribute_not_exists(connectionId)",
                            }
                        },
                    ]
                )
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            codes = cancellation_codes(exc)
            if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                raise ConnectionAlreadyRegistered from exc
            if codes and codes[0] == "ConditionalCheckFailed":
                raise SessionIdTaken from exc
            raise

    def get(self, session_id: str) -> Session | None:
        with dynamodb_errors():
            item = self.client.get_item(
                TableName=self.sessions_table, Key={"sessionId": {"S": session_id}}, ConsistentRead=True
            ).get("Item")
        return Session.from_item(item) if item else None

    def end(self, session_id: str, speaker_connection_id: str, reason: str, ended_at_ms: int) -> bool:
        """Mark the session ended if this connection is still its speaker; False if it was not (or already ended)."""
        try:
            with dynamodb_errors():
                self.client.update_item(
                    TableName=self.sessions_table,
                    Key={"sessionId": {"S": session_id}},
                    UpdateExpression="SET isActive = :false, endedAt = :now, endReason = :reason",
                    ConditionExpression="speakerConnectionId = :connection AND isActive = :true",
                    ExpressionAttributeValues={
                        ":false": {"BOOL": False},
                        ":true": {"BOOL": True},
                        ":now": {"N": str(ended_at_ms)},
                        ":reason": {"S": reason},
                        ":connection": {"S": speaker_connection_id},
                    },
                )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

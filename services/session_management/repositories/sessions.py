"""The Sessions table: one item per session, created together with its speaker's connection row.

The speaker's connection is swapped, marked disconnected and the session ended only under
conditions on `speakerConnectionId`, so a stale connection (an old one closing after a refresh)
can never end a session or steal it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from session_management import resource_names as names
from session_management.repositories.connections import Connection
from session_management.repositories.errors import dynamodb_errors
from session_management.repositories.pagination import all_items
from session_management.repositories.writes import condition_held, failed_conditions, write_transaction

ACTIVE_SESSIONS_KEY = "activeSessions"


def speaker_active_sessions_key(user_id: str) -> str:
    return f"{ACTIVE_SESSIONS_KEY}#user:{user_id}"


SESSIONS_BY_SPEAKER_INDEX = names.SESSIONS_BY_SPEAKER_INDEX


class SessionIdTaken(Exception):
    """The generated id exists already; the caller draws another."""


class ConnectionAlreadyRegistered(Exception):
    """A repeated $connect for a connection that already created its session."""


class TooManyActiveSessionsForSpeaker(Exception):
    """The speaker already holds maxActiveSessionsPerSpeaker active sessions."""


class TooManyActiveSessions(Exception):
    """maxActiveSessions sessions are active."""


class NotTheSpeaker(Exception):
    """The session is not active, or belongs to another user or connection."""


@dataclass(frozen=True)
class BroadcastState:
    is_paused: bool = False
    is_muted: bool = False
    volume: float = 1.0

    def to_message(self) -> dict[str, Any]:
        return {"isPaused": self.is_paused, "isMuted": self.is_muted, "volume": self.volume}

    def to_attribute(self) -> dict[str, Any]:
        return {
            "M": {
                "isPaused": {"BOOL": self.is_paused},
                "isMuted": {"BOOL": self.is_muted},
                "volume": {"N": repr(self.volume)},
            }
        }

    @classmethod
    def from_attribute(cls, value: dict[str, Any] | None) -> BroadcastState:
        if not value:
            return cls()
        fields = value["M"]
        return cls(fields["isPaused"]["BOOL"], fields["isMuted"]["BOOL"], float(fields["volume"]["N"]))


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
    management_endpoint: str = ""
    is_active: bool = True
    listener_count: int = 0
    broadcast_state: BroadcastState = field(default_factory=BroadcastState)
    speaker_disconnected_at_ms: int | None = None
    end_reason: str | None = None
    # False until the speaker has its sessionCreated (delivered asynchronously after a handshake):
    # nothing else may reach the speaker first.
    created_delivered: bool = True

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "sessionId": {"S": self.session_id},
            "speakerConnectionId": {"S": self.speaker_connection_id},
            "speakerUserId": {"S": self.speaker_user_id},
            "sourceLanguage": {"S": self.source_language},
            "qualityTier": {"S": self.quality_tier},
            "createdAt": {"N": str(self.created_at_ms)},
            "sessionExpiresAt": {"N": str(self.expires_at_ms)},
            "expiresAt": {"N": str(self.ttl_epoch_seconds)},
            "managementEndpoint": {"S": self.management_endpoint},
            "isActive": {"BOOL": self.is_active},
            "listenerCount": {"N": str(self.listener_count)},
            "broadcastState": self.broadcast_state.to_attribute(),
            "sessionCreatedDelivered": {"BOOL": self.created_delivered},
        }
        if self.speaker_disconnected_at_ms is not None:
            item["speakerDisconnectedAt"] = {"N": str(self.speaker_disconnected_at_ms)}
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Session:
        disconnected = item.get("speakerDisconnectedAt", {}).get("N")
        return cls(
            session_id=item["sessionId"]["S"],
            speaker_connection_id=item["speakerConnectionId"]["S"],
            speaker_user_id=item["speakerUserId"]["S"],
            source_language=item["sourceLanguage"]["S"],
            quality_tier=item["qualityTier"]["S"],
            created_at_ms=int(item["createdAt"]["N"]),
            expires_at_ms=int(item["sessionExpiresAt"]["N"]),
            ttl_epoch_seconds=int(item["expiresAt"]["N"]),
            management_endpoint=item.get("managementEndpoint", {}).get("S", ""),
            is_active=bool(item["isActive"]["BOOL"]),
            listener_count=int(item["listenerCount"]["N"]),
            broadcast_state=BroadcastState.from_attribute(item.get("broadcastState")),
            speaker_disconnected_at_ms=int(disconnected) if disconnected else None,
            end_reason=item.get("endReason", {}).get("S"),
            created_delivered=bool(item.get("sessionCreatedDelivered", {}).get("BOOL", True)),
        )


class SessionRepository:
    def __init__(self, client: Any, sessions_table: str, connections_table: str, rate_limits_table: str = "") -> None:
        self.client = client
        self.sessions_table = sessions_table
        self.connections_table = connections_table
        self.rate_limits_table = rate_limits_table

    def _active_counter(
        self, delta: int, max_active: int | None = None, key: str = ACTIVE_SESSIONS_KEY
    ) -> dict[str, Any]:
        update: dict[str, Any] = {
            "TableName": self.rate_limits_table,
            "Key": {"identifier": {"S": key}},
            "UpdateExpression": "ADD #count :delta",
            "ExpressionAttributeNames": {"#count": "count"},
            "ExpressionAttributeValues": {":delta": {"N": str(delta)}},
        }
        if max_active is not None:
            update["ConditionExpression"] = "attribute_not_exists(#count) OR #count < :max"
            update["ExpressionAttributeValues"][":max"] = {"N": str(max_active)}
        else:
            update["ConditionExpression"] = "#count > :zero"
            update["ExpressionAttributeValues"][":zero"] = {"N": "0"}
        return {"Update": update}

    def create(
        self, session: Session, speaker: Connection | None, max_active: int, max_per_speaker: int | None = None
    ) -> None:
        """Session, speaker row and the active-session counts (all sessions, and the speaker's own) in
        one transaction. Without a speaker (created over HTTP) the session waits for its speaker."""
        items: dict[str, dict[str, Any]] = {
            "session": {
                "Put": {
                    "TableName": self.sessions_table,
                    "Item": session.to_item(),
                    "ConditionExpression": "attribute_not_exists(sessionId)",
                }
            }
        }
        if speaker is not None:
            items["speaker"] = self._put_connection(speaker)
        items["active_count"] = self._active_counter(+1, max_active)
        if max_per_speaker is not None:
            items["speaker_active_count"] = self._active_counter(
                +1, max_per_speaker, speaker_active_sessions_key(session.speaker_user_id)
            )
        try:
            write_transaction(self.client, items)
        except ClientError as exc:
            failed = failed_conditions(exc, items)
            if "speaker" in failed:
                raise ConnectionAlreadyRegistered from exc
            if "session" in failed:
                raise SessionIdTaken from exc
            if "active_count" in failed:
                raise TooManyActiveSessions from exc
            if "speaker_active_count" in failed:
                raise TooManyActiveSessionsForSpeaker from exc
            raise

    def _put_connection(self, connection: Connection) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.connections_table,
                "Item": connection.to_item(),
                "ConditionExpression": "attribute_not_exists(connectionId)",
            }
        }

    def get(self, session_id: str) -> Session | None:
        with dynamodb_errors():
            item = self.client.get_item(
                TableName=self.sessions_table, Key={"sessionId": {"S": session_id}}, ConsistentRead=True
            ).get("Item")
        return Session.from_item(item) if item else None

    def active(self) -> list[Session]:
        """Every active session (the periodic job's worklist; at most maxActiveSessions of them)."""
        with dynamodb_errors():
            items = all_items(
                self.client.scan,
                TableName=self.sessions_table,
                FilterExpression="isActive = :true",
                ExpressionAttributeValues={":true": {"BOOL": True}},
                ConsistentRead=True,
            )
            return [Session.from_item(item) for item in items]

    def end(
        self, session_id: str, speaker_connection_id: str, reason: str, ended_at_ms: int, speaker_user_id: str = ""
    ) -> bool:
        """End the session if this connection is still its speaker; False if it was not (or already
        ended). Its slots (all sessions', and its speaker's) are released in the same transaction,
        so each is released exactly once."""
        items = {
            "session": {
                "Update": {
                    "TableName": self.sessions_table,
                    "Key": {"sessionId": {"S": session_id}},
                    "UpdateExpression": "SET isActive = :false, endedAt = :now, endReason = :reason",
                    "ConditionExpression": "speakerConnectionId = :connection AND isActive = :true",
                    "ExpressionAttributeValues": {
                        ":false": {"BOOL": False},
                        ":true": {"BOOL": True},
                        ":now": {"N": str(ended_at_ms)},
                        ":reason": {"S": reason},
                        ":connection": {"S": speaker_connection_id},
                    },
                }
            },
            "active_count": self._active_counter(-1),
        }
        if speaker_user_id:
            items["speaker_active_count"] = self._active_counter(-1, key=speaker_active_sessions_key(speaker_user_id))
        try:
            write_transaction(self.client, items)
        except ClientError as exc:
            failed = failed_conditions(exc, items)
            if "session" in failed:
                return False
            if failed & {"active_count", "speaker_active_count"}:  # a counter already at 0: never below it
                kept = {name: item for name, item in items.items() if name not in failed}
                write_transaction(self.client, kept)
                return True
            raise
        return True

    def active_sessions_counted(self) -> int:
        """The active-session counter as it stands (what creation checks against maxActiveSessions)."""
        with dynamodb_errors():
            item = self.client.get_item(
                TableName=self.rate_limits_table, Key={"identifier": {"S": ACTIVE_SESSIONS_KEY}}, ConsistentRead=True
            ).get("Item")
        return int(item["count"]["N"]) if item and "count" in item else 0

    def correct_active_sessions(self, observed: int, actual: int) -> bool:
        """Set the counter to the number of sessions really active, if nobody moved it since it read
        `observed` (the periodic job's repair of a slot that leaked)."""
        return condition_held(
            lambda: self.client.update_item(
                TableName=self.rate_limits_table,
                Key={"identifier": {"S": ACTIVE_SESSIONS_KEY}},
                UpdateExpression="SET #count = :actual",
                ConditionExpression="(attribute_not_exists(#count) AND :observed = :zero) OR #count = :observed",
                ExpressionAttributeNames={"#count": "count"},
                ExpressionAttributeValues={
                    ":actual": {"N": str(actual)},
                    ":observed": {"N": str(observed)},
                    ":zero": {"N": "0"},
                },
            )
        )

    def mark_speaker_disconnected(self, session_id: str, speaker_connection_id: str, at_ms: int) -> bool:
        """Start the reconnect grace window; only the current speaker connection can start it."""
        return self._conditional_update(
            session_id,
            "SET speakerDisconnectedAt = :at",
            "speakerConnectionId = :connection AND isActive = :true",
            {":at": {"N": str(at_ms)}, ":connection": {"S": speaker_connection_id}, ":true": {"BOOL": True}},
        )

    def swap_speaker(self, session_id: str, user_id: str, speaker: Connection, endpoint: str) -> Session:
        """Make a new connection of the same user the session's speaker, atomically with its row.
        Broadcasts go out where the speaker is connected (a session created over HTTP has no
        endpoint until then)."""
        items = {
            "session": {
                "Update": {
                    "TableName": self.sessions_table,
                    "Key": {"sessionId": {"S": session_id}},
                    "UpdateExpression": "SET speakerConnectionId = :new, managementEndpoint = :endpoint "
                    "REMOVE speakerDisconnectedAt",
                    "ConditionExpression": "speakerUserId = :user AND isActive = :true",
                    "ExpressionAttributeValues": {
                        ":new": {"S": speaker.connection_id},
                        ":endpoint": {"S": endpoint},
                        ":user": {"S": user_id},
                        ":true": {"BOOL": True},
                    },
                }
            },
            "speaker": self._put_connection(speaker),
        }
        try:
            write_transaction(self.client, items)
        except ClientError as exc:
            failed = failed_conditions(exc, items)
            if "session" in failed:
                raise NotTheSpeaker(session_id) from exc
            if "speaker" not in failed:  # a repeated refresh of the same connection is fine
                raise
        session = self.get(session_id)
        if session is None:
            raise NotTheSpeaker(session_id)
        return session

    def by_speaker(
        self, user_id: str, limit: int, start_key: dict[str, Any] | None = None
    ) -> tuple[list[Session], dict[str, Any] | None]:
        """A speaker's sessions, newest first, a page at a time (the HTTP API's `GET /sessions`)."""
        kwargs: dict[str, Any] = {
            "TableName": self.sessions_table,
            "IndexName": SESSIONS_BY_SPEAKER_INDEX,
            "KeyConditionExpression": "speakerUserId = :user",
            "ExpressionAttributeValues": {":user": {"S": user_id}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        with dynamodb_errors():
            page = self.client.query(**kwargs)
        return [Session.from_item(item) for item in page.get("Items", [])], page.get("LastEvaluatedKey")

    def set_quality_tier(self, session_id: str, user_id: str, quality_tier: str) -> bool:
        """Only the owner, and only while the session is active."""
        return self._conditional_update(
            session_id,
            "SET qualityTier = :tier",
            "speakerUserId = :user AND isActive = :true",
            {":tier": {"S": quality_tier}, ":user": {"S": user_id}, ":true": {"BOOL": True}},
        )

    def delete(self, session_id: str, user_id: str) -> bool:
        """Remove an ended session's record; an active one must be ended first (its count)."""
        return condition_held(
            lambda: self.client.delete_item(
                TableName=self.sessions_table,
                Key={"sessionId": {"S": session_id}},
                ConditionExpression="speakerUserId = :user AND isActive = :false",
                ExpressionAttributeValues={":user": {"S": user_id}, ":false": {"BOOL": False}},
            )
        )

    def mark_created_delivered(self, session_id: str) -> None:
        self._conditional_update(
            session_id,
            "SET sessionCreatedDelivered = :true",
            "attribute_exists(sessionId)",
            {":true": {"BOOL": True}},
        )

    def set_broadcast_state(self, session_id: str, speaker_connection_id: str, state: BroadcastState) -> bool:
        return self._conditional_update(
            session_id,
            "SET broadcastState = :state",
            "speakerConnectionId = :connection AND isActive = :true",
            {":state": state.to_attribute(), ":connection": {"S": speaker_connection_id}, ":true": {"BOOL": True}},
        )

    def _conditional_update(self, session_id: str, update: str, condition: str, values: dict[str, Any]) -> bool:
        return condition_held(
            lambda: self.client.update_item(
                TableName=self.sessions_table,
                Key={"sessionId": {"S": session_id}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        )

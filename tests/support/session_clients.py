"""Speakers and listeners by handshake: how every stack suite opens a session and joins one.

`source_ip` (a 127.0.0.x address) lets a test speak from an address of its own, so per-address
abuse limits of one test never reach another."""

from __future__ import annotations

from typing import Any

from tests.support.websocket_client import Client


def connect_speaker(stack: dict[str, Any], token: str, source_ip: str | None = None, **params: str) -> Client:
    """A speaker's `createSession` handshake; its first frame, sessionCreated, is still unread."""
    query = {"action": "createSession", "sourceLanguage": "en", "qualityTier": "standard", "token": token, **params}
    return Client.connect(stack["websocketUrl"], source_ip=source_ip, **query)


def create_session(
    stack: dict[str, Any], token: str, source_ip: str | None = None, **params: str
) -> tuple[Client, dict[str, Any]]:
    """A connected speaker and its sessionCreated frame, which must be the speaker's first frame."""
    speaker = connect_speaker(stack, token, source_ip, **params)
    created = speaker.receive_type("sessionCreated", timeout=15)
    return speaker, created


def join(stack: dict[str, Any], session_id: str, language: str, source_ip: str | None = None) -> Client:
    """A listener's `joinSession` handshake."""
    return Client.connect(
        stack["websocketUrl"], source_ip=source_ip, action="joinSession", sessionId=session_id, targetLanguage=language
    )


def refresh_connection(
    stack: dict[str, Any], session_id: str, role: str, source_ip: str | None = None, **params: str
) -> Client:
    """A `refreshConnection` handshake: a new connection taking over (a speaker's `token`, or a
    listener's `targetLanguage` and `previousConnectionId`, in `params`)."""
    return Client.connect(
        stack["websocketUrl"],
        source_ip=source_ip,
        action="refreshConnection",
        sessionId=session_id,
        role=role,
        **params,
    )

"""Attacks on speaker authentication: each is refused with 401 at the handshake and creates nothing.

Tokens are forged with the local pool's own private key where an attack needs "signed by the
pool but wrong in one way" (tests/support/tokens.py)."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from typing import Any

import pytest

from stage_access import tokens as stage_tokens
from tests.support import tokens
from tests.support.waiting import wait_until
from tests.support.websocket_client import Client, HandshakeRefused

CREATE = {"action": "createSession", "sourceLanguage": "en", "qualityTier": "standard"}
NOW = int(time.time())

ATTACKS: dict[str, Callable[[dict[str, Any]], str]] = {
    "alg-none": tokens.unsigned,
    "hs256-signed-with-the-public-key": tokens.hs256_with_public_key,
    "unknown-kid": tokens.unknown_kid,
    "token-of-another-pool": tokens.from_another_pool,
    "expired": lambda s: tokens.signed_by_pool(s, iat=NOW - 7200, exp=NOW - 3600),
    "not-yet-valid": lambda s: tokens.signed_by_pool(s, nbf=int(time.time()) + 3600),
    "wrong-issuer": lambda s: tokens.signed_by_pool(
        s, iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"
    ),
    "wrong-audience": lambda s: tokens.signed_by_pool(s, aud="another-app-client"),
    "access-token-not-id-token": lambda s: tokens.access_token(s, "attacks-access-token-user"),
    "forged-access-token-use": lambda s: tokens.signed_by_pool(s, token_use="access"),
    "tampered-payload": lambda s: tokens.tampered(
        stage_tokens.speaker_token(s, "attacks-honest-user"), sub="someone-else"
    ),
    "oversized": lambda s: tokens.signed_by_pool(s, padding="x" * 6_500),
    "missing-sub": lambda s: tokens.signed_by_pool(s, sub=None),
    "garbage": lambda s: "not.a.jwt",
}


def _sessions_count(dynamodb: Any, tables: dict[str, str]) -> int:
    return int(dynamodb.scan(TableName=tables["sessions"], Select="COUNT", ConsistentRead=True)["Count"])


def _refused(stack: dict[str, Any], headers: dict[str, str] | None = None, **query: str) -> HandshakeRefused:
    with pytest.raises(HandshakeRefused) as refused:
        Client.connect(stack["websocketUrl"], header=headers, **query).close()
    return refused.value


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_attack_is_refused_401_and_creates_nothing(stack, dynamodb, tables, attack):
    token = ATTACKS[attack](stack)
    before = _sessions_count(dynamodb, tables)
    if attack == "oversized":  # in the query it would pass 4,096 URL characters (414): the header form
        refused = _refused(stack, headers={"Authorization": token}, **CREATE)
    else:
        refused = _refused(stack, **CREATE, token=token)
    assert refused.status == 401
    assert "Unauthorized" in refused.body
    assert token not in refused.body
    assert _sessions_count(dynamodb, tables) == before


def test_a_token_that_makes_the_url_longer_than_4096_characters_is_refused_414_without_echo(stack, dynamodb, tables):
    token = tokens.signed_by_pool(stack, padding="x" * 6_500)
    before = _sessions_count(dynamodb, tables)
    refused = _refused(stack, **CREATE, token=token)
    assert refused.status == 414 and token not in refused.body
    assert _sessions_count(dynamodb, tables) == before


def test_a_request_over_api_gateways_10_kb_quota_is_refused_without_echo(stack, dynamodb, tables):
    token = tokens.signed_by_pool(stack, padding="x" * 20_000)
    before = _sessions_count(dynamodb, tables)
    refused = _refused(stack, **CREATE, token=token)
    assert refused.status == 431
    assert token[:40] not in refused.body and "eyJ" not in refused.body
    assert _sessions_count(dynamodb, tables) == before


def test_a_token_in_the_header_and_a_different_one_in_the_query_is_refused(stack):
    header_token = stage_tokens.speaker_token(stack, "attacks-header-user")
    query_token = stage_tokens.speaker_token(stack, "attacks-query-user")
    refused = _refused(stack, {"Authorization": f"Bearer {header_token}"}, **CREATE, token=query_token)
    assert refused.status == 401


def test_the_same_token_in_header_and_query_or_the_header_alone_is_accepted(stack):
    token = stage_tokens.speaker_token(stack, "attacks-header-only")
    for query in ({**CREATE, "token": token}, CREATE):
        with Client.connect(stack["websocketUrl"], header={"Authorization": f"Bearer {token}"}, **query) as speaker:
            assert speaker.receive_type("sessionCreated", timeout=15)["sessionId"]


def test_rotated_keys_are_fetched_and_the_previous_key_still_verifies(stack):
    """Cognito publishes the current and the previous key; the authorizer refetches on a new kid."""
    import psutil

    before_rotation = stage_tokens.speaker_token(stack, "attacks-rotation-user")
    keys_file = stack["cognito"]["signingKeysFile"]
    [cognito] = [p for p in psutil.process_iter(["cmdline"]) if keys_file in " ".join(p.info["cmdline"] or [])]
    old_kids = tokens.published_kids(stack)
    cognito.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 10
    while tokens.published_kids(stack) == old_kids and time.monotonic() < deadline:
        time.sleep(0.1)
    new_kids = tokens.published_kids(stack)
    assert new_kids != old_kids and old_kids[-1] in new_kids
    after_rotation = stage_tokens.speaker_token(stack, "attacks-rotation-user")
    # The authorizer refetches the JWKS for the new kid after its refetch cooldown (5 s) at most.
    speaker = wait_until(lambda: _created(stack, after_rotation), 15, 0.5)
    speaker.close()
    with Client.connect(stack["websocketUrl"], **CREATE, token=before_rotation) as previous:
        assert previous.receive_type("sessionCreated", timeout=15)["sessionId"]


def _created(stack: dict[str, Any], token: str) -> Client | None:
    try:
        speaker = Client.connect(stack["websocketUrl"], **CREATE, token=token)
    except HandshakeRefused as refused:
        assert refused.status == 401
        return None
    speaker.receive_type("sessionCreated", timeout=15)
    return speaker

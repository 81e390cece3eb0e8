"""Sessions at their 500-listener cap, on a stack of their own.

The lifecycle stack closes connections at the e2e stage's scaled 18 s limit; 500 handshakes on a
loaded two-core machine take longer than that, so the first listeners would be gone before the
last one joined. This stack keeps API Gateway's real 2-hour limit and the e2e template: what is
under test is the cap, the refresh takeover and the per-address bounds at full size. Its clients
and token come from conftest.py, per module.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.support.session_clients import create_session, join, refresh_connection
from tests.support.stack_state import listener_count, listener_rows
from tests.support.stacks import started_e2e_stack
from tests.support.waiting import wait_until
from tests.support.websocket_client import Client, HandshakeRefused

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with started_e2e_stack(tmp_path_factory.mktemp("scale-stack"), lambda_concurrency=6) as started:
        yield started


def test_500_listeners_through_a_full_refresh_cycle(stack, token, ip, dynamodb, tables):
    speaker, created = create_session(stack, token, source_ip=ip)
    session_id = created["sessionId"]
    languages = ("es", "fr", "de", "ja", "pt")
    with ThreadPoolExecutor(max_workers=48) as pool:
        listeners = list(pool.map(lambda i: join(stack, session_id, languages[i % 5], ip), range(500)))
        assert listener_count(dynamodb, tables, session_id) == 500
        rows = dynamodb.query(
            TableName=tables["connections"],
            IndexName="sessionId-targetLanguage-index",
            KeyConditionExpression="sessionId = :s",
            ExpressionAttributeValues={":s": {"S": session_id}},
            Select="COUNT",
        )
        assert rows["Count"] == 500
        ids = _all_connection_ids(dynamodb, tables, session_id)

        def refresh(pair: tuple[str, str]) -> Client:
            previous, language = pair
            client = refresh_connection(
                stack, session_id, "listener", ip, targetLanguage=language, previousConnectionId=previous
            )
            client.wait_for("connectionRefreshComplete")
            return client

        replacements = list(pool.map(refresh, ids))
        for old in listeners:
            old.close()
        wait_until(lambda: listener_count(dynamodb, tables, session_id) == 500, timeout=60)
        assert len(_all_connection_ids(dynamodb, tables, session_id)) == 500
        for client in replacements:
            client.close()
    speaker.close()
    wait_until(lambda: listener_count(dynamodb, tables, session_id) == 0, timeout=60)


def _all_connection_ids(dynamodb: Any, tables: dict[str, str], session_id: str) -> list[tuple[str, str]]:
    return [(i["connectionId"]["S"], i["targetLanguage"]["S"]) for i in listener_rows(dynamodb, tables, session_id)]


def test_a_lecture_hall_behind_one_address_gets_in_but_enumeration_is_stopped(stack, token, ip, dynamodb, tables):
    speaker, created = create_session(stack, token, source_ip="127.0.0.1")
    with speaker, ThreadPoolExecutor(max_workers=48) as pool:
        hall = list(pool.map(lambda _: join(stack, created["sessionId"], "es", ip), range(500)))
        assert listener_count(dynamodb, tables, created["sessionId"]) == 500
        statuses = []
        for guess in range(100, 115):  # an enumerator guessing ids from the same address
            try:
                join(stack, f"golden-eagle-{guess}", "es", ip).close()
                statuses.append(101)
            except HandshakeRefused as refused:
                statuses.append(refused.status)
        assert statuses[:10] == [404] * 10
        assert set(statuses[10:]) == {429}
        with pytest.raises(HandshakeRefused) as blocked:  # blocked for the window, even for a real session
            join(stack, created["sessionId"], "es", ip)
        assert blocked.value.status == 429 and json.loads(blocked.value.body)["retryAfter"] >= 1
        with pytest.raises(HandshakeRefused) as full:  # other addresses are not blocked: they meet the cap
            join(stack, created["sessionId"], "es", "127.0.0.1")
        assert full.value.status == 503 and json.loads(full.value.body)["code"] == "SESSION_FULL"
        for client in hall:
            client.close()

"""Message and body sizes are UTF-8 bytes, as API Gateway counts its 32 KB frame limit."""

from __future__ import annotations

import json

import pytest

from session_management.bodies import MAX_HTTP_BODY_BYTES, MAX_MESSAGE_BYTES, MessageBody, read_http_body
from session_management.errors import ErrorCode, ServiceError


def _heartbeat_of_bytes(size: int, filler: str) -> str:
    """A heartbeat whose requestId pads it to about `size` UTF-8 bytes with `filler`."""
    base = json.dumps({"action": "heartbeat", "requestId": ""}, ensure_ascii=False)
    count = (size - len(base.encode())) // len(filler.encode())
    return json.dumps({"action": "heartbeat", "requestId": filler * count}, ensure_ascii=False)


def test_a_message_of_11000_cjk_characters_is_too_large_though_it_has_fewer_than_32768_characters():
    raw = _heartbeat_of_bytes(33_000, "語")
    assert len(raw) < MAX_MESSAGE_BYTES < len(raw.encode())
    with pytest.raises(ServiceError) as refused:
        MessageBody.of(raw).message()
    assert refused.value.code is ErrorCode.INVALID_MESSAGE and refused.value.message == "Message too large"


def test_an_http_body_is_measured_in_bytes_too():
    raw = json.dumps({"title": "語" * (MAX_HTTP_BODY_BYTES // 3 + 1)}, ensure_ascii=False)
    assert len(raw) < MAX_HTTP_BODY_BYTES < len(raw.encode())
    with pytest.raises(ServiceError) as refused:
        read_http_body(raw, "http-create-session-request")
    assert refused.value.message == "Body too large"

"""Reading what clients send as JSON: a WebSocket message's body and an HTTP request's body.

Malformed JSON is always a contract error, never a crash; the contract schema is the final word.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from session_management import contracts
from session_management.errors import ErrorCode, ServiceError

# Sizes in UTF-8 bytes, as API Gateway counts its 32 KB frame limit (translated text is rarely ASCII).
MAX_MESSAGE_BYTES = 32 * 1024
MAX_HTTP_BODY_BYTES = 16 * 1024


def utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: str, what: str) -> Any:
    """`what` names the input in the error ("Message", "Body"). Python's parser accepts `NaN` and
    `Infinity`, which JSON (RFC 8259) does not and which the schema's bounds do not stop: they would
    be stored and broadcast as invalid JSON, so they are refused like any other non-JSON."""
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except ValueError:
        raise ServiceError(ErrorCode.INVALID_MESSAGE, f"{what} is not JSON") from None
    except RecursionError:  # a 32 KB frame can nest deeper than the parser's recursion limit
        raise ServiceError(ErrorCode.INVALID_MESSAGE, f"{what} is nested too deeply") from None


_UNPARSED = object()


@dataclass(frozen=True)
class MessageBody:
    """A message route's body, parsed once: the requestId a refusal echoes, and the message."""

    raw: str
    parsed: Any
    parse_error: ServiceError | None

    @classmethod
    def of(cls, raw: str | None) -> MessageBody:
        raw = raw or ""
        try:
            return cls(raw, parse_json(raw, "Message"), None)
        except ServiceError as error:
            return cls(raw, _UNPARSED, error)

    @property
    def request_id(self) -> str | None:
        """The requestId to echo, even when the message breaks its contract."""
        value = self.parsed.get("requestId") if isinstance(self.parsed, dict) else None
        return value if isinstance(value, str) and 0 < len(value) <= 128 else None

    def message(self) -> dict[str, Any]:
        """The body as a message valid against its inbound contract, or INVALID_MESSAGE."""
        if utf8_size(self.raw) > MAX_MESSAGE_BYTES:
            raise ServiceError(ErrorCode.INVALID_MESSAGE, "Message too large")
        if self.parse_error is not None:
            raise self.parse_error
        if not isinstance(self.parsed, dict):
            raise ServiceError(ErrorCode.INVALID_MESSAGE, "Message must be a JSON object")
        try:
            contracts.validate_inbound(self.parsed)
        except contracts.ContractViolation as exc:
            raise ServiceError(ErrorCode.INVALID_MESSAGE, f"Invalid message: {exc.reason}"[:1024]) from None
        return self.parsed


def read_http_body(raw: str | None, schema_name: str) -> dict[str, Any]:
    """An HTTP request's body, valid against its schema."""
    if not raw:
        raise ServiceError(ErrorCode.INVALID_MESSAGE, "A JSON body is required")
    if utf8_size(raw) > MAX_HTTP_BODY_BYTES:
        raise ServiceError(ErrorCode.INVALID_MESSAGE, "Body too large")
    body = parse_json(raw, "Body")
    try:
        contracts.validate(schema_name, body)
    except contracts.ContractViolation as exc:
        parameter = (exc.path or "body")[:64]
        raise ServiceError(
            ErrorCode.INVALID_PARAMETER, f"Invalid body: {exc.reason}"[:1024], parameter=parameter
        ) from None
    if not isinstance(body, dict):
        raise ServiceError(ErrorCode.INVALID_MESSAGE, "Body must be a JSON object")
    return body

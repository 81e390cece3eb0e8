"""Typed requests to create, join and refresh, read from the `$connect` query string or from a
message (the same fields under another schema), with the error each mistake earns.

Checks run in the order a client would fix them (missing, then malformed, then unsupported),
and the contract schema is the final word, so nothing it rejects gets through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from session_management import contracts, languages
from session_management.errors import ErrorCode, ServiceError
from session_management.session_ids import is_session_id

QUALITY_TIERS = ("standard", "premium")


@dataclass(frozen=True)
class CreateSessionRequest:
    source_language: str
    quality_tier: str


@dataclass(frozen=True)
class JoinSessionRequest:
    session_id: str
    target_language: str


@dataclass(frozen=True)
class RefreshRequest:
    session_id: str
    role: str
    target_language: str | None = None
    previous_connection_id: str | None = None


CREATE_QUERY = "connect-create-session-query"
JOIN_QUERY = "connect-join-session-query"
REFRESH_QUERY = "connect-refresh-connection-query"


def _required(query: Mapping[str, object], name: str) -> str:
    value = query.get(name)
    if not value or not isinstance(value, str):
        raise ServiceError(ErrorCode.INVALID_PARAMETER, f"Missing required parameter: {name}", parameter=name)
    return value


def _no_unknown(query: Mapping[str, object], schema_name: str) -> None:
    allowed = set(contracts.schema(schema_name)["properties"])
    for name in sorted(set(query) - allowed):
        raise ServiceError(ErrorCode.INVALID_PARAMETER, f"Unknown parameter: {name[:64]}", parameter=name[:64])


def _final_check(schema_name: str, query: Mapping[str, object]) -> None:
    try:
        contracts.validate(schema_name, dict(query))
    except contracts.ContractViolation as exc:
        parameter = (exc.path or "query")[:64]
        raise ServiceError(
            ErrorCode.INVALID_PARAMETER, f"Invalid parameter: {parameter}", parameter=parameter
        ) from None


def language_code(value: str, parameter: str) -> str:
    if not languages.is_language_code(value):
        raise ServiceError(
            ErrorCode.INVALID_LANGUAGE, f"{parameter} must be an ISO 639-1 code such as 'en'", parameter=parameter
        )
    return value


def parse_create(query: Mapping[str, object], schema_name: str = CREATE_QUERY) -> CreateSessionRequest:
    source_language = language_code(_required(query, "sourceLanguage"), "sourceLanguage")
    quality_tier = _required(query, "qualityTier")
    if quality_tier not in QUALITY_TIERS:
        raise ServiceError(
            ErrorCode.INVALID_PARAMETER, "qualityTier must be 'standard' or 'premium'", parameter="qualityTier"
        )
    _no_unknown(query, schema_name)
    _final_check(schema_name, query)
    return CreateSessionRequest(source_language, quality_tier)


def _session_id(query: Mapping[str, object]) -> str:
    session_id = _required(query, "sessionId")
    if not is_session_id(session_id):
        raise ServiceError(
            ErrorCode.INVALID_SESSION_ID, "sessionId must look like 'golden-eagle-427'", parameter="sessionId"
        )
    return session_id


def target_language(value: str) -> str:
    language_code(value, "targetLanguage")
    if not languages.is_supported_target(value):
        raise ServiceError(
            ErrorCode.UNSUPPORTED_LANGUAGE, f"Translation into '{value}' is not available", parameter="targetLanguage"
        )
    return value


def parse_refresh(query: Mapping[str, object], schema_name: str = REFRESH_QUERY) -> RefreshRequest:
    session_id = _session_id(query)
    role = _required(query, "role")
    if role not in ("speaker", "listener"):
        raise ServiceError(ErrorCode.INVALID_PARAMETER, "role must be 'speaker' or 'listener'", parameter="role")
    language = previous = None
    if role == "listener":
        language = target_language(_required(query, "targetLanguage"))
        previous = _required(query, "previousConnectionId")
    _no_unknown(query, schema_name)
    _final_check(schema_name, query)
    return RefreshRequest(session_id, role, language, previous)


def parse_join(query: Mapping[str, object], schema_name: str = JOIN_QUERY) -> JoinSessionRequest:
    session_id = _session_id(query)
    language = target_language(_required(query, "targetLanguage"))
    _no_unknown(query, schema_name)
    _final_check(schema_name, query)
    return JoinSessionRequest(session_id, language)

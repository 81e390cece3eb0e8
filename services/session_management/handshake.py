"""Reading the `$connect` query string into a typed request, with the error each mistake earns.

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


def _required(query: Mapping[str, str], name: str) -> str:
    value = query.get(name)
    if not value:
        raise ServiceError(ErrorCode.INVALID_PARAMETER, f"Missing required parameter: {name}", parameter=name)
    return value


def _no_unknown(query: Mapping[str, str], schema_name: str) -> None:
    allowed = set(contracts.schema(schema_name)["properties"])
    for name in sorted(set(query) - allowed):
        raise ServiceError(ErrorCode.INVALID_PARAMETER, f"Unknown parameter: {name[:64]}", parameter=name[:64])


def _final_check(schema_name: str, query: Mapping[str, str]) -> None:
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


def parse_create(query: Mapping[str, str]) -> CreateSessionRequest:
    source_language = language_code(_required(query, "sourceLanguage"), "sourceLanguage")
    quality_tier = _required(query, "qualityTier")
    if quality_tier not in QUALITY_TIERS:
        raise ServiceError(
            ErrorCode.INVALID_PARAMETER, "qualityTier must be 'standard' or 'premium'", parameter="qualityTier"
        )
    _no_unknown(query, "connect-create-session-query")
    _final_check("connect-create-session-query", query)
    return CreateSessionRequest(source_language, quality_tier)


def parse_join(query: Mapping[str, str]) -> JoinSessionRequest:
    session_id = _required(query, "sessionId")
    if not is_session_id(session_id):
        raise ServiceError(
            ErrorCode.INVALID_SESSION_ID, "sessionId must look like 'golden-eagle-427'", parameter="sessionId"
        )
    target_language = language_code(_required(query, "targetLanguage"), "targetLanguage")
    if not languages.is_supported_target(target_language):
        raise ServiceError(
            ErrorCode.UNSUPPORTED_LANGUAGE,
            f"Translation into '{target_language}' is not available",
            parameter="targetLanguage",
        )
    _no_unknown(query, "connect-join-session-query")
    _final_check("connect-join-session-query", query)
    return JoinSessionRequest(session_id, target_language)

from __future__ import annotations

import pytest

from session_management.errors import ErrorCode, ServiceError
from session_management.requests import parse_create, parse_join


def refused(parse, query) -> ServiceError:
    with pytest.raises(ServiceError) as error:
        parse(query)
    return error.value


def test_create_request_is_parsed():
    request = parse_create({"action": "createSession", "sourceLanguage": "en", "qualityTier": "premium", "token": "t"})
    assert (request.source_language, request.quality_tier) == ("en", "premium")


@pytest.mark.parametrize(
    ("query", "code", "parameter"),
    [
        (
            {"action": "createSession", "qualityTier": "standard", "token": "t"},
            ErrorCode.INVALID_PARAMETER,
            "sourceLanguage",
        ),
        (
            {"action": "createSession", "sourceLanguage": "english", "qualityTier": "standard", "token": "t"},
            ErrorCode.INVALID_LANGUAGE,
            "sourceLanguage",
        ),
        (
            {"action": "createSession", "sourceLanguage": "en", "qualityTier": "gold", "token": "t"},
            ErrorCode.INVALID_PARAMETER,
            "qualityTier",
        ),
        (
            {"action": "createSession", "sourceLanguage": "en", "qualityTier": "standard", "token": "t", "x": "1"},
            ErrorCode.INVALID_PARAMETER,
            "x",
        ),
    ],
)
def test_create_mistakes_get_their_codes(query, code, parameter):
    error = refused(parse_create, query)
    assert (error.code, error.parameter) == (code, parameter)
    assert error.code.http_status == 400


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"action": "joinSession", "targetLanguage": "es"}, ErrorCode.INVALID_PARAMETER),
        ({"action": "joinSession", "sessionId": "not-valid", "targetLanguage": "es"}, ErrorCode.INVALID_SESSION_ID),
        (
            {"action": "joinSession", "sessionId": "golden-eagle-427", "targetLanguage": "ES"},
            ErrorCode.INVALID_LANGUAGE,
        ),
        (
            {"action": "joinSession", "sessionId": "golden-eagle-427", "targetLanguage": "xx"},
            ErrorCode.UNSUPPORTED_LANGUAGE,
        ),
        (
            {"action": "joinSession", "sessionId": "a" * 70 + "-b-123", "targetLanguage": "es"},
            ErrorCode.INVALID_SESSION_ID,
        ),
    ],
)
def test_join_mistakes_get_their_codes(query, code):
    assert refused(parse_join, query).code == code


def test_error_statuses_match_the_contract():
    assert ErrorCode.SESSION_NOT_FOUND.http_status == 404
    assert ErrorCode.SESSION_FULL.http_status == 503
    assert ErrorCode.RATE_LIMITED.http_status == 429
    assert ErrorCode.UNAUTHORIZED.http_status == 401
    assert {code.http_status for code in ErrorCode} <= {400, 401, 403, 404, 409, 429, 500, 503}

"""One error contract for every refusal: a code, a message a person can act on, and where it
applies the HTTP status used at handshake time and a retry hint."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    SESSION_NOT_FOUND = "SESSION_NOT_FOUND"
    INVALID_SESSION_ID = "INVALID_SESSION_ID"
    UNSUPPORTED_LANGUAGE = "UNSUPPORTED_LANGUAGE"
    INVALID_LANGUAGE = "INVALID_LANGUAGE"
    INVALID_PARAMETER = "INVALID_PARAMETER"
    INVALID_MESSAGE = "INVALID_MESSAGE"
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    SESSION_FULL = "SESSION_FULL"
    RATE_LIMITED = "RATE_LIMITED"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    SESSION_ENDED = "SESSION_ENDED"

    @property
    def http_status(self) -> int:
        return _HTTP_STATUS[self]


_HTTP_STATUS = {
    ErrorCode.SESSION_NOT_FOUND: 404,
    ErrorCode.INVALID_SESSION_ID: 400,
    ErrorCode.UNSUPPORTED_LANGUAGE: 400,
    ErrorCode.INVALID_LANGUAGE: 400,
    ErrorCode.INVALID_PARAMETER: 400,
    ErrorCode.INVALID_MESSAGE: 400,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.SESSION_FULL: 503,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
    ErrorCode.INTERNAL_ERROR: 500,
    ErrorCode.SESSION_ENDED: 409,
}


class ServiceError(Exception):
    """A refusal the client is told about. Messages never echo tokens or internal details."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        parameter: str | None = None,
        session_id: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.parameter = parameter
        self.session_id = session_id
        self.retry_after = retry_after

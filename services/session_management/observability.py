"""Structured logs with correlation ids, and nothing in them that identifies a person or grants access.

Connection ids are hashed (they are bearer-like: anyone holding one can post to it through a
leaked management role); tokens, IP addresses and emails are never logged.
"""

from __future__ import annotations

import hashlib

from aws_lambda_powertools import Logger

from session_management import resource_names as names

logger = Logger(service=names.SERVICE_NAME)


def hash_id(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def log_unexpected(exc: BaseException) -> None:
    """Log an unexpected failure by type and innermost location only: messages and tracebacks can
    carry request data (tokens, ids), so neither goes to the log or the client."""
    tail = exc.__traceback__
    while tail is not None and tail.tb_next is not None:
        tail = tail.tb_next
    where = f"{tail.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tail.tb_lineno}" if tail else "?"
    extra = {"error": type(exc).__name__, "where": where}
    response = getattr(exc, "response", None)  # botocore's ClientError: the AWS error code is safe to log
    if isinstance(response, dict):
        extra["code"] = str(response.get("Error", {}).get("Code", ""))[:64]
        extra["operation"] = str(getattr(exc, "operation_name", ""))[:64]
    logger.error("unexpected error", extra=extra)

"""Parsing what clients send, so that malformed JSON is always a contract error, never a crash."""

from __future__ import annotations

import json
from typing import Any

from session_management.errors import ErrorCode, ServiceError


def parse_json(raw: str, what: str) -> Any:
    """`what` names the input in the error ("Message", "Body")."""
    try:
        return json.loads(raw)
    except ValueError:
        raise ServiceError(ErrorCode.INVALID_MESSAGE, f"{what} is not JSON") from None
    except RecursionError:  # a 32 KB frame can nest deeper than the parser's recursion limit
        raise ServiceError(ErrorCode.INVALID_MESSAGE, f"{what} is nested too deeply") from None

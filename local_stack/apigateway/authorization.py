"""The REQUEST authorizer protocol as API Gateway applies it on `$connect`.

Outcomes mirror AWS: a missing identity source is 401 without invoking the function; the
function raising `Unauthorized` is 401; a policy that denies, or does not allow, the method
ARN is 403; anything else that goes wrong is 500.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# API Gateway's quota on a Lambda authorizer's result (the policy and context together).
MAX_AUTHORIZER_RESULT_BYTES = 8 * 1024


@dataclass(frozen=True)
class AuthorizationDecision:
    status: int  # 200 when allowed
    context: dict[str, Any] | None = None
    reason: str = ""


def identity_present(source: str, headers: Mapping[str, str], query: Mapping[str, str] | None) -> bool:
    """Whether one identity source expression (route.request.header.X / querystring.X) has a value."""
    if source.startswith("route.request.header."):
        name = source.removeprefix("route.request.header.").lower()
        return any(k.lower() == name and v != "" for k, v in headers.items())
    if source.startswith("route.request.querystring."):
        name = source.removeprefix("route.request.querystring.")
        return bool(query) and bool((query or {}).get(name))
    # stageVariables.* and context.* are always available to API Gateway.
    return True


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statement_matches(statement: Mapping[str, Any], method_arn: str) -> bool:
    actions = [str(a) for a in _as_list(statement.get("Action", []))]
    if not any(fnmatch.fnmatchcase("execute-api:Invoke", a) for a in actions):
        return False
    resources = [str(r) for r in _as_list(statement.get("Resource", []))]
    return any(fnmatch.fnmatchcase(method_arn, r) for r in resources)


def evaluate(result: Any, method_arn: str) -> AuthorizationDecision:
    """Turn the authorizer's return value into the handshake outcome."""
    if not isinstance(result, Mapping) or "policyDocument" not in result or "principalId" not in result:
        return AuthorizationDecision(500, reason="authorizer returned no policy")
    statements = _as_list(result["policyDocument"].get("Statement", []))
    matching = [s for s in statements if isinstance(s, Mapping) and _statement_matches(s, method_arn)]
    if any(s.get("Effect") == "Deny" for s in matching):
        return AuthorizationDecision(403, reason="explicit deny")
    if not any(s.get("Effect") == "Allow" for s in matching):
        return AuthorizationDecision(403, reason="policy does not allow the method ARN")
    context: dict[str, Any] = {"principalId": str(result["principalId"])}
    raw_context = result.get("context") or {}
    if not isinstance(raw_context, Mapping) or any(
        value is None or isinstance(value, dict | list) for value in raw_context.values()
    ):
        # API Gateway: context values are strings, numbers or booleans; anything else is a 500.
        return AuthorizationDecision(500, reason="authorizer context must hold only strings, numbers and booleans")
    if len(json.dumps(result, default=str)) > MAX_AUTHORIZER_RESULT_BYTES:
        return AuthorizationDecision(500, reason="authorizer result over 8 KB")
    for key, value in raw_context.items():
        context[str(key)] = str(value).lower() if isinstance(value, bool) else str(value)
    return AuthorizationDecision(200, context=context)

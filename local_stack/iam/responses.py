"""IAM on the wire: which function's role signed a request, and AWS's answer when it may not act.

Each function signs with its role's access key (see `credentials.py`); anything else signed the
request as the account's admin (tests, people) and is not checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from aiohttp import web

from local_stack.iam.models import Role

_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/")

# A function's role and the function's name, as its access key identifies them.
Principal = tuple[Role, str]


def signing_principal(request: web.Request, principals: Mapping[str, Principal]) -> Principal | None:
    """The function whose role signed this request (SigV4 `Authorization`), or None for the admin."""
    match = _CREDENTIAL.search(request.headers.get("Authorization", ""))
    return principals.get(match.group(1)) if match else None


def not_authorized(principal: Principal, action: str, resource: str, status: int, error_type: str) -> web.Response:
    role, function_name = principal
    message = (
        f"User: arn:aws:sts::000000000000:assumed-role/{role.name}/{function_name} is not authorized to perform: "
        f"{action} on resource: {resource}"
    )
    return web.Response(
        status=status,
        text=json.dumps({"message": message, "Message": message}),
        content_type="application/json",
        headers={"x-amzn-ErrorType": error_type},
    )

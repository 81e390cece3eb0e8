"""IAM on the wire: who signed a request (see signatures.py), and AWS's answers when the signature
is refused or the signer may not act.

Each function signs with its role's access key and the stack's owner with the owner's key (see
`credentials.py`); a request signed with anything else, or not signed, is refused as AWS refuses it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from aiohttp import web

from local_stack.iam.models import Principal
from local_stack.iam.signatures import IssuedKey, SignatureRefused, authenticate


async def signer_of(
    request: web.Request, keys: Mapping[str, IssuedKey], service: str, region: str
) -> IssuedKey | SignatureRefused:
    """The issued key that signed `request`, or why its signature is refused."""
    try:
        return authenticate(
            request.method, request.raw_path, request.headers, await request.read(), keys, service, region
        )
    except SignatureRefused as refused:
        return refused


def rest_refusal(refused: SignatureRefused) -> web.Response:
    """How API Gateway (execute-api) and Lambda refuse a signature: 403, the code in `x-amzn-ErrorType`."""
    return web.Response(
        status=403,
        text=json.dumps({"message": refused.message}),
        content_type="application/json",
        headers={"x-amzn-ErrorType": f"{refused.code}Exception"},
    )


def json10_refusal(refused: SignatureRefused) -> web.Response:
    """How DynamoDB (JSON 1.0 protocol) refuses a signature: 400 and the code in `__type`."""
    body = {"__type": f"com.amazon.coral.service#{refused.code}Exception", "message": refused.message}
    return web.Response(status=400, text=json.dumps(body), content_type="application/x-amz-json-1.0")


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

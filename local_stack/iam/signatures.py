"""Signature Version 4, verified as AWS verifies it, with the keys this stack issued.

Every local AWS API (the `@connections` management API, the Lambda API, the DynamoDB proxy)
answers an unsigned request, a key it never issued and a signature that does not match as AWS
does, before any policy is looked at: nobody is the account's admin by default. The keys are the
stack's: one per function role (given to that function's workers) and one for the stack's owner
(local tools and tests read it from the state directory, 0600). The signature is recomputed with
botocore's own SigV4 signer over the request as it arrived (method, raw path and query, the
headers the client signed, the body), so client and stack can never disagree on canonical form.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local_stack.iam.models import Principal

# AWS refuses a request whose X-Amz-Date is more than 5 minutes from its own clock.
MAX_CLOCK_SKEW = timedelta(minutes=5)
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/\s,]+)/(?P<date>\d{8})/(?P<region>[^/\s,]+)/(?P<service>[^/\s,]+)"
    r"/aws4_request,\s*SignedHeaders=(?P<headers>[a-z0-9\-;]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


class SignatureRefused(Exception):
    """`code` is AWS's error code for why: MissingAuthenticationToken, IncompleteSignature,
    UnrecognizedClient or InvalidSignature; `message` is AWS's text for it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class IssuedKey:
    secret: str
    principal: Principal | None  # None: the stack's owner, who may do anything, as an account admin can


def _refuse(code: str) -> SignatureRefused:
    messages = {
        "MissingAuthenticationToken": "Missing Authentication Token",
        "IncompleteSignature": "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders'.",
        "UnrecognizedClient": "The security token included in the request is invalid.",
        "InvalidSignature": (
            "The request signature we calculated does not match the signature you provided. Check your AWS "
            "Secret Access Key and signing method. Consult the service documentation for details."
        ),
        "SignatureExpired": "Signature expired: the request's X-Amz-Date is more than 5 minutes from the server time.",
    }
    return SignatureRefused("InvalidSignature" if code == "SignatureExpired" else code, messages[code])


def authenticate(
    method: str,
    raw_path: str,
    headers: Mapping[str, str],
    body: bytes,
    keys: Mapping[str, IssuedKey],
    service: str,
    region: str,
    now: datetime | None = None,
) -> IssuedKey:
    """The issued key that signed this request, or SignatureRefused as AWS would refuse it."""
    authorization = headers.get("Authorization")
    amz_date = headers.get("X-Amz-Date")
    if not authorization:
        raise _refuse("MissingAuthenticationToken")
    match = _AUTHORIZATION.match(authorization.strip())
    if match is None or not amz_date:
        raise _refuse("IncompleteSignature")
    issued = keys.get(match["key"])
    if issued is None:
        raise _refuse("UnrecognizedClient")
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise _refuse("IncompleteSignature") from None
    if abs((now or datetime.now(UTC)) - signed_at) > MAX_CLOCK_SKEW:
        raise _refuse("SignatureExpired")
    if (match["date"], match["region"], match["service"]) != (amz_date[:8], region, service):
        raise _refuse("InvalidSignature")  # a key scoped to another day, region or service
    expected = _signature(
        method, raw_path, headers, body, match["headers"].split(";"), amz_date, issued, service, region
    )
    if not hmac.compare_digest(expected, match["signature"]):
        raise _refuse("InvalidSignature")
    return issued


def _signature(
    method: str,
    raw_path: str,
    headers: Mapping[str, str],
    body: bytes,
    signed_headers: list[str],
    amz_date: str,
    issued: IssuedKey,
    service: str,
    region: str,
) -> str:
    signed = {name: headers.get(name, "") for name in signed_headers}
    host = headers.get("Host", "")
    request = AWSRequest(method=method, url=f"http://{host}{raw_path}", data=body, headers=signed)
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials("", issued.secret), service, region)
    canonical = signer.canonical_request(request)
    return str(signer.signature(signer.string_to_sign(request, canonical), request))

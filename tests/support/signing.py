"""Signing a request with SigV4 exactly as an AWS SDK does (botocore's signer), for tests that speak
to the local AWS APIs over raw HTTP."""

from __future__ import annotations

from collections.abc import Mapping

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def sigv4_headers(
    method: str,
    url: str,
    body: bytes,
    key: str,
    secret: str,
    service: str,
    region: str = "us-east-1",
    headers: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """`headers` plus the signature headers over them, the URL and the body."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    SigV4Auth(Credentials(key, secret), service, region).add_auth(request)
    return dict(request.headers.items())

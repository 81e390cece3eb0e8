"""SigV4 verification against the stack's issued keys, as AWS verifies: every way a signature is
wrong is refused with AWS's code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from multidict import CIMultiDict

from local_stack.iam.signatures import SignatureRefused, authenticate
from tests.support.signing import sigv4_headers
from tests.unit.local_stack.fakes import OWNER_KEY, OWNER_SECRET, owner_keys

URL = "http://127.0.0.1:4566/prod/@connections/AbC%3D"
BODY = b'{"type": "sessionEnded"}'


def signed(**changes: str) -> CIMultiDict[str]:
    key, secret = changes.get("key", OWNER_KEY), changes.get("secret", OWNER_SECRET)
    headers = sigv4_headers(
        "POST", URL, BODY, key, secret, changes.get("service", "execute-api"), changes.get("region", "us-east-1")
    )
    return CIMultiDict({"Host": "127.0.0.1:4566", **headers})


def check(headers: CIMultiDict[str], body: bytes = BODY, path: str = "/prod/@connections/AbC%3D", now=None):
    return authenticate("POST", path, headers, body, owner_keys(), "execute-api", "us-east-1", now)


def refusal(**kwargs) -> str:
    with pytest.raises(SignatureRefused) as refused:
        check(**kwargs)
    return refused.value.code


def test_a_request_signed_with_an_issued_key_is_its_signer():
    assert check(signed()).principal is None  # the owner


def test_every_wrong_signature_is_refused_with_awss_code():
    assert refusal(headers=CIMultiDict({"Host": "127.0.0.1:4566"})) == "MissingAuthenticationToken"
    assert refusal(headers=CIMultiDict({"Authorization": "Bearer x", "X-Amz-Date": "20260101T000000Z"})) == (
        "IncompleteSignature"
    )
    assert refusal(headers=signed(key="AKIANEVERISSUED00000")) == "UnrecognizedClient"
    assert refusal(headers=signed(secret="guessed")) == "InvalidSignature"
    assert refusal(headers=signed(region="eu-west-1")) == "InvalidSignature"
    assert refusal(headers=signed(service="lambda")) == "InvalidSignature"
    assert refusal(headers=signed(), body=b'{"type": "other"}') == "InvalidSignature"
    assert refusal(headers=signed(), path="/prod/@connections/XyZ%3D") == "InvalidSignature"


def test_a_signature_older_than_five_minutes_has_expired():
    later = datetime.now(UTC) + timedelta(minutes=6)
    with pytest.raises(SignatureRefused) as refused:
        check(signed(), now=later)
    assert refused.value.code == "InvalidSignature" and "expired" in refused.value.message

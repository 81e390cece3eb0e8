"""Stand-ins for the Lambda pools, so the gateway and the scheduler run without worker processes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from local_stack.awslambda.models import FunctionSpec
from local_stack.awslambda.pool import InvocationResult
from tests.support.signing import sigv4_headers


class RecordingPool:
    """Answers every invocation with `answer(event)` (a fixed result by default) and keeps the events."""

    def __init__(
        self, result: InvocationResult | None = None, answer: Callable[[Any], InvocationResult] | None = None
    ) -> None:
        self.events: list[Any] = []
        self._answer = answer or (lambda _event: result or InvocationResult())
        self.spec = SimpleNamespace(name="recording")

    async def invoke(self, event: Any) -> InvocationResult:
        self.events.append(event)
        return self._answer(event)


def handler_code(root: Path, source: str) -> Path:
    """A function's code directory holding one module, `app.py`, with `source`."""
    (root / "code").mkdir()
    (root / "code" / "app.py").write_text(source)
    return root / "code"


def function_spec(code: Path, **fields: Any) -> FunctionSpec:
    """A function `fn` running `app.handler` from `code`, with `fields` over the defaults."""
    defaults: dict[str, Any] = {
        "logical_id": "Fn",
        "name": "fn",
        "arn": "arn:aws:lambda:us-east-1:000000000000:function:fn",
        "handler": "app.handler",
        "runtime": "python3.11",
        "code_path": code,
        "memory_mb": 128,
        "timeout_seconds": 10,
    }
    return FunctionSpec(**{**defaults, **fields})


OWNER_KEY = "AKIAOWNER00000000000"
OWNER_SECRET = "owner-secret"


def owner_keys(**roles: tuple[str, Any]) -> dict[str, Any]:
    """The keys a stack issued: its owner's, and `roles` (access key -> (secret, principal))."""
    from local_stack.iam.signatures import IssuedKey

    keys = {OWNER_KEY: IssuedKey(OWNER_SECRET, None)}
    keys.update({key: IssuedKey(secret, principal) for key, (secret, principal) in roles.items()})
    return keys


class SigningClient:
    """An aiohttp TestClient whose HTTP requests are signed (by the owner unless `key` is given);
    WebSocket handshakes and everything else pass through unchanged."""

    def __init__(self, client: Any, service: str, key: str = OWNER_KEY, secret: str = OWNER_SECRET) -> None:
        self._client, self._service, self._key, self._secret = client, service, key, secret

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def as_(self, key: str, secret: str) -> SigningClient:
        return SigningClient(self._client, self._service, key, secret)

    @property
    def unsigned(self) -> Any:
        return self._client

    def request(self, method: str, path: str, *, data: bytes = b"", headers: dict[str, str] | None = None, **kw: Any):
        extra = dict(headers or {})
        if "json" in kw:
            data = json.dumps(kw.pop("json")).encode()
            extra.setdefault("Content-Type", "application/json")
        url = str(self._client.make_url(path))
        signed = sigv4_headers(method, url, data, self._key, self._secret, self._service)
        return self._client.request(method, path, data=data, headers={**signed, **extra}, **kw)

    def post(self, path: str, **kw: Any):
        return self.request("POST", path, **kw)

    def get(self, path: str, **kw: Any):
        return self.request("GET", path, **kw)

    def put(self, path: str, **kw: Any):
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw: Any):
        return self.request("DELETE", path, **kw)

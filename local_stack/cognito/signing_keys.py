"""Per-pool RS256 signing keys, published as the pool's JWKS, with rotation.

moto signs every pool's tokens with one built-in key (kid "dummy"). Cognito gives each pool its
own keys and publishes the current and previous ones, so a verifier must refetch the JWKS when
it meets an unknown kid and must reject a token signed by another pool. This module gives moto
that behaviour: each pool gets its own key, and `rotate()` (SIGUSR1 to the Cognito process)
makes a new key current while the previous one stays published.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from pathlib import Path
from typing import Any

from joserfc import jwk

from local_stack.private_files import write_private

PUBLISHED_KEYS = 2
_POOL_IN_URL = re.compile(r"/(?P<pool>[^/]+)/\.well-known/jwks\.json")


class PoolSigningKeys:
    def __init__(self) -> None:
        self.keys_file: Path | None = None
        self._lock = threading.Lock()
        self._keys: dict[str, list[tuple[str, jwk.RSAKey]]] = {}
        self._kid_by_key: dict[int, str] = {}

    def current(self, pool_id: str) -> jwk.RSAKey:
        with self._lock:
            if pool_id not in self._keys:
                self._add(pool_id)
            return self._keys[pool_id][-1][1]

    def _add(self, pool_id: str) -> None:
        kid = secrets.token_urlsafe(12)
        key = jwk.RSAKey.generate_key(2048, private=True)
        self._kid_by_key[id(key)] = kid
        keys = self._keys.setdefault(pool_id, [])
        keys.append((kid, key))
        del keys[:-PUBLISHED_KEYS]
        self._save()

    def _save(self) -> None:
        if self.keys_file is None:
            return
        private = {
            pool: [{**key.as_dict(private=True), "kid": kid, "alg": "RS256"} for kid, key in keys]
            for pool, keys in self._keys.items()
        }
        # Replaced whole on every rotation, so a reader never sees a half-written key set.
        write_private(self.keys_file, json.dumps(private).encode())

    def rotate(self) -> None:
        with self._lock:
            for pool_id in list(self._keys):
                self._add(pool_id)

    def kid_of(self, key: Any) -> str | None:
        return self._kid_by_key.get(id(key))

    def jwks(self, pool_id: str) -> dict[str, Any]:
        self.current(pool_id)
        with self._lock:
            return {
                "keys": [
                    {**key.as_dict(private=False), "kid": kid, "alg": "RS256", "use": "sig"}
                    for kid, key in self._keys[pool_id]
                ]
            }


KEYS = PoolSigningKeys()


def install(keys_file: Path | None = None) -> None:
    """Patch moto (in this process only) to sign and publish with the pool's own keys."""
    from moto.cognitoidp import models, responses

    KEYS.keys_file = keys_file
    moto_jwt: Any = vars(models)["jwt"]  # joserfc's jwt module, as moto imported it
    original_encode = moto_jwt.encode
    original_create_jwt = models.CognitoIdpUserPool.create_jwt

    def encode(header: dict[str, Any], claims: dict[str, Any], key: Any, *args: Any, **kwargs: Any) -> str:
        kid = KEYS.kid_of(key)
        return str(original_encode({**header, "kid": kid} if kid else header, claims, key, *args, **kwargs))

    def create_jwt(self: Any, *args: Any, **kwargs: Any) -> Any:
        self.json_web_key = KEYS.current(self.id)
        return original_create_jwt(self, *args, **kwargs)

    def serve_json_web_key(*args: Any) -> tuple[int, dict[str, str], bytes]:
        url = next((str(a) for a in args if isinstance(a, str) and "jwks.json" in a), "")
        found = _POOL_IN_URL.search(url)
        body = KEYS.jwks(found.group("pool")) if found else {"keys": []}
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

    moto_jwt.encode = encode
    models.CognitoIdpUserPool.create_jwt = create_jwt  # type: ignore[method-assign]
    responses.CognitoIdpJsonWebKeyResponse.serve_json_web_key = staticmethod(serve_json_web_key)  # type: ignore[method-assign]

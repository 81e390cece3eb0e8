"""The local user pool, app client and dev user, with the ids the local stage config names.

moto assigns random ids; the local stage's template is synthesized with fixed ids from
`infrastructure/config/local.json`, so we create the pool through moto's backend and give it
the configured id. Tokens then carry the issuer the authorizer expects:
`https://cognito-idp.{region}.amazonaws.com/{poolId}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LocalPool:
    region: str
    user_pool_id: str
    client_id: str


def seed(pool: LocalPool) -> None:
    """Create the pool and app client in this process's moto backend, under the configured ids."""
    from moto.cognitoidp.models import cognitoidp_backends
    from moto.core.models import DEFAULT_ACCOUNT_ID

    backend = cognitoidp_backends[DEFAULT_ACCOUNT_ID][pool.region]
    if pool.user_pool_id in backend.user_pools:
        return
    created = backend.create_user_pool(
        "session-management-local",
        {
            "Policies": {"PasswordPolicy": {"MinimumLength": 8}},
            "AutoVerifiedAttributes": ["email"],
        },
    )
    del backend.user_pools[created.id]
    created.id = pool.user_pool_id
    created.arn = f"arn:aws:cognito-idp:{pool.region}:{DEFAULT_ACCOUNT_ID}:userpool/{pool.user_pool_id}"
    backend.user_pools[pool.user_pool_id] = created

    client_config: dict[str, Any] = {
        "ClientName": "session-management-local-speakers",
        "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    }
    client: Any = backend.create_user_pool_client(pool.user_pool_id, False, client_config)
    del created.clients[client.id]
    client.id = pool.client_id
    created.clients[pool.client_id] = client

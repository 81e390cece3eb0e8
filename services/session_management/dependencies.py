"""What the domain needs from outside itself, wired in one place.

The domain never reaches for a global: every function takes its repositories, settings and
clients as parameters. The handlers are the composition root: each invocation asks
`dependencies()` for the execution environment's one `Dependencies` and passes its parts down.
Parts are made on first use, so a function pays only for the clients it uses, and a test resets
everything with `dependencies.cache_clear()` (or builds a `Dependencies` of its own). Each entry
module names the parts its function uses with `build_during_init`, so that in an execution
environment they are built in Lambda's init phase (which provisioned concurrency runs ahead of
traffic) instead of in the first invocation's latency.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

from session_management.aws import dynamodb_client, lambda_client
from session_management.config import Settings, load_settings
from session_management.connections_api import ConnectionsApi
from session_management.deferred_delivery import DeliveryScheduler
from session_management.listeners import ListenerFanout
from session_management.repositories.connections import ConnectionRepository
from session_management.repositories.rate_limits import RateLimitRepository
from session_management.repositories.sessions import SessionRepository


@dataclass(frozen=True)
class Repositories:
    sessions: SessionRepository
    connections: ConnectionRepository
    rate_limits: RateLimitRepository

    @classmethod
    def over(cls, client: Any, settings: Settings) -> Repositories:
        """The three tables' repositories over one DynamoDB client."""
        return cls(
            sessions=SessionRepository(
                client, settings.sessions_table, settings.connections_table, settings.rate_limits_table
            ),
            connections=ConnectionRepository(client, settings.sessions_table, settings.connections_table),
            rate_limits=RateLimitRepository(client, settings.rate_limits_table),
        )


class Dependencies:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def repositories(self) -> Repositories:
        return Repositories.over(dynamodb_client(), self.settings)

    @cached_property
    def connections_api(self) -> ConnectionsApi:
        return ConnectionsApi()

    @cached_property
    def listeners(self) -> ListenerFanout:
        return ListenerFanout(self.repositories.connections, self.connections_api, self.settings.fanout_concurrency)

    @cached_property
    def deliveries(self) -> DeliveryScheduler:
        # Deliveries are invocations of the function that schedules them (the connection function).
        return DeliveryScheduler(lambda_client(), os.environ["AWS_LAMBDA_FUNCTION_NAME"])


@cache
def dependencies() -> Dependencies:
    """The execution environment's dependencies, built once and reused across invocations."""
    return Dependencies(load_settings())


def build_during_init(*, repositories: bool = False, connections_api: bool = False, deliveries: bool = False) -> None:
    """Build the named parts now, at import. Only inside a Lambda execution environment (where
    Lambda sets AWS_LAMBDA_FUNCTION_NAME); a test
    importing a handler builds nothing until it invokes one."""
    if "AWS_LAMBDA_FUNCTION_NAME" not in os.environ:
        return
    deps = dependencies()
    if repositories:
        _ = deps.repositories
    if connections_api:
        _ = deps.connections_api
    if deliveries:
        _ = deps.deliveries
